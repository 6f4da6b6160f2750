using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Sequin.Sandbox;
using Sequin.Testing;
using Shouldly;

namespace Sequin.Sync.Tests;

/// <summary>Two hosts on one platform database: they split the syncs, and a dead host's syncs move within seconds.</summary>
public sealed class ClusterTests(PostgresDatabase platform, ITestOutputHelper output) : IClassFixture<PostgresDatabase>
{
    private readonly SandboxServer _server = SandboxServer.Instance;

    [Fact]
    public async Task TwoHosts_SplitSyncs_AndTheSurvivorTakesOverWithinSeconds()
    {
        var builder = new NpgsqlConnectionStringBuilder(platform.ConnectionString);
        await using var forwarder = new TcpForwarder(builder.Host!, builder.Port);
        var viaForwarder = new NpgsqlConnectionStringBuilder(platform.ConnectionString) { Host = "127.0.0.1", Port = forwarder.Port, Pooling = false }.ConnectionString;

        // Host A reaches the platform database only through the forwarder; severing it kills host A for the cluster.
        await using var hostA = await SyncHost.StartAsync(viaForwarder);
        await using var hostB = await SyncHost.StartAsync(platform.ConnectionString);

        var syncs = new List<(SandboxOrgInfo Org, Dictionary<string, string> Credentials, string Destination)>();
        for (var i = 0; i < 6; i++)
        {
            var (org, credentials) = _server.CreateOrg(new SandboxSeedSpec { Accounts = 20, ContactsPerAccount = 2, RandomSeed = i });
            var destination = await Destination.CreateAsync();
            await hostB.Admin.CreateAsync(new SyncDefinition { Name = $"cluster-{i}", Credentials = credentials, Destination = destination, Objects = ["Contact"], PollIntervalMs = 300 });
            syncs.Add((org, credentials, destination));
        }

        foreach (var (_, _, destination) in syncs)
        {
            await Destination.WaitForAsync(
                async () => await Destination.ScalarAsync<string>(destination, "select state from salesforce._sync where table_name = 'contact'") == "live",
                TimeSpan.FromSeconds(60), () => Destination.StatusAsync(destination));
        }

        var balanced = Stopwatch.StartNew();
        await Destination.WaitForAsync(async () => (await OwnersAsync()) is { Count: 6 } map && map.Values.Distinct().Count() == 2,
            TimeSpan.FromSeconds(40), async () => string.Join(", ", (await OwnersAsync()).Select(kv => $"{kv.Key}@{kv.Value}"))
                + " nodes: " + await Destination.ScalarAsync<string>(platform.ConnectionString, "select string_agg(sched_name || '/' || instance_name || '/' || last_checkin_time, ', ') from quartz.qrtz_scheduler_state"));
        output.WriteLine($"balanced over both hosts after {balanced.Elapsed.TotalSeconds:0.0} s");
        var owners = await OwnersAsync();
        output.WriteLine("running jobs per node: " + string.Join(", ", owners.GroupBy(o => o.Value).Select(g => $"{g.Key}={g.Count()}")));
        owners.Count.ShouldBe(6);
        owners.Values.Distinct().Count().ShouldBe(2, "both hosts run syncs");
        var instanceA = hostA.Services.GetRequiredService<Scheduling.SyncWorker>().Scheduler!.SchedulerInstanceId;
        owners.Values.ShouldContain(instanceA);

        // Kill host A (as far as the cluster can tell) and change every org upstream.
        var killed = Stopwatch.StartNew();
        forwarder.Sever();
        foreach (var (org, credentials, _) in syncs)
        {
            _server.Sandbox.SetActivity(org.OrgId, new SandboxActivity { Enabled = true, OperationsPerSecond = 20, CreateWeight = 1, UpdateWeight = 1, DeleteWeight = 1, Objects = ["Contact"] });
        }

        await Task.Delay(1000);
        foreach (var (org, _, _) in syncs)
        {
            _server.Sandbox.SetActivity(org.OrgId, new SandboxActivity { Enabled = false });
        }

        foreach (var (_, credentials, destination) in syncs)
        {
            await Destination.WaitForAsync(async () => (await Upstream.CompareAsync(credentials, destination, "Contact")).Differences.Count == 0,
                TimeSpan.FromSeconds(30), async () => string.Join("\n", (await Upstream.CompareAsync(credentials, destination, "Contact")).Differences));
        }

        output.WriteLine($"every sync converged {killed.Elapsed.TotalSeconds:0.0} s after host A died");
        killed.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(30));
        owners = await OwnersAsync();
        owners.Values.ShouldNotContain(instanceA);

        var disposing = Stopwatch.StartNew();
        await hostA.DisposeAsync();
        output.WriteLine($"the dead host shut down in {disposing.Elapsed.TotalSeconds:0.0} s");
    }

    /// <summary>Job name → Quartz instance currently running it.</summary>
    private async Task<Dictionary<string, string>> OwnersAsync()
    {
        await using var connection = new NpgsqlConnection(platform.ConnectionString);
        await connection.OpenAsync();
        await using var cmd = new NpgsqlCommand("select job_name, instance_name from quartz.qrtz_fired_triggers where state = 'EXECUTING'", connection);
        await using var reader = await cmd.ExecuteReaderAsync();
        var map = new Dictionary<string, string>();
        while (await reader.ReadAsync())
        {
            map[reader.GetString(0)] = reader.GetString(1);
        }

        return map;
    }
}
