using System.Diagnostics;
using Sequin.Sandbox;
using Sequin.Testing;
using Shouldly;

namespace Sequin.Sync.Tests;

/// <summary>End to end: the sandbox over HTTP → the sync engine under Quartz → a real Postgres destination.</summary>
public sealed class SyncEngineTests(PostgresDatabase platform, ITestOutputHelper output) : IClassFixture<PostgresDatabase>
{
    private readonly SandboxServer _server = SandboxServer.Instance;

    private static SyncDefinition Definition(string name, Dictionary<string, string> credentials, string destination, params string[] objects) => new()
    {
        Name = name,
        Credentials = credentials,
        Destination = destination,
        Objects = objects,
        PollIntervalMs = 500,
    };

    [Fact]
    public async Task Backfill_100kContactsWithAccountsAndOpportunities_EqualsUpstreamFieldByField()
    {
        var (org, credentials) = _server.CreateOrg(new SandboxSeedSpec { Accounts = 10_000, ContactsPerAccount = 10, OpportunitiesPerAccount = 1, RandomSeed = 7 });
        var destination = await Destination.CreateAsync();
        await using var host = await SyncHost.StartAsync(platform.ConnectionString);
        var stopwatch = Stopwatch.StartNew();
        await host.Admin.CreateAsync(Definition("big", credentials, destination, "Account", "Contact", "Opportunity"));
        await Destination.WaitForAsync(
            async () => await Destination.ScalarAsync<long>(destination, "select count(*) from salesforce._sync where state = 'live'") == 3,
            TimeSpan.FromMinutes(4), () => Destination.StatusAsync(destination));
        output.WriteLine($"backfill of 100,000 contacts + 10,000 accounts + 10,000 opportunities: {stopwatch.Elapsed.TotalSeconds:0.0} s");

        (await Destination.ScalarAsync<long>(destination, "select count(*) from salesforce.contact")).ShouldBe(100_000);
        (await Destination.ScalarAsync<long>(destination, "select rows from salesforce._sync where table_name = 'contact'")).ShouldBe(100_000);
        _server.Sandbox.CountRecords(org.OrgId, "Contact").ShouldBe(100_000);
        await Upstream.AssertEqualAsync(credentials, destination, "Contact", 100_000);
        await Upstream.AssertEqualAsync(credentials, destination, "Account", 10_000);
        await Upstream.AssertEqualAsync(credentials, destination, "Opportunity", 10_000);
    }

    [Fact]
    public async Task Incremental_SeesCreatesUpdatesAndDeletesWithinSeconds()
    {
        var (org, credentials) = _server.CreateOrg(new SandboxSeedSpec { Accounts = 50, ContactsPerAccount = 4 });
        var destination = await Destination.CreateAsync();
        await using var host = await SyncHost.StartAsync(platform.ConnectionString);
        await host.Admin.CreateAsync(Definition("incremental", credentials, destination, "Contact"));
        await Destination.WaitForAsync(
            async () => await Destination.ScalarAsync<string>(destination, "select state from salesforce._sync where table_name = 'contact'") == "live",
            TimeSpan.FromSeconds(60), () => Destination.StatusAsync(destination));

        _server.Sandbox.SetActivity(org.OrgId, new SandboxActivity { Enabled = true, OperationsPerSecond = 40, CreateWeight = 1, UpdateWeight = 2, DeleteWeight = 1, Objects = ["Contact"] });
        await Task.Delay(3000);
        _server.Sandbox.SetActivity(org.OrgId, new SandboxActivity { Enabled = false });
        var activity = _server.Sandbox.GetActivity(org.OrgId);
        activity.Deletes.ShouldBeGreaterThan(0);
        await Destination.WaitForAsync(async () => (await Upstream.CompareAsync(credentials, destination, "Contact")).Differences.Count == 0,
            TimeSpan.FromSeconds(20), async () => string.Join("\n", (await Upstream.CompareAsync(credentials, destination, "Contact")).Differences));
        (await Destination.ScalarAsync<long>(destination, "select rows from salesforce._sync where table_name = 'contact'"))
            .ShouldBe(_server.Sandbox.CountRecords(org.OrgId, "Contact"));
    }
}
