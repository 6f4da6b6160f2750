using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using Sequin.Platform;
using Sequin.Sandbox;
using Sequin.Sources;
using Sequin.Sources.Salesforce;
using Sequin.Sync;
using Sequin.Testing;

// Scenarios: backfill [contacts], latency [samples], idle [syncs], all. Figures go to stdout as Markdown rows.
var scenario = args.Length > 0 ? args[0] : "all";
var invariant = CultureInfo.InvariantCulture;
await using var cluster = await PostgresServer.StartThrowawayClusterAsync("bench-sync");
var admin = cluster.ConnectionString();
var sandbox = await SandboxHost.StartAsync();
try
{
    if (scenario is "backfill" or "all")
    {
        var contacts = args.Length > 1 && scenario == "backfill" ? int.Parse(args[1], invariant) : 1_000_000;
        await Scenarios.BackfillAsync(admin, sandbox, contacts);
    }

    if (scenario is "latency" or "all")
    {
        var samples = args.Length > 1 && scenario == "latency" ? int.Parse(args[1], invariant) : 100;
        await Scenarios.LatencyAsync(admin, sandbox, samples);
    }

    if (scenario is "idle" or "all")
    {
        var syncs = args.Length > 1 && scenario == "idle" ? int.Parse(args[1], invariant) : 100;
        await Scenarios.IdleAsync(admin, sandbox, syncs);
    }
}
finally
{
    await sandbox.DisposeAsync();
    NpgsqlConnection.ClearAllPools();
    await cluster.DestroyAsync(deleteFiles: true);
}

internal static class Scenarios
{
    /// <summary>
    /// Two backfills of <paramref name="contacts"/> contacts by one worker, each timed against a raw COPY of its own
    /// rows: the first in a fresh process (the JIT compiles and tunes the hot paths while it runs), the second with the
    /// process warmed by the first, as a long-running host is.
    /// </summary>
    public static async Task BackfillAsync(string admin, SandboxHost sandbox, int contacts)
    {
        var platform = await Db.CreateAsync(admin, "platform");
        await using var host = await Worker.StartAsync(platform);
        var results = new List<string>();
        foreach (var (run, label) in new[] { (1, "first in a fresh worker process"), (2, "second, worker warmed by the first") })
        {
            var seeding = Stopwatch.StartNew();
            var (_, credentials) = sandbox.CreateOrg(new SandboxSeedSpec { Accounts = contacts / 10, ContactsPerAccount = 10 });
            Console.WriteLine($"seeded {contacts:N0} contacts in {seeding.Elapsed.TotalSeconds:0.0} s");
            var destination = await Db.CreateAsync(admin, "dest");
            var stopwatch = Stopwatch.StartNew();
            var syncId = await host.Services.GetRequiredService<SyncAdmin>().CreateAsync(new SyncDefinition
            {
                Name = $"backfill-{run}", Credentials = credentials, Destination = destination, Objects = ["Contact"],
            });
            await Db.WaitAsync(destination, "select count(*) = 1 from salesforce._sync where table_name = 'contact' and state = 'live'", TimeSpan.FromMinutes(30));
            var liveSeconds = stopwatch.Elapsed.TotalSeconds;
            // The table is live (rows committed) before its reference indexes are built; the engine reports the table
            // live in the platform database once they are. Time the sync to that same end state as the anchor's (rows
            // and indexes), and let the anchor run only after the engine's index builds, not against them.
            await Db.WaitAsync(platform, $"select count(*) = {run} from sync_tables where state = 'live'", TimeSpan.FromMinutes(30));
            var syncSeconds = stopwatch.Elapsed.TotalSeconds;
            // Stop it following changes (a poll every second), so that nothing of it runs next to what is measured next.
            await host.Services.GetRequiredService<SyncAdmin>().PauseAsync(syncId);
            await Db.WaitAsync(destination, "select count(*) = 1 from salesforce._sync where table_name = 'contact' and state = 'paused'", TimeSpan.FromMinutes(1));
            var rows = await Db.ScalarAsync<long>(destination, "select count(*) from salesforce.contact");
            var columns = await Db.ScalarAsync<long>(destination, "select count(*) from information_schema.columns where table_schema = 'salesforce' and table_name = 'contact'");

            // Anchor, same run: the same rows, already in memory in binary COPY format, COPYed into a table of the same
            // shape (primary key, no triggers), then the same reference indexes built — the fastest way to the same end state.
            var copy = await Db.RawCopyAsync(destination);
            var syncRate = rows / syncSeconds;
            var copyRate = rows / copy.TotalSeconds;
            results.Add($"| sync backfill, {label} (sandbox HTTP → COPY, + the reference indexes) | {rows:N0} | {columns} | {syncSeconds:0.0} s | {syncRate:N0} |");
            results.Add($"| raw binary COPY of the same rows (+ the same reference indexes) | {rows:N0} | {columns} | {copy.TotalSeconds:0.0} s | {copyRate:N0} |");
            results.Add($"ratio sync / raw COPY, {label}: {syncRate / copyRate:0.00} (target ≥ 0.5) (rows live after {liveSeconds:0.0} s; reference indexes built by {syncSeconds:0.0} s)");
        }

        Console.WriteLine();
        Console.WriteLine("| scenario | rows | columns | time | records/s |");
        Console.WriteLine("|---|---|---|---|---|");
        foreach (var line in results.Where(l => l.StartsWith('|')))
        {
            Console.WriteLine(line);
        }

        Console.WriteLine();
        foreach (var line in results.Where(l => l.StartsWith("ratio", StringComparison.Ordinal)))
        {
            Console.WriteLine(line);
        }
    }

