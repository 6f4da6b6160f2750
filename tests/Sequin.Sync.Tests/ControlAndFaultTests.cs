using Sequin.Sandbox;
using Sequin.Sources;
using Sequin.Sync.Engine;
using Sequin.Testing;
using Shouldly;

namespace Sequin.Sync.Tests;

/// <summary>Operator commands while a sync runs, and upstream faults that must not stop or corrupt it.</summary>
public sealed class ControlAndFaultTests(PostgresDatabase platform) : IClassFixture<PostgresDatabase>
{
    private readonly SandboxServer _server = SandboxServer.Instance;

    private async Task<(SandboxOrgInfo Org, Dictionary<string, string> Credentials, string Destination, Guid SyncId)> StartSyncAsync(
        SyncHost host, string name, SandboxSeedSpec seed, int? dailyLimit = null)
    {
        var (org, credentials) = _server.CreateOrg(seed, dailyLimit);
        var destination = await Destination.CreateAsync();
        var id = await host.Admin.CreateAsync(new SyncDefinition { Name = name, Credentials = credentials, Destination = destination, Objects = ["Contact"], PollIntervalMs = 300 });
        await WaitForStateAsync(destination, "live");
        return (org, credentials, destination, id);
    }

    private static Task WaitForStateAsync(string destination, string state, int seconds = 60) => Destination.WaitForAsync(
        async () => await Destination.ScalarAsync<string>(destination, "select state from salesforce._sync where table_name = 'contact'") == state,
        TimeSpan.FromSeconds(seconds), () => Destination.StatusAsync(destination));

    private async Task<string> UpdateFirstContactAsync(Dictionary<string, string> credentials, string lastName)
    {
        var factory = new Sources.Salesforce.SalesforceConnectorFactory(Microsoft.Extensions.Options.Options.Create(new Sources.Salesforce.SalesforceOptions()),
            TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);
        await using var connector = factory.Create(new SourceCredentials(credentials), new MemorySink());
        var describe = await connector.DescribeObjectAsync("Contact", default);
        var page = await connector.ReadBackfillPageAsync(new ReadRequest("Contact", [describe.Find("LastName")!]), null, default);
        var id = page.Records.OrderBy(r => r.Id, StringComparer.Ordinal).First().Id;
        var result = await connector.WriteAsync(new WriteBatch("Contact", WriteOperation.Update,
            [new WriteRecord(id, new Dictionary<string, object?> { ["LastName"] = lastName })]), default);
        result.Single().Success.ShouldBeTrue();
        return id;
    }

