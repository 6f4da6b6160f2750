using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Sequin.Sandbox;
using Shouldly;

namespace Sequin.ControlPlane.Tests;

/// <summary>The whole flow of issue 6 through HTTP, against the real host, Postgres, sandbox, workers and proxy.</summary>
public sealed class SyncFlowTests(KestrelControlPlaneFactory factory) : IClassFixture<KestrelControlPlaneFactory>
{
    private SalesforceSandbox Sandbox => factory.Services.GetRequiredService<SalesforceSandbox>();

    private async Task<(Tenant Tenant, Guid ConnectionId, string SandboxOrgId)> ConnectAsync(int accounts = 4)
    {
        var tenant = await factory.SignUpAsync();
        var org = Sandbox.CreateOrg(new SandboxOrgSpec
        {
            Name = $"flow-{Guid.NewGuid():N}"[..12],
            Seed = new SandboxSeedSpec { Accounts = accounts, ContactsPerAccount = 3, OpportunitiesPerAccount = 1, RandomSeed = 7 },
        });
        return (tenant, await OAuthFlow.ConnectSalesforceAsync(factory, tenant, org.OrgId), org.OrgId);
    }

    private async Task<JsonElement> WaitForLiveAsync(Tenant tenant, Guid syncId, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        JsonElement sync = default;
        while (DateTime.UtcNow < deadline)
        {
            sync = await (await tenant.Client.GetAsync($"/api/v1/orgs/{tenant.OrgId}/syncs/{syncId}")).JsonAsync();
            if (sync.GetProperty("tables").EnumerateArray().All(t => t.GetProperty("state").GetString() == "live"))
            {
                return sync;
            }

            await Task.Delay(500);
        }

        throw new ShouldAssertException($"sync did not reach live in {timeout}: {sync}\n{factory.Errors}");
    }

    private async Task<JsonElement> CreateSyncAsync(Tenant tenant, Guid connectionId, string schema = "salesforce")
    {
        var response = await tenant.Client.PostAsJsonAsync($"/api/v1/orgs/{tenant.OrgId}/syncs", new
        {
            connectionId,
            schema,
            destination = new { kind = "hosted" },
            tables = new object[]
            {
                new { @object = "Contact", fields = new[] { "FirstName", "LastName", "Email", "AccountId" } },
                new { @object = "Account", fields = (string[]?)null },
            },
        });
        response.StatusCode.ShouldBe(HttpStatusCode.Created, $"{await response.Content.ReadAsStringAsync()}\n{factory.Errors}");
        return await response.JsonAsync();
    }

