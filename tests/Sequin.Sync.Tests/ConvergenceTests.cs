using Npgsql;
using Sequin.Sandbox;
using Sequin.Testing;
using Shouldly;

namespace Sequin.Sync.Tests;

/// <summary>
/// Property-style: random upstream mutations during and after the backfill, random worker restarts and sessions
/// killed mid-transaction (pg_terminate_backend: the page's transaction aborts at an arbitrary point); the destination
/// must still converge to the upstream exactly, with no row lost or duplicated.
/// </summary>
public sealed class ConvergenceTests(PostgresDatabase platform, ITestOutputHelper output) : IClassFixture<PostgresDatabase>
{
    private readonly SandboxServer _server = SandboxServer.Instance;

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task RandomMutationsRestartsAndKilledSessions_Converge(int seed)
    {
        var random = new Random(seed);
        var (org, credentials) = _server.CreateOrg(new SandboxSeedSpec { Accounts = 500, ContactsPerAccount = 10, RandomSeed = seed });
        // Latency stretches the backfill over several seconds, so restarts and kills land in it too.
        _server.Sandbox.SetFaults(org.OrgId, new SandboxFaults { LatencyMs = 40, JitterMs = 20 });
        var destination = await Destination.CreateAsync();
        var settings = (Action<Dictionary<string, string?>>)(s => s["Sequin:Sync:Salesforce:QueryBatchSize"] = "200");
        var host = await SyncHost.StartAsync(platform.ConnectionString, settings);
        try
        {
            await host.Admin.CreateAsync(new SyncDefinition
            {
                Name = $"converge-{seed}", Credentials = credentials, Destination = destination, Objects = ["Account", "Contact"], PollIntervalMs = 300,
            });
            _server.Sandbox.SetActivity(org.OrgId, new SandboxActivity
            {
                Enabled = true, OperationsPerSecond = 60, CreateWeight = 2, UpdateWeight = 3, DeleteWeight = 2, Objects = ["Contact", "Account"],
            });

            var restarts = 0;
            var kills = 0;
            var until = DateTime.UtcNow.AddSeconds(12);
            while (DateTime.UtcNow < until)
            {
                await Task.Delay(random.Next(300, 1500));
                switch (random.Next(3))
                {
                    case 0:
                        await host.DisposeAsync();
                        host = await SyncHost.StartAsync(platform.ConnectionString, settings);
                        restarts++;
                        break;
                    case 1:
                        kills += await KillSyncSessionsAsync(destination);
                        break;
                }
            }

            _server.Sandbox.SetActivity(org.OrgId, new SandboxActivity { Enabled = false });
            var activity = _server.Sandbox.GetActivity(org.OrgId);
            output.WriteLine($"seed {seed}: {restarts} restarts, {kills} killed sessions, upstream {activity.Creates} creates, {activity.Updates} updates, {activity.Deletes} deletes");
            foreach (var (objectName, table) in new[] { ("Contact", "contact"), ("Account", "account") })
            {
                await Destination.WaitForAsync(async () => (await Upstream.CompareAsync(credentials, destination, objectName)).Differences.Count == 0,
                    TimeSpan.FromSeconds(60), async () => await Destination.StatusAsync(destination) + "\n" +
                        string.Join("\n", (await Upstream.CompareAsync(credentials, destination, objectName)).Differences));
                (await Destination.ScalarAsync<long>(destination, $"select rows from salesforce._sync where table_name = '{table}'"))
                    .ShouldBe(_server.Sandbox.CountRecords(org.OrgId, objectName), $"_sync.rows of {table}");
            }
        }
        finally
        {
            await host.DisposeAsync();
        }
    }

    private static async Task<int> KillSyncSessionsAsync(string destination)
    {
        var database = new NpgsqlConnectionStringBuilder(destination).Database;
        await using var connection = new NpgsqlConnection(PostgresServer.Instance.AdminConnectionString);
        await connection.OpenAsync();
        await using var cmd = new NpgsqlCommand(
            "select count(*) filter (where pg_terminate_backend(pid)) from pg_stat_activity where datname = $1 and application_name = 'sequin-sync' and pid <> pg_backend_pid()",
            connection);
        cmd.Parameters.AddWithValue(database!);
        return (int)(long)(await cmd.ExecuteScalarAsync())!;
    }
}
