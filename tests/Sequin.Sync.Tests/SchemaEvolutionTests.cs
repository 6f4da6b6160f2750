using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;
using Sequin.Sandbox;
using Sequin.Testing;
using Shouldly;

namespace Sequin.Sync.Tests;

/// <summary>
/// Schema evolution through the running engine (issue 4): while a sync is live, a newly selected field becomes a
/// backfilled column, a deselected one is dropped, and upstream type changes of a custom field (text → number with
/// castable values, number → text, text → number with a value that no longer casts) change the column's type with
/// the right values — and no row ever leaves the table. A change the destination refuses (a user's view depends on the
/// column) is reported in <c>_sync</c>, and the table heals by itself once the view is gone.
/// </summary>
public sealed class SchemaEvolutionTests(PostgresDatabase platform, ITestOutputHelper output) : IClassFixture<PostgresDatabase>
{
    private const int Contacts = 500;

    [Fact]
    public async Task LiveSync_SelectionAndUpstreamTypeChanges_EvolveColumnsWithoutLosingRows()
    {
        await using var server = await SandboxServer.StartAsync(o =>
        {
            var contact = new SandboxCustomObject { Name = "Contact" };
            contact.Fields.Add(new SandboxCustomField { Name = "Score__c", Type = "string", Length = 40 });
            o.CustomObjects.Add(contact);
        });
        var (org, credentials) = server.CreateOrg(new SandboxSeedSpec { Accounts = 100, ContactsPerAccount = 5, RandomSeed = 5 });
        var ids = await ContactIdsAsync(credentials);
        ids.Length.ShouldBe(Contacts);
        // Scores as text that reads as numbers ("3.25"), some empty.
        await PatchScoresAsync(credentials, ids.Select((id, i) => (id, i % 10 == 0 ? null : (object)$"{i}.25")));
        var destination = await Destination.CreateAsync();
        await using var host = await SyncHost.StartAsync(platform.ConnectionString, s =>
        {
            s["Sequin:Sync:SchemaRefreshInterval"] = "00:00:03"; // upstream type changes are seen within seconds
            s["Sequin:Sync:Salesforce:QueryBatchSize"] = "200";
        });
        var syncId = await host.Admin.CreateAsync(new SyncDefinition
        {
            Name = "evolve", Credentials = credentials, Destination = destination, Objects = ["Contact:LastName,Email,Score__c"], PollIntervalMs = 300,
        });

        string[] fields = ["LastName", "Email", "Score__c"];
        async Task<List<string>> DifferencesAsync()
        {
            try
            {
                return (await Upstream.CompareAsync(credentials, destination, "Contact", fields: fields)).Differences;
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UndefinedColumn)
            {
                return [e.MessageText]; // a newly selected column is not there yet
            }
        }

        async Task ConvergedAsync(string step, string? scoreType = null) =>
            await Destination.WaitForAsync(async () =>
                    await StateAsync(destination) == "live"
                    && (scoreType is null || await ColumnTypeAsync(destination, "score__c") == scoreType)
                    && (await DifferencesAsync()).Count == 0,
                TimeSpan.FromSeconds(90), async () => $"{step}: {await Destination.StatusAsync(destination)}; score__c {await ColumnTypeAsync(destination, "score__c")}\n" +
                    string.Join("\n", await DifferencesAsync()));

        await ConvergedAsync("initial backfill", "text");
        await using var rowWatch = RowWatch.Start(destination);

        // (a) A newly selected field: the column appears and is backfilled.
        fields = ["LastName", "Email", "Score__c", "Title"];
        await SelectAsync(syncId, fields);
        await ConvergedAsync("Title selected");
        (await ColumnTypeAsync(destination, "title")).ShouldBe("text");
        (await Destination.ScalarAsync<long>(destination, "select count(*) from salesforce.contact where title is not null")).ShouldBeGreaterThan(Contacts / 2);

        // (b) A deselected field: the column is dropped.
        fields = ["LastName", "Score__c", "Title"];
        await SelectAsync(syncId, fields);
        await Destination.WaitForAsync(async () => await ColumnTypeAsync(destination, "email") is null, TimeSpan.FromSeconds(60),
            async () => await Destination.StatusAsync(destination));
        await ConvergedAsync("Email deselected");

        // (c) Upstream type changes of Score__c. Text of numbers → double: the column is altered in place, then refreshed.
        server.Sandbox.ChangeFieldType(org.OrgId, "Contact", "Score__c", new SandboxFieldChange { Type = "double", Precision = 18, Scale = 2 });
        await ConvergedAsync("Score__c string -> double", "numeric");
        (await Destination.ScalarAsync<decimal>(destination, $"select score__c from salesforce.contact where id = '{ids[3]}'")).ShouldBe(3.25m);

        // Double → text.
        server.Sandbox.ChangeFieldType(org.OrgId, "Contact", "Score__c", new SandboxFieldChange { Type = "string", Length = 40 });
        await ConvergedAsync("Score__c double -> string", "text");
        (await Destination.ScalarAsync<string>(destination, $"select score__c from salesforce.contact where id = '{ids[3]}'")).ShouldBe("3.25");

        // A value that is not a number arrives, and a user's view depends on the column: the change to double cannot be
        // applied; the table waits with the reason in _sync (rows and old values kept), and resumes once the view is gone.
        await PatchScoresAsync(credentials, [(ids[7], "n/a")]);
        await ConvergedAsync("'n/a' synced", "text");
        await ExecuteAsync(destination, "create view public.contact_scores as select id, score__c from salesforce.contact");
        server.Sandbox.ChangeFieldType(org.OrgId, "Contact", "Score__c", new SandboxFieldChange { Type = "double", Precision = 18, Scale = 2 });
        await Destination.WaitForAsync(async () => await StateAsync(destination) == "error", TimeSpan.FromSeconds(60),
            async () => await Destination.StatusAsync(destination));
        var error = await Destination.ScalarAsync<string>(destination, "select last_error from salesforce._sync where table_name = 'contact'");
        output.WriteLine($"_sync.last_error: {error}");
        error.ShouldContain("Score__c changed type upstream (text -> numeric)");
        error.ShouldContain("depend");
        (await ColumnTypeAsync(destination, "score__c")).ShouldBe("text");
        (await Destination.ScalarAsync<long>(destination, "select count(*) from public.contact_scores")).ShouldBe(Contacts);
        (await Destination.ScalarAsync<string>(platform.ConnectionString, $"select state from syncs where id = '{syncId}'")).ShouldBe("error");

        await ExecuteAsync(destination, "drop view public.contact_scores");
        await ConvergedAsync("Score__c string -> double once the view is gone", "numeric");
        (await Destination.ScalarAsync<object>(destination, $"select score__c from salesforce.contact where id = '{ids[7]}'")).ShouldBeNull(
            "'n/a' did not convert upstream either: cleared");
        (await Destination.ScalarAsync<decimal>(destination, $"select score__c from salesforce.contact where id = '{ids[3]}'")).ShouldBe(3.25m);
        (await Destination.ScalarAsync<string>(platform.ConnectionString, $"select state from syncs where id = '{syncId}'")).ShouldBe("live");

        (await rowWatch.StopAsync()).ShouldBe(((long)Contacts, (long)Contacts), "no row ever left the table (min, max rows seen)");
        (await Destination.ScalarAsync<long>(destination, "select rows from salesforce._sync where table_name = 'contact'")).ShouldBe(Contacts);
    }