    [Fact]
    public async Task PauseResumeResyncAndDelete_WorkWhileRunning()
    {
        await using var host = await SyncHost.StartAsync(platform.ConnectionString);
        var (_, credentials, destination, id) = await StartSyncAsync(host, "control", new SandboxSeedSpec { Accounts = 30, ContactsPerAccount = 3 });

        (await host.Admin.PauseAsync(id)).ShouldBeTrue();
        await WaitForStateAsync(destination, "paused", 10);
        var contactId = await UpdateFirstContactAsync(credentials, "WhilePaused");
        await Task.Delay(1500);
        (await Destination.ScalarAsync<string>(destination, $"select last_name from salesforce.contact where id = '{contactId}'")).ShouldNotBe("WhilePaused");

        (await host.Admin.ResumeAsync(id)).ShouldBeTrue();
        await Destination.WaitForAsync(async () =>
            await Destination.ScalarAsync<string>(destination, $"select last_name from salesforce.contact where id = '{contactId}'") == "WhilePaused",
            TimeSpan.FromSeconds(15), () => Destination.StatusAsync(destination));

        // Drift the destination behind the engine's back (as the sync role), then resync the table: it is repaired,
        // and a row that does not exist upstream is swept.
        await using (var sync = SyncRunner.OpenDestination(destination))
        await using (var cmd = sync.CreateCommand($"update salesforce.contact set last_name = 'Drift' where id = '{contactId}'; insert into salesforce.contact (id, last_name) values ('003GHOST', 'Ghost')"))
        {
            await cmd.ExecuteNonQueryAsync();
        }

        (await host.Admin.ResyncTableAsync(id, "Contact")).ShouldBeTrue();
        await Destination.WaitForAsync(async () =>
            await Destination.ScalarAsync<long>(destination, "select count(*) from salesforce.contact where id = '003GHOST' or last_name = 'Drift'") == 0
            && await Destination.ScalarAsync<string>(destination, "select state from salesforce._sync where table_name = 'contact'") == "live",
            TimeSpan.FromSeconds(20), () => Destination.StatusAsync(destination));
        await Upstream.AssertEqualAsync(credentials, destination, "Contact", 90);

        (await host.Admin.DeleteAsync(id)).ShouldBeTrue();
        await Destination.WaitForAsync(async () =>
            await Destination.ScalarAsync<long>(destination, "select count(*) from pg_namespace where nspname = 'salesforce'") == 0
            && await Destination.ScalarAsync<long>(platform.ConnectionString, $"select count(*) from syncs where id = '{id}'") == 0,
            TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task ServerErrorStorm_DuringBackfill_StillConvergesExactly()
    {
        await using var host = await SyncHost.StartAsync(platform.ConnectionString, s => s["Sequin:Sync:Salesforce:QueryBatchSize"] = "200");
        var (org, credentials) = _server.CreateOrg(new SandboxSeedSpec { Accounts = 200, ContactsPerAccount = 5 });
        _server.Sandbox.SetFaults(org.OrgId, new SandboxFaults { ErrorRate500 = 0.05, ErrorRate503 = 0.15, DropConnectionRate = 0.05 });
        var destination = await Destination.CreateAsync();
        await host.Admin.CreateAsync(new SyncDefinition { Name = "storm", Credentials = credentials, Destination = destination, Objects = ["Contact"], PollIntervalMs = 300 });
        await WaitForStateAsync(destination, "live", 90);
        _server.Sandbox.SetFaults(org.OrgId, new SandboxFaults { ErrorRate500 = 0, ErrorRate503 = 0, DropConnectionRate = 0 });
        await Upstream.AssertEqualAsync(credentials, destination, "Contact", 1000);
    }

    [Fact]
    public async Task RevokedTokensAndThrottling_AreVisibleInSync_AndOtherSyncsGoOn()
    {
        await using var host = await SyncHost.StartAsync(platform.ConnectionString);
        var revoked = await StartSyncAsync(host, "revoked", new SandboxSeedSpec { Accounts = 10, ContactsPerAccount = 2 });
        var throttled = await StartSyncAsync(host, "throttled", new SandboxSeedSpec { Accounts = 10, ContactsPerAccount = 2 }, dailyLimit: 120);
        var healthy = await StartSyncAsync(host, "healthy", new SandboxSeedSpec { Accounts = 10, ContactsPerAccount = 2 });

        _server.Sandbox.RevokeTokens(revoked.Org.OrgId);
        await Destination.WaitForAsync(async () =>
            await Destination.ScalarAsync<string>(revoked.Destination, "select last_error from salesforce._sync where table_name = 'contact'") is { } e
            && e.Contains("credentials rejected", StringComparison.Ordinal),
            TimeSpan.FromSeconds(20), () => Destination.StatusAsync(revoked.Destination));
        (await Destination.ScalarAsync<string>(revoked.Destination, "select state from salesforce._sync where table_name = 'contact'")).ShouldBe("error");
        // The platform's connection status is written right after the destination's _sync row (two databases): wait for it.
        await Destination.WaitForAsync(async () => await Destination.ScalarAsync<string>(platform.ConnectionString,
                $"select status from source_connections c join syncs s on s.connection_id = c.id where s.id = '{revoked.SyncId}'") == "revoked",
            TimeSpan.FromSeconds(10), () => Task.FromResult("the connection was not marked revoked"));

        // 120 requests a day with a 50% share: the sync stops asking at 60 and says so.
        await Destination.WaitForAsync(async () =>
            await Destination.ScalarAsync<string>(throttled.Destination, "select last_error from salesforce._sync where table_name = 'contact'") is { } e
            && e.Contains("throttled", StringComparison.Ordinal),
            TimeSpan.FromSeconds(120), () => Destination.StatusAsync(throttled.Destination));
        _server.Sandbox.GetOrg(throttled.Org.OrgId)!.ApiRequestsUsed.ShouldBeLessThanOrEqualTo(65);

        var contactId = await UpdateFirstContactAsync(healthy.Credentials, "StillFlowing");
        await Destination.WaitForAsync(async () =>
            await Destination.ScalarAsync<string>(healthy.Destination, $"select last_name from salesforce.contact where id = '{contactId}'") == "StillFlowing",
            TimeSpan.FromSeconds(15), () => Destination.StatusAsync(healthy.Destination));
    }

    [Fact]
    public async Task SyncFromConfiguration_IsCreatedAtStartup()
    {
        var (_, credentials) = _server.CreateOrg(new SandboxSeedSpec { Accounts = 5, ContactsPerAccount = 2 });
        var destination = await Destination.CreateAsync();
        await using var host = await SyncHost.StartAsync(platform.ConnectionString, s =>
        {
            s["Sequin:Sync:Syncs:0:Name"] = "from-config";
            s["Sequin:Sync:Syncs:0:Destination"] = destination;
            s["Sequin:Sync:Syncs:0:Schema"] = "crm";
            s["Sequin:Sync:Syncs:0:Objects:0"] = "Contact:FirstName,LastName,Email";
            foreach (var (key, value) in credentials)
            {
                s[$"Sequin:Sync:Syncs:0:Credentials:{key}"] = value;
            }
        });
        await Destination.WaitForAsync(async () =>
            await Destination.ScalarAsync<string>(destination, "select state from crm._sync where table_name = 'contact'") == "live",
            TimeSpan.FromSeconds(30), () => Destination.StatusAsync(destination, "crm"));
        (await Destination.ScalarAsync<long>(destination, "select count(*) from crm.contact")).ShouldBe(10);
        (await Destination.ScalarAsync<string>(destination,
            "select string_agg(column_name, ',' order by column_name) from information_schema.columns where table_schema = 'crm' and table_name = 'contact'"))
            .ShouldBe("_sync_inserted_at,_sync_updated_at,email,first_name,id,last_name,system_modstamp");
        // Credentials are stored encrypted.
        (await Destination.ScalarAsync<string>(platform.ConnectionString, "select credentials_protected from source_connections where name = 'from-config'"))
            .ShouldNotContain(credentials["access_token"]);
    }
}
