using System.Text;
using Npgsql;
using Sequin.Platform.Database;
using Sequin.Sandbox;
using Sequin.Testing;
using Shouldly;

namespace Sequin.Sync.Tests;

/// <summary>
/// kill -9 of the worker process itself (issue 4, "Loading"): the real <c>Sequin.Host</c> binary runs the sync in its
/// own OS process and is killed with SIGKILL at random moments of a backfill of many small pages and while it follows
/// live upstream changes, once for certain while a page's transaction is open (the test holds a lock the page's
/// upsert waits for, so the kill lands inside the transaction). Each time a new process resumes from the last
/// committed page: no page is half there, committed rows are never loaded twice, and the destination converges to
/// the upstream exactly.
/// </summary>
public sealed class CrashTests(ITestOutputHelper output)
{
    private const int PageSize = 200;
    private readonly SandboxServer _server = SandboxServer.Instance;

    [Fact]
    public async Task WorkerKilledWithSigkill_MidBackfillAndLive_ResumesFromCommittedPagesAndConverges()
    {
        var seed = Random.Shared.Next();
        var random = new Random(seed);
        output.WriteLine($"kill-moment seed {seed}");
        var (org, credentials) = _server.CreateOrg(new SandboxSeedSpec { Accounts = 3_000, ContactsPerAccount = 10, RandomSeed = 11 });
        // A little latency per request spreads the 150 backfill pages over a few seconds.
        _server.Sandbox.SetFaults(org.OrgId, new SandboxFaults { LatencyMs = 10, JitterMs = 10 });
        var total = _server.Sandbox.CountRecords(org.OrgId, "Contact");
        var platform = await PostgresServer.Instance.CreateDatabaseAsync("crash_platform");
        var destination = await PostgresServer.Instance.CreateDatabaseAsync("crash_dest");
        var hosts = new List<HostProcess>();
        HostProcess Start()
        {
            var host = HostProcess.Start(HostEnvironment(platform, destination, credentials));
            hosts.Add(host);
            return host;
        }

        string Logs() => string.Join("\n", hosts.Select((h, i) => $"--- host {i} (pid {h.Id}) ---\n{Tail(h.Stdout + h.Stderr, 40)}"));

        // A host that dies by itself fails the test at once, with its output.
        async Task<long> RowsWhileRunning(HostProcess host) =>
            host.HasExited ? throw new ShouldAssertException($"the host exited by itself ({host.ExitCode})\n{Logs()}") : await CountAsync(destination);

        try
        {
            var host = Start();

            // 1. Backfill: three kills at random points of it; the middle one while a page's transaction is open.
            var backfillKills = new List<KillPoint>();
            double[] fractions = [0.10 + (random.NextDouble() * 0.15), 0.35 + (random.NextDouble() * 0.15), 0.60 + (random.NextDouble() * 0.15)];
            for (var i = 0; i < fractions.Length; i++)
            {
                var threshold = (long)(fractions[i] * total);
                await Destination.WaitForAsync(async () => await RowsWhileRunning(host) >= threshold, TimeSpan.FromSeconds(120),
                    async () => $"backfill did not reach {threshold} rows: {await Destination.StatusAsync(destination)}\n{Logs()}");
                var holdPage = i == 1;
                if (!holdPage)
                {
                    await Task.Delay(random.Next(0, 250));
                }

                var kill = await KillAsync(host, destination, holdPage, "backfill", Logs);
                backfillKills.Add(kill);
                output.WriteLine(kill.ToString());
                kill.State.ShouldBe("backfilling", "the kill landed mid-backfill");
                kill.Cursor.ShouldNotBeNull("a committed page left its cursor");
                kill.Rows.ShouldBeGreaterThan(0);
                kill.Rows.ShouldBe(kill.SyncRows, "_sync.rows is written in the page's transaction, so it always matches the table");
                (kill.Rows % PageSize).ShouldBe(0, "only whole pages are committed");
                if (holdPage)
                {
                    kill.OpenTransactions.ShouldNotBeEmpty("a page's transaction was open when the process died");
                    kill.Rows.ShouldBe(kill.RowsBeforeKill, "the page whose transaction was open at the kill was rolled back");
                }

                host = Start();
            }

            await Destination.WaitForAsync(
                async () => await Destination.ScalarAsync<string>(destination, "select state from salesforce._sync where table_name = 'contact'") == "live",
                TimeSpan.FromSeconds(120), async () => $"backfill did not finish: {await Destination.StatusAsync(destination)}\n{Logs()}");
            (await CountAsync(destination)).ShouldBe(total);
            await Upstream.AssertEqualAsync(credentials, destination, "Contact", total);

            // Resumed, not restarted: the rows committed before each kill were never written again, and the backfill
            // kept its start time (a restart from zero would reset it and rewrite every row).
            foreach (var kill in backfillKills)
            {
                (await CountWrittenUpToAsync(destination, kill.LastWrite!.Value)).ShouldBe(kill.Rows,
                    $"rows committed before the kill at {kill.Rows} were not rewritten after the restart");
            }

            backfillKills.Select(k => k.BackfillStartedAt).Distinct().Count().ShouldBe(1, "the backfill was never started over");

            // 2. Live: upstream creates, updates and deletes while the worker is killed twice (once inside a page).
            var backfilledLog = hosts.Sum(h => Occurrences(h.Stdout, "Backfilled salesforce.contact"));
            _server.Sandbox.SetActivity(org.OrgId, new SandboxActivity
            {
                Enabled = true, OperationsPerSecond = 40, CreateWeight = 2, UpdateWeight = 3, DeleteWeight = 2, Objects = ["Contact"],
            });
            await Task.Delay(random.Next(500, 1500));
            var liveKill = await KillAsync(host, destination, holdPage: true, "live", Logs);
            output.WriteLine(liveKill.ToString());
            liveKill.State.ShouldBe("live");
            liveKill.OpenTransactions.ShouldNotBeEmpty("a change page's transaction was open when the process died");
            liveKill.Rows.ShouldBe(liveKill.SyncRows);
            host = Start();
            // Kill the next host only once it is following changes again: a change page committed after the restart.
            await Destination.WaitForAsync(async () => !host.HasExited && await Destination.ScalarAsync<DateTime>(destination,
                    "select last_success_at from salesforce._sync where table_name = 'contact'") > liveKill.LastSuccessAt,
                TimeSpan.FromSeconds(60), async () => $"the restarted worker committed nothing: {await Destination.StatusAsync(destination)}\n{Logs()}");
            await Task.Delay(random.Next(0, 1_000));
            var randomLiveKill = await KillAsync(host, destination, holdPage: false, "live", Logs);
            output.WriteLine(randomLiveKill.ToString());
            randomLiveKill.Rows.ShouldBe(randomLiveKill.SyncRows);
            host = Start();
            await Task.Delay(random.Next(1_000, 2_000));
            _server.Sandbox.SetActivity(org.OrgId, new SandboxActivity { Enabled = false });
            var activity = _server.Sandbox.GetActivity(org.OrgId);
            output.WriteLine($"upstream activity: {activity.Creates} creates, {activity.Updates} updates, {activity.Deletes} deletes");
            activity.Creates.ShouldBeGreaterThan(0);
            activity.Deletes.ShouldBeGreaterThan(0);

            await Destination.WaitForAsync(async () => (await Upstream.CompareAsync(credentials, destination, "Contact")).Differences.Count == 0,
                TimeSpan.FromSeconds(90), async () => await Destination.StatusAsync(destination) + "\n" +
                    string.Join("\n", (await Upstream.CompareAsync(credentials, destination, "Contact")).Differences) + "\n" + Logs());
            var upstreamCount = _server.Sandbox.CountRecords(org.OrgId, "Contact");
            (await CountAsync(destination)).ShouldBe(upstreamCount);
            (await Destination.ScalarAsync<long>(destination, "select rows from salesforce._sync where table_name = 'contact'")).ShouldBe(upstreamCount);
            (await Destination.ScalarAsync<string>(destination, "select state from salesforce._sync where table_name = 'contact'")).ShouldBe("live");
            hosts.Sum(h => Occurrences(h.Stdout, "Backfilled salesforce.contact")).ShouldBe(backfilledLog,
                "the restarts in live mode resumed following changes instead of backfilling again");
            hosts.ShouldAllBe(h => !h.Stdout.Contains("needs a full resync", StringComparison.Ordinal));
        }
        finally
        {
            _server.Sandbox.SetActivity(org.OrgId, new SandboxActivity { Enabled = false });
            foreach (var host in hosts)
            {
                await host.DisposeAsync();
            }

            await PostgresServer.Instance.DropDatabaseAsync(destination);
            await PostgresServer.Instance.DropDatabaseAsync(platform);
        }
    }