    private async Task SelectAsync(Guid syncId, string[] fields)
    {
        // What the control plane's PATCH /syncs/{id} writes; the running job sees the new selection on its next turn.
        await using var connection = new NpgsqlConnection(platform.ConnectionString);
        await connection.OpenAsync();
        await using var cmd = new NpgsqlCommand("update sync_tables set selected_fields = $2 where sync_id = $1 and object_name = 'Contact'", connection);
        cmd.Parameters.AddWithValue(syncId);
        cmd.Parameters.AddWithValue(fields);
        (await cmd.ExecuteNonQueryAsync()).ShouldBe(1);
    }

    private static async Task<string?> StateAsync(string destination) =>
        await Destination.ScalarAsync<string>(destination, "select state from salesforce._sync where table_name = 'contact'");

    private static async Task<string?> ColumnTypeAsync(string destination, string column) => await Destination.ScalarAsync<string>(destination,
        $"select data_type from information_schema.columns where table_schema = 'salesforce' and table_name = 'contact' and column_name = '{column}'");

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, connection);
        await cmd.ExecuteNonQueryAsync();
    }

    private static async Task<string[]> ContactIdsAsync(Dictionary<string, string> credentials)
    {
        using var http = Api(credentials);
        var page = await http.GetFromJsonAsync<JsonElement>($"{credentials["instance_url"]}/services/data/v62.0/query?q=SELECT+Id+FROM+Contact+ORDER+BY+Id");
        page.GetProperty("done").GetBoolean().ShouldBeTrue();
        return [.. page.GetProperty("records").EnumerateArray().Select(r => r.GetProperty("Id").GetString()!)];
    }

    private static async Task PatchScoresAsync(Dictionary<string, string> credentials, IEnumerable<(string Id, object? Score)> scores)
    {
        using var http = Api(credentials);
        foreach (var chunk in scores.Chunk(200))
        {
            var records = chunk.Select(s => new Dictionary<string, object?> { ["attributes"] = new { type = "Contact" }, ["id"] = s.Id, ["Score__c"] = s.Score });
            var response = await http.PatchAsJsonAsync($"{credentials["instance_url"]}/services/data/v62.0/composite/sobjects", new { allOrNone = true, records });
            response.EnsureSuccessStatusCode();
            (await response.Content.ReadFromJsonAsync<JsonElement>()).EnumerateArray().ShouldAllBe(r => r.GetProperty("success").GetBoolean());
        }
    }

    private static HttpClient Api(Dictionary<string, string> credentials)
    {
        var http = new HttpClient();
        http.DefaultRequestHeaders.Authorization = new("Bearer", credentials["access_token"]);
        return http;
    }

    /// <summary>Samples the table's row count all along, so a moment without some rows would be seen.</summary>
    private sealed class RowWatch : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private Task<(long Min, long Max)> _task = null!;

        public static RowWatch Start(string destination)
        {
            var watch = new RowWatch();
            watch._task = Task.Run(() => watch.RunAsync(destination));
            return watch;
        }

        private async Task<(long Min, long Max)> RunAsync(string destination)
        {
            long min = long.MaxValue, max = long.MinValue;
            await using var connection = new NpgsqlConnection(destination);
            await connection.OpenAsync();
            while (!_stop.IsCancellationRequested)
            {
                await using var cmd = new NpgsqlCommand("select count(*) from salesforce.contact", connection);
                var rows = (long)(await cmd.ExecuteScalarAsync())!;
                (min, max) = (Math.Min(min, rows), Math.Max(max, rows));
                await Task.Delay(50, CancellationToken.None);
            }

            return (min, max);
        }

        public async Task<(long Min, long Max)> StopAsync()
        {
            await _stop.CancelAsync();
            return await _task;
        }

        public async ValueTask DisposeAsync()
        {
            if (!_stop.IsCancellationRequested)
            {
                await StopAsync();
            }

            _stop.Dispose();
        }
    }
}
