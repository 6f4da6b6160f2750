using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Sequin.Sources;
using Sequin.Sync.Loading;
using Sequin.Sync.Provisioning;

namespace Sequin.Sync.Engine;

/// <summary>Why a sync's run ended.</summary>
internal enum RunOutcome
{
    /// <summary>Shutdown, pause, or an error that needs a fresh start: the job's trigger runs it again later.</summary>
    Stopped,

    /// <summary>The sync no longer exists (deleted): remove its job.</summary>
    Gone,
}

/// <summary>
/// Runs one sync until it is paused, deleted or the host stops: provisions the destination, then round-robins its
/// tables — one backfill load per table per turn (the pages already read ahead, up to a few, in one transaction;
/// the next pages are fetched while it loads), then
/// incremental reads every poll interval. A failing table records its error in <c>_sync</c> and backs off; the
/// others go on; nothing is committed past a page that did not load.
/// </summary>
internal sealed partial class SyncRunner(
    SyncStore store,
    IEnumerable<ISourceConnectorFactory> connectors,
    DestinationProvisioner provisioner,
    Scheduling.NodeBalance balance,
    DestinationPools pools,
    IOptions<SyncOptions> options,
    TimeProvider time,
    ILogger<SyncRunner> logger)
{
    private const int MaxChangePagesPerTurn = 20;

    /// <summary>Backfill pages read ahead of the one loading.</summary>
    private const int ReadAheadPages = 2;

    /// <summary>At most this many backfill pages (already read) are loaded in one transaction.</summary>
    private const int MaxPagesPerLoad = 3;
    private readonly SyncOptions _options = options.Value;

    public async Task<RunOutcome> RunAsync(Guid syncId, CancellationToken cancellationToken)
    {
        balance.Enter();
        try
        {
            return await RunCountedAsync(syncId, cancellationToken);
        }
        finally
        {
            balance.Exit();
        }
    }

    private async Task<RunOutcome> RunCountedAsync(Guid syncId, CancellationToken cancellationToken)
    {
        var spec = await store.LoadAsync(syncId, cancellationToken);
        if (spec is null)
        {
            return RunOutcome.Gone;
        }

        if (spec.State == "deleting")
        {
            await DeleteAsync(spec, cancellationToken);
            return RunOutcome.Gone;
        }

        if (spec.State == "paused")
        {
            return RunOutcome.Stopped;
        }

        LogStarting(logger, syncId, spec.Schema, spec.Tables.Count);
        var factory = connectors.FirstOrDefault(f => f.Kind == spec.SourceKind);
        if (factory is null)
        {
            await FailStartAsync(spec, new InvalidOperationException($"no connector for source '{spec.SourceKind}'"), cancellationToken);
            return RunOutcome.Stopped;
        }

        var limits = factory.DefaultLimits;
        limits = limits with
        {
            RequestsPerSecond = spec.RequestsPerSecond ?? limits.RequestsPerSecond,
            DailyShare = spec.DailyShare ?? limits.DailyShare,
        };
        await using var connector = factory.Create(spec.Credentials, new StoreCredentialSink(store, spec.ConnectionId), limits, spec.ConnectionId);
        var destination = pools.Get(spec.DestinationConnectionString);
        var tables = new List<TableRuntime>();
        var blocked = 0; // tables whose schema change the destination refused
        try
        {
            await using (var connection = await destination.OpenConnectionAsync(cancellationToken))
            {
                await provisioner.EnsureSchemaAsync(connection, spec.Schema, cancellationToken);
            }

            foreach (var table in spec.Tables)
            {
                try
                {
                    tables.Add(await ProvisionAsync(spec, table, connector, destination, cancellationToken));
                }
                catch (SchemaChangeBlockedException e)
                {
                    // Only this table waits (rows kept, error in its _sync row); the others sync. Every re-provision retries it.
                    blocked++;
                    await BlockTableAsync(spec, table, destination, e, cancellationToken);
                }
            }
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is SourceException or NpgsqlException or InvalidOperationException)
        {
            await FailStartAsync(spec, e, cancellationToken);
            return RunOutcome.Stopped;
        }

        var control = await store.LoadControlAsync(syncId, cancellationToken);
        var selectionKey = control?.SelectionKey;
        var nextSchemaRefresh = time.GetUtcNow() + _options.SchemaRefreshInterval;
        var nextBalanceCheck = time.GetUtcNow() + TimeSpan.FromSeconds(Random.Shared.Next(3, 8));
        var nextUsageWrite = time.GetUtcNow();
        string? syncState = null; // last state written to syncs.state by this run
        if (blocked == 0)
        {
            await store.SetStateAsync(syncId, tables.Any(t => t.State == "backfilling") ? "backfilling" : "live", null, cancellationToken);
        }

        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var turnStarted = time.GetTimestamp();
                control = await store.LoadControlAsync(syncId, cancellationToken);
                if (control is null)
                {
                    return RunOutcome.Gone;
                }

                if (control.State == "paused")
                {
                    LogPaused(logger, syncId);
                    await MarkTablesAsync(destination, spec.Schema, "paused", cancellationToken);
                    return RunOutcome.Stopped;
                }

                if (control.State == "deleting")
                {
                    await DeleteAsync(spec, cancellationToken);
                    return RunOutcome.Gone;
                }

                if (control.SelectionKey != selectionKey || time.GetUtcNow() >= nextSchemaRefresh)
                {
                    // The selection changed or it is time to look for upstream schema changes: start over, which
                    // re-describes and re-provisions every table (adding, dropping, retyping columns).
                    LogReprovision(logger, syncId);
                    return RunOutcome.Stopped;
                }

                if (time.GetUtcNow() >= nextBalanceCheck)
                {
                    nextBalanceCheck = time.GetUtcNow() + TimeSpan.FromSeconds(Random.Shared.Next(3, 8));
                    if (await balance.TryYieldAsync(cancellationToken))
                    {
                        balance.Enter(); // counted out by TryYield; the finally of RunAsync counts out again
                        LogHandOff(logger, syncId);
                        return RunOutcome.Stopped;
                    }
                }

                foreach (var (tableId, requestedAt) in control.ResyncRequests)
                {
                    if (tables.FirstOrDefault(t => t.Spec.Id == tableId) is { } table)
                    {
                        await ResetForBackfillAsync(destination, table, "resync requested", cancellationToken);
                        await EstimateAsync(table, connector, cancellationToken);
                        await store.ClearResyncAsync(tableId, requestedAt, cancellationToken);
                    }
                }

                if (connector.Usage is { } usage && time.GetUtcNow() >= nextUsageWrite)
                {
                    nextUsageWrite = time.GetUtcNow() + TimeSpan.FromSeconds(10);
                    await store.SetApiUsageAsync(spec.ConnectionId, usage, cancellationToken);
                }

                var moreNow = false;
                foreach (var table in tables)
                {
                    if (cancellationToken.IsCancellationRequested)
                    {
                        break;
                    }

                    if (time.GetTimestamp() < table.NextAttempt)
                    {
                        continue;
                    }

                    moreNow |= await StepAsync(spec, table, connector, destination, cancellationToken);
                }

                // The sync is live once every table is. Written when it changes; "error" is written by the failing step
                // itself and only remembered here, so that the recovery writes the state again.
                var state = blocked > 0 || tables.Any(t => t.ErrorShown) ? "error" : tables.All(t => t.State == "live") ? "live" : "backfilling";
                if (state != syncState)
                {
                    if (state != "error")
                    {
                        await store.SetStateAsync(spec.Id, state, null, cancellationToken);
                    }

                    syncState = state;
                }

                if (tables.Any(t => t.AuthFailed))
                {
                    // Revoked credentials: give the user time to reconnect; the next run reloads the credentials.
                    await Task.Delay(_options.MaxErrorBackoff, time, cancellationToken);
                    return RunOutcome.Stopped;
                }

                if (!moreNow)
                {
                    var wait = TimeSpan.FromMilliseconds(spec.PollIntervalMs) - time.GetElapsedTime(turnStarted);
                    if (wait > TimeSpan.Zero)
                    {
                        await Task.Delay(wait, time, cancellationToken);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        finally
        {
            foreach (var t in tables)
            {
                t.DiscardPrefetch();
            }
        }

        LogStopped(logger, syncId);
        return RunOutcome.Stopped;
    }

    /// <summary>One turn of one table. Returns true when it has more work right now (backfill pages, more changes).</summary>
    private async Task<bool> StepAsync(SyncSpec spec, TableRuntime table, ISourceConnector connector, NpgsqlDataSource destination,
        CancellationToken cancellationToken)
    {
        try
        {
            bool more;
            if (table.State == "backfilling")
            {
                more = await BackfillPageAsync(table, connector, destination, cancellationToken);
            }
            else
            {
                more = await ReadChangesAsync(table, connector, destination, cancellationToken);
            }

            if (table.Failures > 0 || table.MirrorDue(time))
            {
                table.Failures = 0;
                if (table.State == "live" && await ExactRowCountAsync(destination, spec.Schema, table.Model.Table, cancellationToken) is { } exact)
                {
                    // Rows written through the proxy arrive here as updates, so the running count misses them.
                    table.Rows = exact;
                }

                await store.UpdateTableAsync(table.Spec.Id, table.State, table.Rows, null, cancellationToken);
                table.Mirrored(time);
                table.ErrorShown = false;
            }

            return more;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (SourceResyncRequiredException e)
        {
            LogResync(logger, spec.Id, table.Model.Table, e.Message);
            await ResetForBackfillAsync(destination, table, e.Message, cancellationToken);
            return true;
        }
        catch (Exception e) when (e is SourceException or NpgsqlException or InvalidOperationException or FormatException or InvalidCastException or ArgumentException)
        {
            table.DiscardPrefetch();
            table.Failures++;
            var delay = e switch
            {
                SourceThrottledException t => t.RetryAfter,
                SourceAuthException => _options.MaxErrorBackoff,
                _ => TimeSpan.FromMilliseconds(Math.Min(_options.MaxErrorBackoff.TotalMilliseconds,
                    _options.ErrorBackoff.TotalMilliseconds * Math.Pow(2, Math.Min(16, table.Failures - 1)))),
            };
            table.NextAttempt = time.GetTimestamp() + (long)(delay.TotalSeconds * TimeProvider.System.TimestampFrequency);
            table.AuthFailed = e is SourceAuthException;
            var message = e switch
            {
                SourceThrottledException => $"throttled (retrying in {delay.TotalSeconds:0} s): {e.Message}",
                SourceAuthException => $"credentials rejected: {e.Message}",
                PostgresException p => $"destination error {p.SqlState}: {p.MessageText} (page not committed; retrying in {delay.TotalSeconds:0} s)",
                _ => $"{e.Message} (page not committed; retrying in {delay.TotalSeconds:0} s)",
            };
            LogTableError(logger, e is SourceThrottledException ? LogLevel.Information : LogLevel.Warning, spec.Id, table.Model.Table, table.Failures, message, e);
            var state = e is SourceAuthException || table.Failures >= 3 ? "error" : null;
            await RecordErrorAsync(destination, table, message, state, cancellationToken);
            await store.UpdateTableAsync(table.Spec.Id, state ?? table.State, null, message, cancellationToken);
            if (e is SourceAuthException)
            {
                await store.SetConnectionErrorAsync(spec.ConnectionId, "revoked", message, cancellationToken);
            }

            if (state is not null)
            {
                table.ErrorShown = true;
                await store.SetStateAsync(spec.Id, "error", $"{table.Model.Table}: {message}", cancellationToken);
            }

            return false;
        }
    }

    private async Task<bool> BackfillPageAsync(TableRuntime table, ISourceConnector connector, NpgsqlDataSource destination, CancellationToken cancellationToken)
    {
        // Pages are read ahead by the table's chain while this loads; every page already read (up to a few) goes into
        // this one transaction, so a slow destination gets fewer, larger transactions instead of falling behind.
        var chain = table.ChainAt(table.Cursor,
            () => new PageChain((c, ct) => connector.ReadBackfillPageAsync(table.Request, c, ct), table.Cursor, ReadAheadPages, cancellationToken));
        var page = await chain.NextAsync(cancellationToken);
        if (!page.Done && chain.TryNext(out var second))
        {
            var pages = new List<BackfillPage> { page, second };
            var count = page.Records.Count + second.Records.Count;
            while (!pages[^1].Done && pages.Count < MaxPagesPerLoad && chain.TryNext(out var more))
            {
                pages.Add(more);
                count += more.Records.Count;
            }

            var records = new List<SourceRecord>(count);
            var misfits = new List<ValueMisfit>();
            foreach (var p in pages)
            {
                records.AddRange(p.Records);
                misfits.AddRange(p.Misfits);
            }

            page = new BackfillPage(records, pages[^1].NextCursor, pages[^1].Done, pages[^1].ChangeCursor, misfits);
        }

        var done = page.Done;
        var cursor = done ? page.ChangeCursor ?? throw new SourceException("the connector finished a backfill without a change cursor") : page.NextCursor;
        var lag = page.Records.Count > 0 && page.Records[^1].Version is { } v ? time.GetUtcNow() - new DateTimeOffset(v, TimeSpan.Zero) : (TimeSpan?)null;
        var result = await PageLoader.LoadAsync(destination, table.Model, page.Records, [],
            new CursorUpdate(done ? "live" : "backfilling", cursor, Misfits(page.Misfits), lag, done ? table.BackfillStartedAt : null),
            versionGuard: false, cancellationToken, copyDirect: table.CopyDirect);
        if (result.Conflict)
        {
            // Rows of this backfill meet rows already in the table: upsert through staging for the rest of this run.
            table.CopyDirect = false;
        }

        table.Cursor = cursor;
        table.Rows += result.Inserted - result.Deleted;
        if (done)
        {
            table.DiscardPrefetch();
            await using (var connection = await destination.OpenConnectionAsync(cancellationToken))
            {
                await DestinationProvisioner.EnsureIndexesAsync(connection, table.Model, cancellationToken);
            }

            table.State = "live";
            table.BackfillStartedAt = null;
            LogBackfilled(logger, table.Model.Schema, table.Model.Table, table.Rows);
            await store.UpdateTableAsync(table.Spec.Id, "live", table.Rows, null, cancellationToken);
        }

        return !done;
    }

    private async Task<bool> ReadChangesAsync(TableRuntime table, ISourceConnector connector, NpgsqlDataSource destination, CancellationToken cancellationToken)
    {
        for (var n = 0; n < MaxChangePagesPerTurn; n++)
        {
            var started = time.GetUtcNow();
            var page = await connector.ReadChangesAsync(table.Request, table.Cursor!, cancellationToken);
            var upserts = table.Unseen(page.Upserts);
            // An empty poll only moves the poll time in the cursor: commit that at most every 15 s, not every poll,
            // so idle syncs do not write to the destination every second (a crash merely re-reads a few seconds).
            var idle = page.Upserts.Count == 0 && page.Deletes.Count == 0 && page.Misfits.Count == 0;
            if (!idle || (page.NextCursor != table.Cursor && table.IdleCommitDue(time)))
            {
                var lag = page.HasMore && page.Upserts.Count > 0 && page.Upserts[^1].Version is { } v
                    ? time.GetUtcNow() - new DateTimeOffset(v, TimeSpan.Zero)
                    : time.GetUtcNow() - started;
                var result = await PageLoader.LoadAsync(destination, table.Model, upserts, page.Deletes,
                    new CursorUpdate("live", page.NextCursor, Misfits(page.Misfits), lag), versionGuard: true, cancellationToken);
                table.Rows += result.Inserted - result.Deleted;
                table.Remember(upserts);
                table.Committed(time);
                if (result.Inserted + result.Updated + result.Deleted > 0)
                {
                    LogChanges(logger, table.Model.Schema, table.Model.Table, result.Inserted, result.Updated, result.Deleted);
                }
            }

            table.Cursor = page.NextCursor;
            if (!page.HasMore)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Gives the sync's proxy backend roles read and write access and its read-only role read access to the synced
    /// tables (ADR 0007 "Roles and grants"), after each provisioning so new and re-created tables are covered. Roles
    /// that do not exist in this server, or that are the engine's own login (an external destination), are skipped.
    /// </summary>
    private async Task GrantAccessAsync(SyncSpec spec, NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        var (proxyRoles, readRole) = await store.GetAccessRolesAsync(spec.Id, cancellationToken);
        var grants = proxyRoles.Select(r => (Role: r, Function: "_sequin.grant_proxy_backend"))
            .Concat(readRole is null ? [] : [(Role: readRole, Function: "_sequin.grant_read_only")]);
        foreach (var (role, function) in grants)
        {
            await using var command = new NpgsqlCommand(
                $"select {function}($1, $2) from pg_roles where rolname = $2 and rolname <> current_user", connection);
            command.Parameters.AddWithValue(spec.Schema);
            command.Parameters.AddWithValue(role);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    /// <summary>The exact row count of a synced table when it is small (planner estimate under 1,000,000 rows), else null.</summary>
    private static async Task<long?> ExactRowCountAsync(NpgsqlDataSource destination, string schema, string table, CancellationToken cancellationToken)
    {
        await using var connection = await destination.OpenConnectionAsync(cancellationToken);
        await using (var estimate = new NpgsqlCommand("select c.reltuples from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relname = $2", connection))
        {
            estimate.Parameters.AddWithValue(schema);
            estimate.Parameters.AddWithValue(table);
            if (await estimate.ExecuteScalarAsync(cancellationToken) is not float tuples || tuples >= 1_000_000)
            {
                return null;
            }
        }

        await using var count = new NpgsqlCommand($"select count(*) from {Naming.Qualified(schema, table)}", connection);
        return (long)(await count.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>Backfill progress: how many rows the source has now (best effort; a failure leaves the estimate empty).</summary>
    private async Task EstimateAsync(TableRuntime table, ISourceConnector connector, CancellationToken cancellationToken)
    {
        long? estimate = null;
        try
        {
            estimate = await connector.EstimateCountAsync(table.Request.Object, cancellationToken);
        }
        catch (SourceException)
        {
        }

        await store.SetEstimateAsync(table.Spec.Id, estimate, cancellationToken);
    }

    private async Task<TableRuntime> ProvisionAsync(SyncSpec spec, SyncTableSpec tableSpec, ISourceConnector connector, NpgsqlDataSource destination,
        CancellationToken cancellationToken)
    {
        var describe = await connector.DescribeObjectAsync(tableSpec.ObjectName, cancellationToken);
        await using var connection = await destination.OpenConnectionAsync(cancellationToken);
        var existing = await DestinationProvisioner.ReadFieldColumnsAsync(connection, spec.Schema, tableSpec.TableName, cancellationToken);
        var model = TableModel.Build(spec.Schema, tableSpec.TableName, spec.SourceKind, spec.Id, describe, tableSpec.SelectedFields, existing);
        // Reference indexes are built after the first backfill (bulk loads are faster without them).
        var live = await ReadStateAsync(connection, spec.Schema, tableSpec.TableName, cancellationToken) is "live" or "paused" or "error";
        var result = await provisioner.EnsureTableAsync(connection, model, cancellationToken, deferIndexes: !live);
        await GrantAccessAsync(spec, connection, cancellationToken);
        await store.SaveColumnsAsync(tableSpec.Id,
            model.Columns.Select(c => (c.Field.Name, c.Name, c.Field.SourceType, c.SqlType)), cancellationToken);
        var runtime = new TableRuntime(tableSpec, model, new ReadRequest(describe.Name, model.Fields));
        await using (var cmd = new NpgsqlCommand($"select state, cursor, rows, backfill_started_at from {Naming.Qualified(spec.Schema, "_sync")} where table_name = $1", connection))
        {
            cmd.Parameters.AddWithValue(model.Table);
            await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
            if (await reader.ReadAsync(cancellationToken))
            {
                var state = reader.GetString(0);
                runtime.Cursor = reader.IsDBNull(1) ? null : reader.GetString(1);
                runtime.Rows = reader.GetInt64(2);
                runtime.BackfillStartedAt = reader.IsDBNull(3) ? null : reader.GetFieldValue<DateTimeOffset>(3);
                runtime.State = state == "live" || (state is "error" or "paused" && runtime.Cursor is not null && runtime.BackfillStartedAt is null) ? "live" : "backfilling";
            }
        }

        if (result.NeedsResync || (runtime.State == "backfilling" && runtime.Cursor is null) || (runtime.State == "live" && runtime.Cursor is null))
        {
            await ResetForBackfillAsync(destination, runtime, result.NeedsResync ? "schema changed: " + string.Join("; ", result.Changes) : null, cancellationToken);
        }
        else if (runtime.State == "live")
        {
            await SetStateAsync(destination, runtime, "live", cancellationToken);
        }
        else
        {
            await SetStateAsync(destination, runtime, "backfilling", cancellationToken);
        }

        if (runtime.State == "backfilling")
        {
            await EstimateAsync(runtime, connector, cancellationToken);
        }

        return runtime;
    }

    private static async Task<string?> ReadStateAsync(NpgsqlConnection connection, string schema, string table, CancellationToken cancellationToken)
    {
        await using var cmd = new NpgsqlCommand("select to_regclass(format('%I._sync', $1::text)) is not null", connection);
        cmd.Parameters.AddWithValue(schema);
        if (await cmd.ExecuteScalarAsync(cancellationToken) is not true)
        {
            return null;
        }

        await using var state = new NpgsqlCommand($"select state from {Naming.Qualified(schema, "_sync")} where table_name = $1", connection);
        state.Parameters.AddWithValue(table);
        return await state.ExecuteScalarAsync(cancellationToken) as string;
    }

    /// <summary>Starts a (re)backfill of a table: rows stay, are overwritten page by page, and rows not seen again are swept at the end.</summary>
    private static async Task ResetForBackfillAsync(NpgsqlDataSource destination, TableRuntime table, string? reason, CancellationToken cancellationToken)
    {
        table.DiscardPrefetch();
        await using var cmd = destination.CreateCommand($"""
            update {Naming.Qualified(table.Model.Schema, "_sync")}
            set state = 'backfilling', cursor = null, backfill_started_at = now(), updated_at = now(),
                last_error = coalesce($2, last_error), last_error_at = case when $2::text is null then last_error_at else now() end
            where table_name = $1
            returning backfill_started_at
            """);
        cmd.Parameters.AddWithValue(table.Model.Table);
        cmd.Parameters.AddWithValue(NpgsqlTypes.NpgsqlDbType.Text, (object?)reason ?? DBNull.Value);
        table.BackfillStartedAt = await cmd.ExecuteScalarAsync(cancellationToken) is DateTime started
            ? new DateTimeOffset(DateTime.SpecifyKind(started, DateTimeKind.Utc))
            : null;
        table.State = "backfilling";
        table.Cursor = null;
        table.CopyDirect = table.Rows == 0; // a resync overwrites existing rows: no point trying plain inserts first
        table.Failures = 0;
        table.NextAttempt = 0;
    }

    private static async Task SetStateAsync(NpgsqlDataSource destination, TableRuntime table, string state, CancellationToken cancellationToken)
    {
        await using var cmd = destination.CreateCommand($"update {Naming.Qualified(table.Model.Schema, "_sync")} set state = $2, updated_at = now() where table_name = $1");
        cmd.Parameters.AddWithValue(table.Model.Table);
        cmd.Parameters.AddWithValue(state);
        await cmd.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task MarkTablesAsync(NpgsqlDataSource destination, string schema, string state, CancellationToken cancellationToken)
    {
        await using var cmd = destination.CreateCommand($"update {Naming.Qualified(schema, "_sync")} set state = $1, updated_at = now()");
        cmd.Parameters.AddWithValue(state);
        await cmd.ExecuteNonQueryAsync(cancellationToken);
    }

    private Task RecordErrorAsync(NpgsqlDataSource destination, TableRuntime table, string message, string? state, CancellationToken cancellationToken) =>
        RecordErrorAsync(destination, table.Model.Schema, table.Model.Table, message, state, cancellationToken);

    /// <summary>A table whose schema change is refused: error in its <c>_sync</c> row and in the platform, the sync shown in error.</summary>
    private async Task BlockTableAsync(SyncSpec spec, SyncTableSpec table, NpgsqlDataSource destination, SchemaChangeBlockedException e,
        CancellationToken cancellationToken)
    {
        LogTableBlocked(logger, spec.Id, table.TableName, e.Message);
        await RecordErrorAsync(destination, spec.Schema, table.TableName, e.Message, "error", cancellationToken);
        await store.UpdateTableAsync(table.Id, "error", null, e.Message, cancellationToken);
        await store.SetStateAsync(spec.Id, "error", $"{table.TableName}: {e.Message}", cancellationToken);
    }

    private async Task RecordErrorAsync(NpgsqlDataSource destination, string schema, string tableName, string message, string? state,
        CancellationToken cancellationToken)
    {
        try
        {
            await using var cmd = destination.CreateCommand($"""
                update {Naming.Qualified(schema, "_sync")}
                set last_error = $2, last_error_at = now(), state = coalesce($3, state), updated_at = now() where table_name = $1
                """);
            cmd.Parameters.AddWithValue(tableName);
            cmd.Parameters.AddWithValue(message);
            cmd.Parameters.AddWithValue(NpgsqlTypes.NpgsqlDbType.Text, (object?)state ?? DBNull.Value);
            await cmd.ExecuteNonQueryAsync(cancellationToken);
        }
        catch (NpgsqlException e)
        {
            LogStatusUnwritable(logger, schema, e.Message);
        }
    }

    private async Task FailStartAsync(SyncSpec spec, Exception e, CancellationToken cancellationToken)
    {
        var message = $"start failed: {e.Message}";
        LogStartFailed(logger, spec.Id, message, e);
        await store.SetStateAsync(spec.Id, "error", message, cancellationToken);
        if (e is SourceAuthException)
        {
            await store.SetConnectionErrorAsync(spec.ConnectionId, "revoked", e.Message, cancellationToken);
        }

        await Task.Delay(_options.MaxErrorBackoff, time, cancellationToken);
    }

    private async Task DeleteAsync(SyncSpec spec, CancellationToken cancellationToken)
    {
        await using (var destination = OpenDestination(spec.DestinationConnectionString))
        await using (var connection = await destination.OpenConnectionAsync(cancellationToken))
        {
            await DestinationProvisioner.DropSchemaAsync(connection, spec.Schema, cancellationToken);
        }

        await store.DeleteRowsAsync(spec.Id, cancellationToken);
        LogDeleted(logger, spec.Id, spec.Schema);
    }

    /// <summary>Destination sessions run as the sync: <c>sequin.origin = sync</c> for the whole session.</summary>
    internal static NpgsqlDataSource OpenDestination(string connectionString) => DestinationPools.Build(connectionString, pooled: false);

    private static string? Misfits(IReadOnlyList<ValueMisfit> misfits) => misfits.Count switch
    {
        0 => null,
        1 => $"value misfit: {misfits[0]}",
        _ => $"{misfits.Count} value misfits, first: {misfits[0]}",
    };

    private sealed class StoreCredentialSink(SyncStore store, Guid connectionId) : ICredentialSink
    {
        public Task SaveAsync(SourceCredentials credentials, CancellationToken cancellationToken) =>
            store.SaveCredentialsAsync(connectionId, credentials, cancellationToken);
    }

    /// <summary>In-memory state of one table while its sync runs.</summary>
    private sealed class TableRuntime(SyncTableSpec spec, TableModel model, ReadRequest request)
    {
        private readonly Dictionary<string, DateTime> _recent = new(StringComparer.Ordinal);
        private PageChain? _chain;
        private long _nextMirror;

        public SyncTableSpec Spec { get; } = spec;
        public TableModel Model { get; } = model;
        public ReadRequest Request { get; } = request;
        public string State { get; set; } = "backfilling";
        public string? Cursor { get; set; }
        public long Rows { get; set; }
        public DateTimeOffset? BackfillStartedAt { get; set; }
        public int Failures { get; set; }
        public long NextAttempt { get; set; }
        public bool AuthFailed { get; set; }
        public bool ErrorShown { get; set; }

        /// <summary>Backfill pages are first tried as a COPY straight into the table (see <see cref="PageLoader"/>).</summary>
        public bool CopyDirect { get; set; } = true;

        private long? _lastCommit;

        public bool IdleCommitDue(TimeProvider time) => _lastCommit is not { } at || time.GetElapsedTime(at) >= TimeSpan.FromSeconds(15);

        public void Committed(TimeProvider time) => _lastCommit = time.GetTimestamp();

        public bool MirrorDue(TimeProvider time) => time.GetTimestamp() >= _nextMirror;

        public void Mirrored(TimeProvider time) => _nextMirror = time.GetTimestamp() + (10 * TimeProvider.System.TimestampFrequency);

        /// <summary>The table's read-ahead chain if it continues from <paramref name="cursor"/>, else a new one from there.</summary>
        public PageChain ChainAt(string? cursor, Func<PageChain> start)
        {
            if (_chain is null || _chain.Position != cursor)
            {
                DiscardPrefetch();
                _chain = start();
            }

            return _chain;
        }

        public void DiscardPrefetch()
        {
            _chain?.Discard();
            _chain = null;
        }

        /// <summary>Drops records already applied at the same version (the overlap window re-reads them).</summary>
        public IReadOnlyList<SourceRecord> Unseen(IReadOnlyList<SourceRecord> records)
        {
            if (_recent.Count == 0)
            {
                return records;
            }

            var list = new List<SourceRecord>(records.Count);
            foreach (var r in records)
            {
                if (r.Version is not { } v || !_recent.TryGetValue(r.Id, out var seen) || v > seen)
                {
                    list.Add(r);
                }
            }

            return list;
        }

        public void Remember(IReadOnlyList<SourceRecord> records)
        {
            DateTime newest = default;
            foreach (var r in records)
            {
                if (r.Version is { } v)
                {
                    _recent[r.Id] = v;
                    newest = v > newest ? v : newest;
                }
            }

            if (_recent.Count > 20_000)
            {
                var cutoff = newest.AddMinutes(-5);
                foreach (var key in _recent.Where(kv => kv.Value < cutoff).Select(kv => kv.Key).ToList())
                {
                    _recent.Remove(key);
                }
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Sync {SyncId} starting: schema {Schema}, {Tables} table(s)")]
    private static partial void LogStarting(ILogger logger, Guid syncId, string schema, int tables);

    [LoggerMessage(Level = LogLevel.Information, Message = "Sync {SyncId} handed to a less busy host")]
    private static partial void LogHandOff(ILogger logger, Guid syncId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Sync {SyncId} paused")]
    private static partial void LogPaused(ILogger logger, Guid syncId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Sync {SyncId} stopped")]
    private static partial void LogStopped(ILogger logger, Guid syncId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Sync {SyncId}: selection or upstream schema may have changed; re-provisioning")]
    private static partial void LogReprovision(ILogger logger, Guid syncId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sync {SyncId}: {Table} needs a full resync: {Reason}")]
    private static partial void LogResync(ILogger logger, Guid syncId, string table, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sync {SyncId}: {Table} waits: {Reason}")]
    private static partial void LogTableBlocked(ILogger logger, Guid syncId, string table, string reason);

    [LoggerMessage(Message = "Sync {SyncId}: {Table} failed ({Failures} in a row): {Error}")]
    private static partial void LogTableError(ILogger logger, LogLevel level, Guid syncId, string table, int failures, string error, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Sync {SyncId}: {Error}")]
    private static partial void LogStartFailed(ILogger logger, Guid syncId, string error, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Backfilled {Schema}.{Table}: {Rows} rows; following changes")]
    private static partial void LogBackfilled(ILogger logger, string schema, string table, long rows);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Schema}.{Table}: {Inserted} inserted, {Updated} updated, {Deleted} deleted")]
    private static partial void LogChanges(ILogger logger, string schema, string table, long inserted, long updated, long deleted);

    [LoggerMessage(Level = LogLevel.Information, Message = "Sync {SyncId} deleted: dropped schema {Schema}")]
    private static partial void LogDeleted(ILogger logger, Guid syncId, string schema);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot record the error in {Schema}._sync: {Reason}")]
    private static partial void LogStatusUnwritable(ILogger logger, string schema, string reason);
}