    public static async Task LatencyAsync(string admin, SandboxHost sandbox, int samples)
    {
        var (_, credentials) = sandbox.CreateOrg(new SandboxSeedSpec { Accounts = 100, ContactsPerAccount = 10 });
        var platform = await Db.CreateAsync(admin, "platform");
        var destination = await Db.CreateAsync(admin, "dest");
        await using var host = await Worker.StartAsync(platform);
        await host.Services.GetRequiredService<SyncAdmin>().CreateAsync(new SyncDefinition
        {
            Name = "latency", Credentials = credentials, Destination = destination, Objects = ["Contact"], // default poll interval (1 s)
        });
        await Db.WaitAsync(destination, "select count(*) = 1 from salesforce._sync where table_name = 'contact' and state = 'live'", TimeSpan.FromMinutes(2));

        using var factory = new SalesforceConnectorFactory(Options.Create(new SalesforceOptions()), TimeProvider.System, NullLoggerFactory.Instance);
        await using var connector = factory.Create(new SourceCredentials(credentials), new NullSink());
        var ids = new List<string>();
        await using (var connection = new NpgsqlConnection(destination))
        {
            await connection.OpenAsync();
            await using var cmd = new NpgsqlCommand("select id from salesforce.contact order by id limit 200", connection);
            await using var reader = await cmd.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                ids.Add(reader.GetString(0));
            }
        }

        var latencies = new List<double>();
        await using var poll = new NpgsqlConnection(destination);
        await poll.OpenAsync();
        var random = new Random(1);
        for (var i = 0; i < samples; i++)
        {
            var id = ids[i % ids.Count];
            var value = $"L{i}-{Guid.NewGuid():N}"[..20];
            await connector.WriteAsync(new WriteBatch("Contact", WriteOperation.Update, [new WriteRecord(id, new Dictionary<string, object?> { ["LastName"] = value })]), default);
            var written = Stopwatch.StartNew();
            while (true)
            {
                await using var cmd = new NpgsqlCommand("select last_name from salesforce.contact where id = $1", poll);
                cmd.Parameters.AddWithValue(id);
                if ((string?)await cmd.ExecuteScalarAsync() == value)
                {
                    break;
                }

                await Task.Delay(5);
            }

            latencies.Add(written.Elapsed.TotalMilliseconds);
            await Task.Delay(random.Next(0, 1000));
        }

