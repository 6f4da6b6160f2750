using System.Text;
using Npgsql;
using Sequin.Sources;
using Sequin.Sync.Provisioning;

namespace Sequin.Sync.Loading;

/// <summary>What one committed page did.</summary>
/// <param name="Inserted">Rows that did not exist before.</param>
/// <param name="Updated">Existing rows overwritten (an older or equal version is skipped, not counted).</param>
/// <param name="Deleted">Rows deleted.</param>
internal readonly record struct LoadResult(long Inserted, long Updated, long Deleted);

/// <summary>The cursor and status written with a page, in the same transaction.</summary>
/// <param name="State">New <c>_sync.state</c> (<c>backfilling</c> or <c>live</c>).</param>
/// <param name="Cursor">Connector cursor after the page (JSON, opaque).</param>
/// <param name="LastError">Non-fatal problem to show (value misfits), or null to clear the last error.</param>
/// <param name="Lag">How far behind upstream the table is after this page.</param>
/// <param name="SweepBefore">
/// At the end of a (re)backfill: delete rows not written since this time (they no longer exist upstream).
/// </param>
internal sealed record CursorUpdate(string State, string Cursor, string? LastError, TimeSpan? Lag, DateTimeOffset? SweepBefore = null);

/// <summary>
/// Loads one page into a synced table: binary COPY into a temporary staging table, one
/// <c>INSERT … ON CONFLICT (id) DO UPDATE</c>, the deletes, and the <c>_sync</c> cursor update — all in one transaction,
/// so a crash at any moment leaves either the whole page with its cursor or neither (kill -9 safe).
/// Connections come from a data source whose sessions carry <c>sequin.origin = sync</c>.
/// </summary>
internal static class PageLoader
{
    /// <summary>
    /// Applies a page and its cursor atomically. With <c>versionGuard</c>, records whose version is not newer than the
    /// stored row's are skipped (incremental reads re-read an overlap window); backfills pass false and always
    /// overwrite (a resync must refresh every row).
    /// </summary>
    public static async Task<LoadResult> LoadAsync(NpgsqlDataSource destination, TableModel model, IReadOnlyList<SourceRecord> upserts,
        IReadOnlyList<string> deletes, CursorUpdate cursor, bool versionGuard, CancellationToken cancellationToken)
    {
        await using var connection = await destination.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        long inserted = 0, updated = 0, deleted = 0;
        var records = Deduplicate(upserts);
        if (records.Count > 0)
        {
            var columnList = new StringBuilder("id");
            foreach (var c in model.Columns)
            {
                columnList.Append(", ").Append(Naming.Quote(c.Name));
            }

            await using (var stage = new NpgsqlCommand(
                $"create temp table _sequin_stage on commit drop as select {columnList} from {model.Qualified} with no data", connection, tx))
            {
                await stage.ExecuteNonQueryAsync(cancellationToken);
            }

            var types = model.Columns.Select(c => PgTypes.DbType(c.Field.Kind)).ToArray();
            await using (var importer = await connection.BeginBinaryImportAsync($"copy _sequin_stage ({columnList}) from stdin (format binary)", cancellationToken))
            {
                foreach (var record in records)
                {
                    await importer.StartRowAsync(cancellationToken);
                    await importer.WriteAsync(record.Id, NpgsqlTypes.NpgsqlDbType.Text, cancellationToken);
                    var values = record.Values;
                    for (var i = 0; i < types.Length; i++)
                    {
                        var value = i < values.Length ? values[i] : null;
                        if (value is null)
                        {
                            await importer.WriteNullAsync(cancellationToken);
                        }
                        else
                        {
                            await importer.WriteAsync(value, types[i], cancellationToken);
                        }
                    }
                }

                await importer.CompleteAsync(cancellationToken);
            }

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
            await using var reader = await upsert.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            inserted = reader.GetInt64(0);
            updated = reader.GetInt64(1);
        }

        if (deletes.Count > 0)
        {
            await using var delete = new NpgsqlCommand(
                $"with d as (delete from {model.Qualified} where id = any($1) returning 1) select count(*) from d", connection, tx);
            delete.Parameters.AddWithValue(deletes.Distinct(StringComparer.Ordinal).ToArray());
            deleted += (long)(await delete.ExecuteScalarAsync(cancellationToken))!;
        }

        if (cursor.SweepBefore is { } sweepBefore)
        {
            await using var sweep = new NpgsqlCommand(
                $"with d as (delete from {model.Qualified} where _sync_updated_at < $1 returning 1) select count(*) from d", connection, tx);
            sweep.Parameters.AddWithValue(sweepBefore);
            deleted += (long)(await sweep.ExecuteScalarAsync(cancellationToken))!;
        }

        await using (var status = new NpgsqlCommand($"""
            update {Naming.Qualified(model.Schema, "_sync")}
            set cursor = $2, state = $3, rows = greatest(0, rows + $4), last_success_at = now(), lag = $5,
                last_error = $6, last_error_at = case when $6::text is null then last_error_at else now() end, updated_at = now(),
                backfill_started_at = case when $3 = 'live' then null else backfill_started_at end
            where table_name = $1
            """, connection, tx))
        {
            status.Parameters.AddWithValue(model.Table);
            status.Parameters.AddWithValue(cursor.Cursor);
            status.Parameters.AddWithValue(cursor.State);
            status.Parameters.AddWithValue(inserted - deleted);
            status.Parameters.AddWithValue(NpgsqlTypes.NpgsqlDbType.Interval, (object?)cursor.Lag ?? DBNull.Value);
            status.Parameters.AddWithValue(NpgsqlTypes.NpgsqlDbType.Text, (object?)cursor.LastError ?? DBNull.Value);
            if (await status.ExecuteNonQueryAsync(cancellationToken) != 1)
            {
                throw new InvalidOperationException($"{model.Schema}._sync has no row for {model.Table}: the table was not provisioned");
            }
        }

        await tx.CommitAsync(cancellationToken);
        return new LoadResult(inserted, updated, deleted);
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