    [Fact]
    public async Task Flow_SignUpConnectDiscoverSyncInstructions_ProxyReadsTheRows()
    {
        var (tenant, connectionId, sandboxOrg) = await ConnectAsync();

        var objects = await (await tenant.Client.GetAsync($"/api/v1/orgs/{tenant.OrgId}/connections/{connectionId}/objects")).JsonAsync();
        objects.EnumerateArray().Select(o => o.GetProperty("name").GetString()).ShouldContain("Contact");

        var created = await CreateSyncAsync(tenant, connectionId);
        var syncId = created.GetProperty("id").GetGuid();
        created.GetProperty("destination").GetProperty("kind").GetString().ShouldBe("hosted");

        var live = await WaitForLiveAsync(tenant, syncId, TimeSpan.FromSeconds(90));
        var contactTable = live.GetProperty("tables").EnumerateArray().Single(t => t.GetProperty("object").GetString() == "Contact");
        contactTable.GetProperty("table").GetString().ShouldBe("contact");
        contactTable.GetProperty("rowsEstimated").GetInt64().ShouldBe(12, "backfill progress is rows done / rows estimated");
        contactTable.GetProperty("rowsDone").GetInt64().ShouldBe(12);
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (live.GetProperty("apiUsage").ValueKind == JsonValueKind.Null && DateTime.UtcNow < deadline)
        {
            await Task.Delay(500);
            live = await (await tenant.Client.GetAsync($"/api/v1/orgs/{tenant.OrgId}/syncs/{syncId}")).JsonAsync();
        }

        var usage = live.GetProperty("apiUsage");
        usage.GetProperty("max").GetInt64().ShouldBe(100_000, "the sandbox org's daily allocation");
        usage.GetProperty("used").GetInt64().ShouldBeGreaterThan(0);

        var instructions = await (await tenant.Client.GetAsync($"/api/v1/orgs/{tenant.OrgId}/syncs/{syncId}/connection-instructions?reveal=true")).JsonAsync();
        var proxy = instructions.GetProperty("proxy");
        proxy.GetProperty("port").GetInt32().ShouldBe(factory.ProxyPort);
        var url = proxy.GetProperty("url").GetString()!;
        url.ShouldStartWith("postgres://sq_");

        // Npgsql through the proxy, with exactly what the instructions say.
        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = proxy.GetProperty("host").GetString(),
            Port = proxy.GetProperty("port").GetInt32(),
            Database = proxy.GetProperty("database").GetString(),
            Username = proxy.GetProperty("user").GetString(),
            Password = proxy.GetProperty("password").GetString(),
            SslMode = SslMode.Disable,
            Pooling = false,
        };
        await using (var connection = new NpgsqlConnection(builder.ConnectionString))
        {
            await connection.OpenAsync();
            await using var count = new NpgsqlCommand("select count(*), count(email) from salesforce.contact", connection);
            await using var reader = await count.ExecuteReaderAsync();
            await reader.ReadAsync();
            reader.GetInt64(0).ShouldBe(Sandbox.CountRecords(sandboxOrg, "Contact"));
            reader.GetInt64(0).ShouldBe(12);
        }