        latencies.Sort();
        double P(double q) => latencies[(int)Math.Min(latencies.Count - 1, Math.Ceiling(q * latencies.Count) - 1)];
        Console.WriteLine();
        Console.WriteLine("| change-to-visible latency, poll interval 1 s | samples | p50 | p95 | max |");
        Console.WriteLine("|---|---|---|---|---|");
        Console.WriteLine($"| upstream update → row visible in Postgres | {latencies.Count} | {P(0.5):0} ms | {P(0.95):0} ms | {latencies[^1]:0} ms |");
    }

    public static async Task IdleAsync(string admin, SandboxHost sandbox, int syncs)
    {
        var platform = await Db.CreateAsync(admin, "platform");
        var orgs = new List<(Dictionary<string, string> Credentials, string Destination)>();
        for (var i = 0; i < syncs; i++)
        {
            var (_, credentials) = sandbox.CreateOrg(new SandboxSeedSpec { Accounts = 1, ContactsPerAccount = 10 });
            orgs.Add((credentials, await Db.CreateAsync(admin, "idle")));
        }

        var baseline = Memory.Measure();
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        await using var host = await Worker.StartAsync(platform);
        var syncAdmin = host.Services.GetRequiredService<SyncAdmin>();
        for (var i = 0; i < syncs; i++)
        {
            await syncAdmin.CreateAsync(new SyncDefinition { Name = $"idle-{i}", Credentials = orgs[i].Credentials, Destination = orgs[i].Destination, Objects = ["Contact"] });
        }

        foreach (var (_, destination) in orgs)
        {
            await Db.WaitAsync(destination, "select count(*) = 1 from salesforce._sync where table_name = 'contact' and state = 'live'", TimeSpan.FromMinutes(5));
        }

        await Task.Delay(TimeSpan.FromSeconds(20));
        var cpuStart = Process.GetCurrentProcess().TotalProcessorTime;
        var window = Stopwatch.StartNew();
        await Task.Delay(TimeSpan.FromSeconds(30));
        var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuStart).TotalSeconds / window.Elapsed.TotalSeconds;
        var running = Memory.Measure();
        _ = cpuBefore;
        Console.WriteLine();
        Console.WriteLine($"| {syncs} idle syncs in one worker (each polling every 1 s) | managed heap | working set | CPU (process, incl. sandbox) |");
        Console.WriteLine("|---|---|---|---|");
        Console.WriteLine($"| before the worker started (sandbox with {syncs} orgs) | {baseline.Heap / 1048576.0:0.0} MB | {baseline.WorkingSet / 1048576.0:0.0} MB | |");
        Console.WriteLine($"| {syncs} syncs live and idle | {running.Heap / 1048576.0:0.0} MB | {running.WorkingSet / 1048576.0:0.0} MB | {cpu * 100:0}% of one core |");
        Console.WriteLine($"| difference (the worker) | {(running.Heap - baseline.Heap) / 1048576.0:0.0} MB | {(running.WorkingSet - baseline.WorkingSet) / 1048576.0:0.0} MB | |");
    }
}

internal static class Memory
{
    public static (long Heap, long WorkingSet) Measure()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var process = Process.GetCurrentProcess();
        process.Refresh();
        return (GC.GetTotalMemory(true), process.WorkingSet64);
    }
}

internal sealed class NullSink : ICredentialSink
{
    public Task SaveAsync(SourceCredentials credentials, CancellationToken cancellationToken) => Task.CompletedTask;
}

internal static class Db
{
    public static async Task<string> CreateAsync(string admin, string prefix)
    {
        var name = $"{prefix}_{Guid.NewGuid():N}"[..30];
        await using var connection = new NpgsqlConnection(admin);
        await connection.OpenAsync();
        await using var cmd = new NpgsqlCommand($"create database {name}", connection);
        await cmd.ExecuteNonQueryAsync();
        return new NpgsqlConnectionStringBuilder(admin) { Database = name }.ConnectionString;
    }