    /// <summary>What was committed when a worker died, read once its sessions are gone.</summary>
    private sealed record KillPoint(string Phase, IReadOnlyList<string> OpenTransactions, long RowsBeforeKill, long Rows, long SyncRows, string State,
        string? Cursor, DateTime? BackfillStartedAt, DateTime? LastWrite, DateTime? LastSuccessAt)
    {
        public override string ToString() =>
            $"{Phase} kill: {Rows} rows committed (_sync.rows {SyncRows}, state {State}); transactions open at the kill: " +
            (OpenTransactions.Count == 0 ? "none seen" : string.Join("; ", OpenTransactions));
    }

    /// <summary>
    /// SIGKILLs the worker. With <paramref name="holdPage"/> the test first takes a SHARE lock on the table, waits until
    /// the worker's next page is inside its transaction and blocked on that lock (staged, upsert waiting), kills the
    /// process, and only then lets go: the page's transaction was certainly open when the process died.
    /// </summary>
    private static async Task<KillPoint> KillAsync(HostProcess host, string destination, bool holdPage, string phase, Func<string> logs)
    {
        NpgsqlConnection? locker = null;
        NpgsqlTransaction? lockTx = null;
        try
        {
            long rowsBeforeKill = -1;
            if (holdPage)
            {
                locker = new NpgsqlConnection(destination);
                await locker.OpenAsync();
                lockTx = await locker.BeginTransactionAsync();
                await using (var lockTable = new NpgsqlCommand("lock table salesforce.contact in share mode", locker, lockTx))
                {
                    await lockTable.ExecuteNonQueryAsync();
                }

                await Destination.WaitForAsync(async () => (await OpenTransactionsAsync(destination, waitingForLock: true)).Count > 0, TimeSpan.FromSeconds(60),
                    async () => $"the worker's next page never waited for the lock: {await Destination.StatusAsync(destination)}\n{logs()}");
                await using var count = new NpgsqlCommand("select count(*) from salesforce.contact", locker, lockTx);
                rowsBeforeKill = (long)(await count.ExecuteScalarAsync())!;
            }

            var open = await OpenTransactionsAsync(destination, waitingForLock: holdPage);
            host.KillHard();
            if (lockTx is not null)
            {
                await lockTx.RollbackAsync();
            }

            // Postgres ends the dead process's sessions when it reads EOF from their sockets; a blocked page's session
            // gets the lock, finishes its statement, finds no COMMIT coming and rolls back.
            await Destination.WaitForAsync(async () => await SyncSessionsAsync(destination) == 0, TimeSpan.FromSeconds(30),
                () => Task.FromResult("the killed worker's sessions did not end"));
            await using var connection = new NpgsqlConnection(destination);
            await connection.OpenAsync();
            await using var cmd = new NpgsqlCommand("""
                select s.state, s.cursor, s.rows, s.backfill_started_at, (select count(*) from salesforce.contact), (select max(_sync_updated_at) from salesforce.contact),
                       s.last_success_at
                from salesforce._sync s where s.table_name = 'contact'
                """, connection);
            await using var reader = await cmd.ExecuteReaderAsync();
            (await reader.ReadAsync()).ShouldBeTrue();
            return new KillPoint(phase, open, rowsBeforeKill, reader.GetInt64(4), reader.GetInt64(2), reader.GetString(0),
                reader.IsDBNull(1) ? null : reader.GetString(1), reader.IsDBNull(3) ? null : reader.GetDateTime(3), reader.IsDBNull(5) ? null : reader.GetDateTime(5),
                reader.IsDBNull(6) ? null : reader.GetDateTime(6));
        }
        finally
        {
            if (locker is not null)
            {
                await locker.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// The worker's sessions inside a transaction that has written (an xid), as "pid xid state wait query"; with
    /// <paramref name="waitingForLock"/>, those whose page statement waits for a lock instead (a backfill's direct COPY
    /// blocks before its first row, so its transaction has no xid yet).
    /// </summary>
    private static async Task<List<string>> OpenTransactionsAsync(string destination, bool waitingForLock)
    {
        await using var connection = new NpgsqlConnection(PostgresServer.Instance.AdminConnectionString);
        await connection.OpenAsync();
        await using var cmd = new NpgsqlCommand($"""
            select pid || ' xid ' || coalesce(backend_xid::text, 'none yet') || ' ' || state || coalesce(' waiting for ' || wait_event_type, '') || ': ' || left(regexp_replace(query, '\s+', ' ', 'g'), 60)
            from pg_stat_activity
            where datname = $1 and application_name = 'sequin-sync' and xact_start is not null
              {(waitingForLock ? "and wait_event_type = 'Lock'" : "and backend_xid is not null")}
            """, connection);
        cmd.Parameters.AddWithValue(new NpgsqlConnectionStringBuilder(destination).Database!);
        var list = new List<string>();
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            list.Add(reader.GetString(0));
        }

        return list;
    }

    private static async Task<long> SyncSessionsAsync(string destination)
    {
        await using var connection = new NpgsqlConnection(PostgresServer.Instance.AdminConnectionString);
        await connection.OpenAsync();
        await using var cmd = new NpgsqlCommand("select count(*) from pg_stat_activity where datname = $1 and application_name = 'sequin-sync'", connection);
        cmd.Parameters.AddWithValue(new NpgsqlConnectionStringBuilder(destination).Database!);
        return (long)(await cmd.ExecuteScalarAsync())!;
    }

    private static async Task<long> CountAsync(string destination) =>
        await Destination.ScalarAsync<long>(destination, "select count(*) from salesforce.contact");

    private static async Task<long> CountWrittenUpToAsync(string destination, DateTime lastWrite)
    {
        await using var connection = new NpgsqlConnection(destination);
        await connection.OpenAsync();
        await using var cmd = new NpgsqlCommand("select count(*) from salesforce.contact where _sync_updated_at <= $1", connection);
        cmd.Parameters.AddWithValue(lastWrite);
        return (long)(await cmd.ExecuteScalarAsync())!;
    }

    private static Dictionary<string, string> HostEnvironment(string platform, string destination, Dictionary<string, string> credentials)
    {
        var env = new Dictionary<string, string>
        {
            ["SEQUIN__PLATFORM__CONNECTIONSTRING"] = platform,
            ["SEQUIN__HTTP__URLS"] = $"http://127.0.0.1:{EmbeddedPostgres.FindFreePort()}",
            ["SEQUIN__SECRETS__MASTERKEY"] = "c2VxdWluLWNyYXNoLXRlc3RzLW1hc3Rlci1rZXktMzI=",
            ["SEQUIN__SANDBOX__ENABLED"] = "false",
            ["SEQUIN__PROXY__ENABLED"] = "false",
            ["SEQUIN__SYNC__CLUSTERCHECKININTERVAL"] = "00:00:01",
            ["SEQUIN__SYNC__CLUSTERCHECKINMISFIRETHRESHOLD"] = "00:00:02",
            ["SEQUIN__SYNC__RECONCILEINTERVAL"] = "00:00:01",
            ["SEQUIN__SYNC__JOBRETRIGGERINTERVAL"] = "00:00:01",
            ["SEQUIN__SYNC__ERRORBACKOFF"] = "00:00:00.200",
            ["SEQUIN__SYNC__MAXERRORBACKOFF"] = "00:00:02",
            ["SEQUIN__SYNC__SALESFORCE__QUERYBATCHSIZE"] = PageSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["SEQUIN__SYNC__SALESFORCE__OVERLAPWINDOW"] = "00:00:02",
            ["SEQUIN__SYNC__SYNCS__0__NAME"] = "crash",
            ["SEQUIN__SYNC__SYNCS__0__DESTINATION"] = destination,
            ["SEQUIN__SYNC__SYNCS__0__OBJECTS__0"] = "Contact",
            ["SEQUIN__SYNC__SYNCS__0__POLLINTERVALMS"] = "300",
            ["SEQUIN__SYNC__SYNCS__0__REQUESTSPERSECOND"] = "1000",
        };
        foreach (var (key, value) in credentials)
        {
            env[$"SEQUIN__SYNC__SYNCS__0__CREDENTIALS__{key}"] = value;
        }

        return env;
    }

    private static int Occurrences(string text, string value)
    {
        var n = 0;
        for (var i = text.IndexOf(value, StringComparison.Ordinal); i >= 0; i = text.IndexOf(value, i + value.Length, StringComparison.Ordinal))
        {
            n++;
        }

        return n;
    }

    private static string Tail(string text, int lines)
    {
        var all = text.Split('\n');
        return new StringBuilder().AppendJoin('\n', all.Skip(Math.Max(0, all.Length - lines))).ToString();
    }
}