        // Direct read-only access works and cannot write.
        var direct = instructions.GetProperty("direct");
        var directConnection = new NpgsqlConnectionStringBuilder
        {
            Host = direct.GetProperty("host").GetString(),
            Port = direct.GetProperty("port").GetInt32(),
            Database = direct.GetProperty("database").GetString(),
            Username = direct.GetProperty("user").GetString(),
            Password = direct.GetProperty("password").GetString(),
            Pooling = false,
        };
        await using (var connection = new NpgsqlConnection(directConnection.ConnectionString))
        {
            await connection.OpenAsync();
            await using var read = new NpgsqlCommand("select count(*) from salesforce.account", connection);
            ((long)(await read.ExecuteScalarAsync())!).ShouldBe(4);
            await using var write = new NpgsqlCommand("update salesforce.contact set first_name = 'x'", connection);
            (await Should.ThrowAsync<PostgresException>(() => write.ExecuteNonQueryAsync())).SqlState.ShouldBe("42501");
        }
    }

    [Fact]
    public async Task Isolation_OrgAProxyAndDirectCredentials_CannotReachOrgBsData()
    {
        var (a, aConnection, _) = await ConnectAsync(accounts: 1);
        var (b, bConnection, _) = await ConnectAsync(accounts: 2);
        var aSync = (await CreateSyncAsync(a, aConnection)).GetProperty("id").GetGuid();
        var bSync = (await CreateSyncAsync(b, bConnection)).GetProperty("id").GetGuid();
        await WaitForLiveAsync(a, aSync, TimeSpan.FromSeconds(90));
        await WaitForLiveAsync(b, bSync, TimeSpan.FromSeconds(90));

        // HTTP: A cannot see B's sync or its instructions.
        (await a.Client.GetAsync($"/api/v1/orgs/{a.OrgId}/syncs/{bSync}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await a.Client.GetAsync($"/api/v1/orgs/{a.OrgId}/syncs/{bSync}/connection-instructions?reveal=true")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await a.Client.PostAsync($"/api/v1/orgs/{a.OrgId}/syncs/{bSync}/pause", null)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await a.Client.DeleteAsync($"/api/v1/orgs/{a.OrgId}/syncs/{bSync}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await (await a.Client.GetAsync($"/api/v1/orgs/{a.OrgId}/syncs")).JsonAsync()).GetArrayLength().ShouldBe(1);

        // SQL: A's credentials against B's database fail, through the proxy and directly.
        var aInstr = await (await a.Client.GetAsync($"/api/v1/orgs/{a.OrgId}/syncs/{aSync}/connection-instructions?reveal=true")).JsonAsync();
        var bInstr = await (await b.Client.GetAsync($"/api/v1/orgs/{b.OrgId}/syncs/{bSync}/connection-instructions?reveal=true")).JsonAsync();
        var bDatabase = bInstr.GetProperty("direct").GetProperty("database").GetString();
        var aDirect = aInstr.GetProperty("direct");
        var aDirectIntoB = new NpgsqlConnectionStringBuilder
        {
            Host = aDirect.GetProperty("host").GetString(),
            Port = aDirect.GetProperty("port").GetInt32(),
            Database = bDatabase,
            Username = aDirect.GetProperty("user").GetString(),
            Password = aDirect.GetProperty("password").GetString(),
            Pooling = false,
        };
        await using (var connection = new NpgsqlConnection(aDirectIntoB.ConnectionString))
        {
            (await Should.ThrowAsync<PostgresException>(() => connection.OpenAsync())).SqlState.ShouldBe("42501", "CONNECT is revoked from PUBLIC on every org database");
        }

        var aProxy = aInstr.GetProperty("proxy");
        var aProxyWithBPassword = new NpgsqlConnectionStringBuilder
        {
            Host = aProxy.GetProperty("host").GetString(),
            Port = aProxy.GetProperty("port").GetInt32(),
            Database = bDatabase,
            Username = aProxy.GetProperty("user").GetString(),
            Password = bInstr.GetProperty("proxy").GetProperty("password").GetString(),
            SslMode = SslMode.Disable,
            Pooling = false,
        };
        await using (var connection = new NpgsqlConnection(aProxyWithBPassword.ConnectionString))
        {
            (await Should.ThrowAsync<PostgresException>(() => connection.OpenAsync())).SqlState
                .ShouldBe("3D000", "a proxy credential is bound to its own database");
        }

        aProxyWithBPassword.Database = aProxy.GetProperty("database").GetString();
        await using (var connection = new NpgsqlConnection(aProxyWithBPassword.ConnectionString))
        {
            (await Should.ThrowAsync<PostgresException>(() => connection.OpenAsync())).SqlState.ShouldBe("28P01", "B's password is not A's");
        }

        // A's own proxy credential sees A's rows.
        aProxyWithBPassword.Password = aProxy.GetProperty("password").GetString();
        await using (var connection = new NpgsqlConnection(aProxyWithBPassword.ConnectionString))
        {
            await connection.OpenAsync();
            await using var count = new NpgsqlCommand("select current_database(), count(*) from salesforce.account", connection);
            await using var reader = await count.ExecuteReaderAsync();
            await reader.ReadAsync();
            reader.GetString(0).ShouldBe(aDirect.GetProperty("database").GetString());
            reader.GetInt64(1).ShouldBe(1);
        }
    }

    [Theory]
    [InlineData("""{"schema":"\"; drop schema public cascade; --","tables":[{"object":"Contact"}]}""", "schema")]
    [InlineData("""{"schema":"pg_catalog","tables":[{"object":"Contact"}]}""", "schema")]
    [InlineData("""{"schema":"public","tables":[{"object":"Contact"}]}""", "schema")]
    [InlineData("""{"schema":"ok","tables":[]}""", "tables")]
    [InlineData("""{"schema":"ok","tables":[{"object":"Contact; drop"}]}""", "tables[0].object")]
    [InlineData("""{"schema":"ok","tables":[{"object":"Contact"}],"destination":{"kind":"mysql"}}""", "destination.kind")]
    public async Task CreateSync_InvalidInput_Returns400AndCreatesNothing(string partialJson, string field)
    {
        var (tenant, connectionId, _) = await ConnectAsync(accounts: 1);
        var json = partialJson.Insert(1, $"\"connectionId\":\"{connectionId}\",");
        var response = await tenant.Client.PostAsync($"/api/v1/orgs/{tenant.OrgId}/syncs", new StringContent(json, System.Text.Encoding.UTF8, "application/json"));
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest, await response.Content.ReadAsStringAsync());
        (await response.JsonAsync()).GetProperty("errors").TryGetProperty(field, out _).ShouldBeTrue(await response.Content.ReadAsStringAsync());
        (await (await tenant.Client.GetAsync($"/api/v1/orgs/{tenant.OrgId}/syncs")).JsonAsync()).GetArrayLength().ShouldBe(0);
    }

    [Fact]
    public async Task CreateSync_UnknownObjectOrFieldOrDuplicateSchema_IsRefused()
    {
        var (tenant, connectionId, _) = await ConnectAsync(accounts: 1);
        var unknownObject = await tenant.Client.PostAsJsonAsync($"/api/v1/orgs/{tenant.OrgId}/syncs",
            new { connectionId, tables = new[] { new { @object = "Spaceship__c", fields = (string[]?)null } } });
        unknownObject.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        var unknownField = await tenant.Client.PostAsJsonAsync($"/api/v1/orgs/{tenant.OrgId}/syncs",
            new { connectionId, tables = new[] { new { @object = "Contact", fields = new[] { "Warp_Speed__c" } } } });
        unknownField.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await unknownField.Content.ReadAsStringAsync()).ShouldContain("Warp_Speed__c");

        await CreateSyncAsync(tenant, connectionId, schema: "crm");
        var duplicate = await tenant.Client.PostAsJsonAsync($"/api/v1/orgs/{tenant.OrgId}/syncs",
            new { connectionId, schema = "crm", tables = new[] { new { @object = "Lead", fields = (string[]?)null } } });
        duplicate.StatusCode.ShouldBe(HttpStatusCode.Conflict);
        (await (await tenant.Client.GetAsync($"/api/v1/orgs/{tenant.OrgId}/syncs")).JsonAsync()).GetArrayLength().ShouldBe(1);
    }

    private static NpgsqlConnectionStringBuilder Endpoint(JsonElement endpoint) => new()
    {
        Host = endpoint.GetProperty("host").GetString(),
        Port = endpoint.GetProperty("port").GetInt32(),
        Database = endpoint.GetProperty("database").GetString(),
        Username = endpoint.GetProperty("user").GetString(),
        Password = endpoint.GetProperty("password").GetString(),
        SslMode = SslMode.Disable,
        Pooling = false,
    };

    [Fact]
    public async Task Lifecycle_PauseResumeResyncSelectRotateDelete_AllTakeEffect()
    {
        var (tenant, connectionId, _) = await ConnectAsync(accounts: 2);
        var syncId = (await CreateSyncAsync(tenant, connectionId, schema: "crm")).GetProperty("id").GetGuid();
        await WaitForLiveAsync(tenant, syncId, TimeSpan.FromSeconds(90));
        var sync = $"/api/v1/orgs/{tenant.OrgId}/syncs/{syncId}";

        (await tenant.Client.PostAsync($"{sync}/pause", null)).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        (await (await tenant.Client.GetAsync(sync)).JsonAsync()).GetProperty("state").GetString().ShouldBe("paused");
        (await tenant.Client.PostAsync($"{sync}/resume", null)).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        (await tenant.Client.PostAsync($"{sync}/tables/contact/resync", null)).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        (await tenant.Client.PostAsync($"{sync}/tables/no_such_table/resync", null)).StatusCode.ShouldBe(HttpStatusCode.NotFound);

        // New selection: Lead added, Account dropped from the sync.
        var patched = await tenant.Client.PatchAsJsonAsync(sync, new
        {
            tables = new object[]
            {
                new { @object = "Contact", fields = new[] { "FirstName", "LastName" } },
                new { @object = "Lead", fields = (string[]?)null },
            },
        });
        patched.StatusCode.ShouldBe(HttpStatusCode.OK, await patched.Content.ReadAsStringAsync());
        var tables = (await patched.JsonAsync()).GetProperty("tables").EnumerateArray().Select(t => t.GetProperty("object").GetString()).ToList();
        tables.ShouldBe(["Contact", "Lead"], ignoreOrder: true);
        await WaitForLiveAsync(tenant, syncId, TimeSpan.FromSeconds(90));

        // Rotation: the old proxy password stops working, the new one works.
        var before = await (await tenant.Client.GetAsync($"{sync}/connection-instructions?reveal=true")).JsonAsync();
        var rotated = await (await tenant.Client.PostAsJsonAsync($"{sync}/credentials/rotate", new { which = "proxy" })).JsonAsync();
        rotated.GetProperty("proxy").GetProperty("password").GetString().ShouldNotBe(before.GetProperty("proxy").GetProperty("password").GetString());
        await using (var old = new NpgsqlConnection(Endpoint(before.GetProperty("proxy")).ConnectionString))
        {
            (await Should.ThrowAsync<PostgresException>(() => old.OpenAsync())).SqlState.ShouldBe("28P01");
        }

        await using (var fresh = new NpgsqlConnection(Endpoint(rotated.GetProperty("proxy")).ConnectionString))
        {
            await fresh.OpenAsync();
        }

        var directRotated = await (await tenant.Client.PostAsJsonAsync($"{sync}/credentials/rotate", new { which = "direct" })).JsonAsync();
        await using (var direct = new NpgsqlConnection(Endpoint(directRotated.GetProperty("direct")).ConnectionString))
        {
            await direct.OpenAsync();
        }

        (await tenant.Client.PostAsJsonAsync($"{sync}/credentials/rotate", new { which = "everything" })).StatusCode.ShouldBe(HttpStatusCode.BadRequest);

        // Delete: credentials stop at once, the schema goes from the hosted database.
        (await tenant.Client.DeleteAsync(sync)).StatusCode.ShouldBe(HttpStatusCode.Accepted);
        await using (var gone = new NpgsqlConnection(Endpoint(rotated.GetProperty("proxy")).ConnectionString))
        {
            (await Should.ThrowAsync<PostgresException>(() => gone.OpenAsync())).SqlState.ShouldBeOneOf("28P01", "28000");
        }

        var deadline = DateTime.UtcNow.AddSeconds(60);
        var admin = new NpgsqlConnectionStringBuilder(Sequin.Testing.PostgresServer.Instance.AdminConnectionString)
        {
            Database = before.GetProperty("direct").GetProperty("database").GetString(),
            Pooling = false,
        };
        bool schemaExists;
        do
        {
            await Task.Delay(500);
            await using var connection = new NpgsqlConnection(admin.ConnectionString);
            await connection.OpenAsync();
            await using var exists = new NpgsqlCommand("select exists (select from pg_namespace where nspname = 'crm')", connection);
            schemaExists = (bool)(await exists.ExecuteScalarAsync())!;
        }
        while (schemaExists && DateTime.UtcNow < deadline);

        schemaExists.ShouldBeFalse($"the engine drops the schema of a deleted sync\n{factory.Errors}");
        var audit = await (await tenant.Client.GetAsync($"/api/v1/orgs/{tenant.OrgId}/audit-log")).Content.ReadAsStringAsync();
        foreach (var action in new[] { "sync.created", "sync.paused", "sync.resumed", "sync.updated", "sync.credentials_rotated", "sync.credentials_revealed", "sync.deleted" })
        {
            audit.ShouldContain(action);
        }
    }

    private async Task<JsonElement?> SandboxRecordAsync(string sandboxOrg, string type, string id)
    {
        var token = Sandbox.IssueTokens(sandboxOrg).AccessToken;
        using var client = factory.NewClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", token);
        var response = await client.GetAsync($"/sandbox/salesforce/services/data/v62.0/sobjects/{type}/{id}");
        return response.StatusCode == HttpStatusCode.OK ? await response.JsonAsync() : null;
    }

    [Fact]
    public async Task Writes_ThroughTheProxy_AreAppliedToSalesforceFirstAndRejectionsArePostgresErrors()
    {
        var (tenant, connectionId, sandboxOrg) = await ConnectAsync(accounts: 2);
        var syncId = (await CreateSyncAsync(tenant, connectionId)).GetProperty("id").GetGuid();
        await WaitForLiveAsync(tenant, syncId, TimeSpan.FromSeconds(90));
        var instructions = await (await tenant.Client.GetAsync($"/api/v1/orgs/{tenant.OrgId}/syncs/{syncId}/connection-instructions?reveal=true")).JsonAsync();
        var builder = Endpoint(instructions.GetProperty("proxy"));
        builder.IncludeErrorDetail = true;
        await using var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync();
        var before = Sandbox.CountRecords(sandboxOrg, "Contact");

        // INSERT … RETURNING gives the id Salesforce assigned.
        await using var insert = new NpgsqlCommand(
            "insert into salesforce.contact (first_name, last_name, email) values ('Paul', 'Atreides', 'paul.atreides@caladan.io') returning id", connection);
        var id = (string)(await insert.ExecuteScalarAsync())!;
        id.ShouldStartWith("003");
        id.Length.ShouldBe(18);
        Sandbox.CountRecords(sandboxOrg, "Contact").ShouldBe(before + 1);
        (await SandboxRecordAsync(sandboxOrg, "Contact", id))!.Value.GetProperty("Email").GetString().ShouldBe("paul.atreides@caladan.io");

        // UPDATE reaches Salesforce and the row.
        await using (var update = new NpgsqlCommand("update salesforce.contact set email = 'paul@dune.co' where id = $1", connection))
        {
            update.Parameters.AddWithValue(id);
            (await update.ExecuteNonQueryAsync()).ShouldBe(1);
        }

        (await SandboxRecordAsync(sandboxOrg, "Contact", id))!.Value.GetProperty("Email").GetString().ShouldBe("paul@dune.co");

        // A rejection is a Postgres error, and nothing changes on either side.
        await using (var invalid = new NpgsqlCommand("insert into salesforce.contact (first_name, last_name, email) values ('Paul', 'Dune', 'pauldune.co')", connection))
        {
            var error = await Should.ThrowAsync<PostgresException>(() => invalid.ExecuteNonQueryAsync());
            error.SqlState.ShouldBe("23514");
            error.MessageText.ShouldStartWith("[Salesforce]");
            error.Detail.ShouldBe("Key (email)=(pauldune.co) is not a valid email address.");
            error.ColumnName.ShouldBe("email");
            error.TableName.ShouldBe("contact");
        }

        Sandbox.CountRecords(sandboxOrg, "Contact").ShouldBe(before + 1);
        await using (var count = new NpgsqlCommand("select count(*) from salesforce.contact where email = 'pauldune.co'", connection))
        {
            ((long)(await count.ExecuteScalarAsync())!).ShouldBe(0);
        }

        await using (var missing = new NpgsqlCommand("insert into salesforce.contact (first_name) values ('NoLastName')", connection))
        {
            (await Should.ThrowAsync<PostgresException>(() => missing.ExecuteNonQueryAsync())).SqlState.ShouldBe("23502");
        }

        // The id is the source's: changing it would escape the capture, so it is refused.
        await using (var rename = new NpgsqlCommand("update salesforce.contact set id = 'mine' where id = $1", connection))
        {
            rename.Parameters.AddWithValue(id);
            (await Should.ThrowAsync<PostgresException>(() => rename.ExecuteNonQueryAsync())).SqlState.ShouldBe("42501");
        }

        // DELETE removes it upstream too.
        await using (var delete = new NpgsqlCommand("delete from salesforce.contact where id = $1", connection))
        {
            delete.Parameters.AddWithValue(id);
            (await delete.ExecuteNonQueryAsync()).ShouldBe(1);
        }

        Sandbox.CountRecords(sandboxOrg, "Contact").ShouldBe(before);
        (await SandboxRecordAsync(sandboxOrg, "Contact", id)).ShouldBeNull();
    }

    [Fact]
    public async Task ExternalDestination_CustomersOwnPostgres_SyncsThereAndProxyWritesReachSalesforce()
    {
        var (tenant, connectionId, sandboxOrg) = await ConnectAsync(accounts: 2);
        var own = await Sequin.Testing.PostgresServer.Instance.CreateDatabaseAsync("own");
        try
        {
            var unreachable = await tenant.Client.PostAsJsonAsync($"/api/v1/orgs/{tenant.OrgId}/syncs", new
            {
                connectionId,
                destination = new { kind = "external", connectionString = $"Host=127.0.0.1;Port={Sequin.Platform.Database.EmbeddedPostgres.FindFreePort()};Database=x;Username=u;Password=p" },
                tables = new[] { new { @object = "Account", fields = (string[]?)null } },
            });
            unreachable.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
            (await unreachable.JsonAsync()).GetProperty("errors").GetProperty("destination.connectionString")[0].GetString()!.ShouldContain("Cannot connect");

            // The form users paste from their provider: a postgres:// URL. Tested first, then used.
            var b = new NpgsqlConnectionStringBuilder(own);
            var url = $"postgres://{Uri.EscapeDataString(b.Username!)}:{Uri.EscapeDataString(b.Password!)}@{b.Host}:{b.Port}/{b.Database}";
            var good = await (await tenant.Client.PostAsJsonAsync($"/api/v1/orgs/{tenant.OrgId}/destinations/test", new { connectionString = url })).JsonAsync();
            good.GetProperty("ok").GetBoolean().ShouldBeTrue(good.ToString());
            var bad = await (await tenant.Client.PostAsJsonAsync($"/api/v1/orgs/{tenant.OrgId}/destinations/test",
                new { connectionString = url.Replace(Uri.EscapeDataString(b.Password!), "wrong", StringComparison.Ordinal) })).JsonAsync();
            bad.GetProperty("ok").GetBoolean().ShouldBeFalse();
            bad.GetProperty("error").GetString()!.ShouldContain("28P01");

            var created = await tenant.Client.PostAsJsonAsync($"/api/v1/orgs/{tenant.OrgId}/syncs", new
            {
                connectionId,
                schema = "crm",
                destination = new { kind = "external", connectionString = url },
                tables = new[] { new { @object = "Account", fields = (string[]?)null } },
            });
            created.StatusCode.ShouldBe(HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
            var sync = await created.JsonAsync();
            sync.GetProperty("destination").GetProperty("kind").GetString().ShouldBe("external");
            var syncId = sync.GetProperty("id").GetGuid();
            await WaitForLiveAsync(tenant, syncId, TimeSpan.FromSeconds(90));

            await using (var direct = new NpgsqlConnection(own))
            {
                await direct.OpenAsync();
                await using var count = new NpgsqlCommand("select count(*) from crm.account", direct);
                ((long)(await count.ExecuteScalarAsync())!).ShouldBe(2);
            }

            var instructions = await (await tenant.Client.GetAsync($"/api/v1/orgs/{tenant.OrgId}/syncs/{syncId}/connection-instructions?reveal=true")).JsonAsync();
            await using var proxy = new NpgsqlConnection(Endpoint(instructions.GetProperty("proxy")).ConnectionString);
            await proxy.OpenAsync();
            await using var insert = new NpgsqlCommand("insert into crm.account (name) values ('Own Postgres Inc') returning id", proxy);
            var id = (string)(await insert.ExecuteScalarAsync())!;
            id.ShouldStartWith("001");
            (await SandboxRecordAsync(sandboxOrg, "Account", id))!.Value.GetProperty("Name").GetString().ShouldBe("Own Postgres Inc");
        }
        finally
        {
            Npgsql.NpgsqlConnection.ClearAllPools();
            await Sequin.Testing.PostgresServer.Instance.DropDatabaseAsync(own);
        }
    }
}