    public static async Task<T> ScalarAsync<T>(string cs, string sql)
    {
        // Unpooled: the harness must not hold idle connections to 100 databases next to the worker's.
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(cs) { Pooling = false }.ConnectionString);
        await connection.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, connection);
        return (T)(await cmd.ExecuteScalarAsync())!;
    }

    public static async Task WaitAsync(string cs, string sql, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                if (await ScalarAsync<bool>(cs, sql))
                {
                    return;
                }
            }
            catch (PostgresException)
            {
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"not reached within {timeout}: {sql}");
    }

    public static async Task<TimeSpan> RawCopyAsync(string cs)
    {
        await using var connection = new NpgsqlConnection(cs);
        await connection.OpenAsync();
        var columns = new List<string>();
        await using (var cmd = new NpgsqlCommand("select string_agg(quote_ident(column_name), ', ' order by ordinal_position) from information_schema.columns where table_schema = 'salesforce' and table_name = 'contact' and column_name not like '\\_sync%'", connection))
        {
            columns.Add((string)(await cmd.ExecuteScalarAsync())!);
        }

        var list = columns[0];
        using var buffer = new MemoryStream();
        await using (var export = await connection.BeginRawBinaryCopyAsync($"copy (select {list} from salesforce.contact) to stdout (format binary)"))
        {
            await export.CopyToAsync(buffer);
        }

        await using (var create = new NpgsqlCommand("create table public.raw_copy (like salesforce.contact including defaults); alter table public.raw_copy add primary key (id)", connection))
        {
            await create.ExecuteNonQueryAsync();
        }

        var indexes = new List<string>();
        await using (var cmd = new NpgsqlCommand("select indexdef from pg_indexes where schemaname = 'salesforce' and tablename = 'contact' and indexname not like '%pkey'", connection))
        await using (var reader = await cmd.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                indexes.Add(reader.GetString(0).Replace("ON salesforce.contact", "ON public.raw_copy", StringComparison.Ordinal)
                    .Replace("INDEX contact_", "INDEX raw_copy_", StringComparison.Ordinal));
            }
        }

        buffer.Position = 0;
        var stopwatch = Stopwatch.StartNew();
        await using (var import = await connection.BeginRawBinaryCopyAsync($"copy public.raw_copy ({list}) from stdin (format binary)"))
        {
            await buffer.CopyToAsync(import);
        }

        // The same end state as the synced table: its reference indexes too.
        foreach (var index in indexes)
        {
            await using var create = new NpgsqlCommand(index, connection);
            await create.ExecuteNonQueryAsync();
        }

        return stopwatch.Elapsed;
    }
}

/// <summary>One worker: the platform database and the sync engine, as Sequin.Host runs them, default settings.</summary>
internal sealed class Worker : IAsyncDisposable
{
    private readonly IHost _host;

    private Worker(IHost host) => _host = host;

    public IServiceProvider Services => _host.Services;

    public static async Task<Worker> StartAsync(string platform)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Sequin:Platform:ConnectionString"] = platform,
            // Every host sharing a platform database needs the same master key.
            ["Sequin:Secrets:MasterKey"] = "c2VxdWluLXN5bmMtdGVzdHMtbWFzdGVyLWtleS0zMmI=",
            ["Sequin:Sync:Salesforce:RequestsPerSecond"] = "1000",
        });
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Logging.AddFilter("Quartz", LogLevel.Error);
        builder.Services.AddSequinPlatform(builder.Configuration);
        builder.Services.AddSequinSync(builder.Configuration);
        var host = builder.Build();
        await host.StartAsync();
        return new Worker(host);
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
    }
}

/// <summary>The Salesforce sandbox on Kestrel, 127.0.0.1, zero latency, mounted under a prefix as in the host.</summary>
internal sealed class SandboxHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly string _baseUrl;

    private SandboxHost(WebApplication app, string baseUrl)
    {
        _app = app;
        _baseUrl = baseUrl;
    }

    public SalesforceSandbox Sandbox => _app.Services.GetRequiredService<SalesforceSandbox>();

    public static async Task<SandboxHost> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddSalesforceSandbox(o => o.DefaultDailyApiLimit = 100_000_000);
        var app = builder.Build();
        app.MapSalesforceSandbox("/sandbox/salesforce");
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new SandboxHost(app, address + "/sandbox/salesforce");
    }

    public (SandboxOrgInfo Org, Dictionary<string, string> Credentials) CreateOrg(SandboxSeedSpec seed)
    {
        var org = Sandbox.CreateOrg(new SandboxOrgSpec { Name = "bench-" + Guid.NewGuid().ToString("N")[..8], Seed = seed });
        var tokens = Sandbox.IssueTokens(org.OrgId, _baseUrl);
        return (org, new Dictionary<string, string>
        {
            ["instance_url"] = tokens.InstanceUrl,
            ["access_token"] = tokens.AccessToken,
            ["refresh_token"] = tokens.RefreshToken!,
        });
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
