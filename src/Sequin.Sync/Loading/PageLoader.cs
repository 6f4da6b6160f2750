using System.Text;
using Npgsql;
using NpgsqlTypes;
using Sequin.Sources;
using Sequin.Sync.Provisioning;

namespace Sequin.Sync.Loading;

/// <summary>What one committed page did.</summary>
/// <param name="Inserted">Rows that did not exist before.</param>
/// <param name="Updated">Existing rows overwritten (an older or equal version is skipped, not counted).</param>
/// <param name="Deleted">Rows deleted.</param>
/// <param name="Conflict">
/// A direct COPY met an id already in the table: the attempt was rolled back and the page loaded through staging.
/// </param>
internal readonly record struct LoadResult(long Inserted, long Updated, long Deleted, bool Conflict = false);

internal sealed record CursorUpdate(string State, string Cursor, string? LastError, TimeSpan? Lag, DateTimeOffset? SweepBefore = null);

/// <summary>
/// Loads one page into a synced table, in one transaction with the <c>_sync</c> cursor update, so a crash at any
/// moment leaves either the whole page with its cursor or neither (kill -9 safe). Two ways in:
/// <list type="bullet">
/// <item>staged (the general one): binary COPY into a temporary staging table, one
/// <c>INSERT … ON CONFLICT (id) DO UPDATE</c>, the deletes, the cursor;</item>
/// <item>direct (backfills, <c>copyDirect</c>): binary COPY straight into the table, the cursor. Only right when no
/// record of the page is in the table yet; if one is, the COPY fails on the primary key, the transaction is rolled
/// back and the page is loaded again, staged, in a new transaction (<see cref="LoadResult.Conflict"/>).</item>
/// </list>
/// Connections come from a data source whose sessions carry <c>sequin.origin = sync</c>.
/// </summary>
internal static class PageLoader
{
    /// <summary>
    /// Applies a page and its cursor atomically. With <c>versionGuard</c>, records whose version is not newer than the
    /// stored row's are skipped (incremental reads re-read an overlap window); backfills pass false and always
    /// overwrite (a resync must refresh every row). With <c>copyDirect</c> (no deletes, no version guard), the rows
    /// are first tried as plain inserts by a COPY into the table itself.
    /// </summary>
    public static async Task<LoadResult> LoadAsync(NpgsqlDataSource destination, TableModel model, IReadOnlyList<SourceRecord> upserts,
        IReadOnlyList<string> deletes, CursorUpdate cursor, bool versionGuard, CancellationToken cancellationToken, bool copyDirect = false)
    {
        await using var connection = await destination.OpenConnectionAsync(cancellationToken);
        var records = Deduplicate(upserts);
        var columnList = ColumnList(model);
        var conflict = false;
        if (copyDirect && !versionGuard && deletes.Count == 0 && records.Count > 0)
        {
            await using var tx = await connection.BeginTransactionAsync(cancellationToken);
            try
            {
                await CopyAsync(connection, model, $"copy {model.Qualified} ({columnList}) from stdin (format binary)", records, cancellationToken);
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
            {
                // Some record is already in the table (a resync, a re-read after a restart, a write through the proxy):
                // nothing of this attempt stays; load the page the general way below.
                await tx.RollbackAsync(cancellationToken);
                conflict = true;
            }

            if (!conflict)
            {
                var dropped = await DropTombstonedAsync(connection, model, cancellationToken);
                var swept = await FinishAsync(connection, model, cursor, records.Count, dropped, cancellationToken);
                await tx.CommitAsync(cancellationToken);
                return new LoadResult(records.Count, 0, dropped + swept);
            }
        }

        await using (var tx = await connection.BeginTransactionAsync(cancellationToken))
        {
            long inserted = 0, updated = 0, deleted = 0;
            if (records.Count > 0)
            {
                await using (var stage = new NpgsqlCommand(
                    $"create temp table _sequin_stage on commit drop as select {columnList} from {model.Qualified} with no data", connection, tx))
                {
                    await stage.ExecuteNonQueryAsync(cancellationToken);
                }

                await CopyAsync(connection, model, $"copy _sequin_stage ({columnList}) from stdin (format binary)", records, cancellationToken);
                var set = new StringBuilder();
                foreach (var c in model.Columns)
                {
                    var q = Naming.Quote(c.Name);
                    set.Append(q).Append(" = excluded.").Append(q).Append(", ");
                }

                set.Append("_sync_updated_at = now()");
                var guard = versionGuard && model.VersionColumn is { } v
                    ? $" where t.{Naming.Quote(v.Name)} is null or excluded.{Naming.Quote(v.Name)} > t.{Naming.Quote(v.Name)}"
                    : "";
                await using var upsert = new NpgsqlCommand($"""
                    with up as (
                        insert into {model.Qualified} as t ({columnList})
                        select {columnList} from _sequin_stage
                        on conflict (id) do update set {set}{guard}
                        returning (xmax = 0) as inserted)
                    select count(*) filter (where inserted), count(*) filter (where not inserted) from up
                    """, connection, tx);
                await using (var reader = await upsert.ExecuteReaderAsync(cancellationToken))
                {
                    await reader.ReadAsync(cancellationToken);
                    inserted = reader.GetInt64(0);
                    updated = reader.GetInt64(1);
                }

                deleted += await DropTombstonedAsync(connection, model, cancellationToken);
            }

            if (deletes.Count > 0)
            {
                await using var delete = new NpgsqlCommand(
                    $"with d as (delete from {model.Qualified} where id = any($1) returning 1) select count(*) from d", connection, tx);
                delete.Parameters.AddWithValue(deletes.Distinct(StringComparer.Ordinal).ToArray());
                deleted += (long)(await delete.ExecuteScalarAsync(cancellationToken))!;
            }

            deleted += await FinishAsync(connection, model, cursor, inserted, deleted, cancellationToken);
            await tx.CommitAsync(cancellationToken);
            return new LoadResult(inserted, updated, deleted, conflict);
        }
    }

    private static string ColumnList(TableModel model)
    {
        var columnList = new StringBuilder("id");
        foreach (var c in model.Columns)
        {
            columnList.Append(", ").Append(Naming.Quote(c.Name));
        }

        return columnList.ToString();
    }

    /// <summary>Binary COPY of the records (id, then the model's columns).</summary>
    private static Task CopyAsync(NpgsqlConnection connection, TableModel model, string copySql, IReadOnlyList<SourceRecord> records,
        CancellationToken cancellationToken) =>
        BinaryCopy.WriteAsync(connection, copySql, records, [.. model.Columns.Select(c => c.Field.Kind)], cancellationToken);

    /// <summary>
    /// Deletes the rows a DELETE through the proxy removed while this load's records were being read: a row of the table
    /// with a tombstone in <c>_sequin.tombstone</c> (written by the capture function in the delete's transaction) and a
    /// version not newer than the tombstone's time — the record as it was before the delete, read by a poll or a
    /// backfill page that raced it. A record restored upstream afterwards (Salesforce undelete) carries a newer
    /// <c>SystemModstamp</c> and stays. Without a version column every tombstoned row goes. Returns the rows deleted;
    /// costs one index probe while the tombstone table is empty.
    /// </summary>
    private static async Task<long> DropTombstonedAsync(NpgsqlConnection connection, TableModel model, CancellationToken cancellationToken)
    {
        var notNewer = model.VersionColumn is { } v
            ? $" and (t.{Naming.Quote(v.Name)} is null or t.{Naming.Quote(v.Name)} <= b.deleted_at)"
            : "";
        await using var drop = new NpgsqlCommand($"""
            with d as (delete from {model.Qualified} t using _sequin.tombstone b
                       where b.table_oid = $1::regclass and b.id = t.id and b.deleted_at > now() - interval '1 hour'{notNewer} returning 1)
            select count(*) from d
            """, connection);
        drop.Parameters.AddWithValue(model.Qualified);
        return (long)(await drop.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>The end-of-backfill sweep and the cursor/status update of a page (returns the rows swept).</summary>
    private static async Task<long> FinishAsync(NpgsqlConnection connection, TableModel model, CursorUpdate cursor, long inserted, long deleted,
        CancellationToken cancellationToken)
    {
        long swept = 0;
        if (cursor.SweepBefore is { } sweepBefore)
        {
            await using var sweep = new NpgsqlCommand(
                $"with d as (delete from {model.Qualified} where _sync_updated_at < $1 returning 1) select count(*) from d", connection);
            sweep.Parameters.AddWithValue(sweepBefore);
            swept = (long)(await sweep.ExecuteScalarAsync(cancellationToken))!;
        }

        await using var status = new NpgsqlCommand($"""
            update {Naming.Qualified(model.Schema, "_sync")}
            set cursor = $2, state = $3, rows = greatest(0, rows + $4), last_success_at = now(), lag = $5,
                last_error = $6, last_error_at = case when $6::text is null then last_error_at else now() end, updated_at = now(),
                backfill_started_at = case when $3 = 'live' then null else backfill_started_at end
            where table_name = $1
            """, connection);
        status.Parameters.AddWithValue(model.Table);
        status.Parameters.AddWithValue(cursor.Cursor);
        status.Parameters.AddWithValue(cursor.State);
        status.Parameters.AddWithValue(inserted - deleted - swept);
        status.Parameters.AddWithValue(NpgsqlDbType.Interval, (object?)cursor.Lag ?? DBNull.Value);
        status.Parameters.AddWithValue(NpgsqlDbType.Text, (object?)cursor.LastError ?? DBNull.Value);
        if (await status.ExecuteNonQueryAsync(cancellationToken) != 1)
        {
            throw new InvalidOperationException($"{model.Schema}._sync has no row for {model.Table}: the table was not provisioned");
        }

        return swept;
    }

    /// <summary>Keeps the last occurrence of each id (one upsert cannot touch a row twice).</summary>
    private static IReadOnlyList<SourceRecord> Deduplicate(IReadOnlyList<SourceRecord> records)
    {
        if (records.Count < 2)
        {
            return records;
        }

        var seen = new HashSet<string>(records.Count, StringComparer.Ordinal);
        var duplicate = false;
        foreach (var r in records)
        {
            if (!seen.Add(r.Id))
            {
                duplicate = true;
                break;
            }
        }

        if (!duplicate)
        {
            return records;
        }

        var last = new Dictionary<string, SourceRecord>(StringComparer.Ordinal);
        foreach (var r in records)
        {
            last[r.Id] = r;
        }

        return [.. last.Values];
    }
}
