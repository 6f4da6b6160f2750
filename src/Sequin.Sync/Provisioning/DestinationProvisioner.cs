using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Sequin.Sync.Provisioning;

/// <summary>What provisioning changed on a table; the engine re-backfills the table when values must be refilled.</summary>
/// <param name="Created">The table was created.</param>
/// <param name="NeedsResync">Columns were added or changed type: existing rows need their values re-read.</param>
/// <param name="Changes">Human-readable list of changes, for the log.</param>
internal sealed record ProvisionResult(bool Created, bool NeedsResync, IReadOnlyList<string> Changes);

/// <summary>
/// A schema change the destination refuses: a column to drop or retype has dependent objects (a user's view). Nothing
/// of the table's change was applied and no row was touched; the message says what to do.
/// </summary>
internal sealed class SchemaChangeBlockedException(string message, Exception inner) : Exception(message, inner);

/// <summary>
/// Creates and evolves the destination side of a sync exactly as ADR 0007 defines it: the <c>_sequin</c> schema with
/// the capture function and role helpers, the <c>sequin_sync</c> role, the sync's schema with its <c>_sync</c> status
/// table, and each synced table with comments, reference indexes and capture triggers. Idempotent; every statement
/// is safe to re-run, so a host that dies half-way is repaired by the next run.
/// </summary>
internal sealed partial class DestinationProvisioner(ILogger<DestinationProvisioner> logger)
{
    /// <summary>Cluster-wide NOLOGIN role whose members' writes are not captured (ADR 0007).</summary>
    public const string SyncRole = "sequin_sync";


    /// <summary>
    /// Installs <c>_sequin</c> (capture function, grant helpers) and the <c>sequin_sync</c> role, makes the current login
    /// role a member of it when it may, and creates the sync's schema with its <c>_sync</c> status table.
    /// </summary>
    public async Task EnsureSchemaAsync(NpgsqlConnection connection, string schema, CancellationToken cancellationToken)
    {
        // Two hosts provisioning one destination at once would race on "create or replace function": serialise.
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        await ExecuteAsync(connection, "select pg_advisory_xact_lock(hashtext('sequin.provision'))", cancellationToken);
        await ExecuteAsync(connection, CaptureSql.Install, cancellationToken);
        await ExecuteAsync(connection, $"""
            create schema if not exists {Naming.Quote(schema)};
            create table if not exists {Naming.Qualified(schema, "_sync")} (
                table_name       text primary key,
                object_name      text not null,
                state            text not null default 'backfilling',
                cursor           text,
                backfill_started_at timestamptz,
                rows             bigint not null default 0,
                last_success_at  timestamptz,
                lag              interval,
                last_error       text,
                last_error_at    timestamptz,
                updated_at       timestamptz not null default now()
            );
            comment on table {Naming.Qualified(schema, "_sync")} is 'Sequin sync status: one row per synced table (state: backfilling, live, paused, error; cursor: where the next read starts; lag: how far behind upstream the table was at last_success_at).';
            """, cancellationToken);
        await tx.CommitAsync(cancellationToken);

        // Membership makes this login role's writes invisible to capture (together with sequin.origin = 'sync').
        await using var check = new NpgsqlCommand("select pg_has_role(session_user, 'sequin_sync', 'member')", connection);
        if (await check.ExecuteScalarAsync(cancellationToken) is not true)
        {
            try
            {
                await ExecuteAsync(connection, "grant sequin_sync to session_user", cancellationToken);
            }
            catch (PostgresException e)
            {
                LogNotMember(logger, e.MessageText);
            }
        }
    }

    /// <summary>
    /// Creates or evolves one synced table: adds newly selected columns, drops deselected ones, changes types (a
    /// failing cast drops and re-adds the column and asks for a resync; rows are never dropped), and (re)installs
    /// comments, reference indexes, capture triggers and the table's <c>_sync</c> row. Throws
    /// <see cref="SchemaChangeBlockedException"/>, having changed nothing, when a column to drop or retype has dependent objects.
    /// </summary>
    /// <remarks>
    /// With <paramref name="deferIndexes"/> the reference indexes are left out: a table about to be backfilled loads
    /// faster without them, and <see cref="EnsureIndexesAsync"/> builds them once the backfill is done.
    /// </remarks>
    public async Task<ProvisionResult> EnsureTableAsync(NpgsqlConnection connection, TableModel model, CancellationToken cancellationToken,
        bool deferIndexes = false)
    {
        var changes = new List<string>();
        var needsResync = false;
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        await ExecuteAsync(connection, "select pg_advisory_xact_lock(hashtext('sequin.provision'))", cancellationToken);
        var existing = await ReadColumnsAsync(connection, model.Schema, model.Table, cancellationToken);
        var created = existing is null;
        if (existing is null)
        {
            var sql = new StringBuilder();
            sql.Append("create table ").Append(model.Qualified).Append(" (\n  id text primary key default ('_sequin_tmp_' || gen_random_uuid())");
            foreach (var column in model.Columns)
            {
                sql.Append(",\n  ").Append(Naming.Quote(column.Name)).Append(' ').Append(column.SqlType);
            }

            sql.Append(",\n  _sync_inserted_at timestamptz not null default now(),\n  _sync_updated_at timestamptz not null default now()\n)");
            await ExecuteAsync(connection, sql.ToString(), cancellationToken);
            changes.Add("created");
        }
        else
        {
            var wanted = model.Columns.ToDictionary(c => c.Name, StringComparer.Ordinal);
            foreach (var (name, current) in existing)
            {
                if (name is "id" or "_sync_inserted_at" or "_sync_updated_at" || current.Field is null || wanted.ContainsKey(name))
                {
                    continue;
                }

                try
                {
                    await ExecuteAsync(connection, $"alter table {model.Qualified} drop column {Naming.Quote(name)}", cancellationToken);
                }
                catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.DependentObjectsStillExist)
                {
                    throw Blocked($"{current.Field} is no longer synced, but column {name} cannot be dropped", e);
                }

                changes.Add($"dropped {name}");
            }

            foreach (var column in model.Columns)
            {
                if (!existing.TryGetValue(column.Name, out var current))
                {
                    await ExecuteAsync(connection, $"alter table {model.Qualified} add column {Naming.Quote(column.Name)} {column.SqlType}", cancellationToken);
                    changes.Add($"added {column.Name} {column.SqlType}");
                    needsResync = true;
                }
                else if (!string.Equals(current.SqlType, column.SqlType, StringComparison.Ordinal))
                {
                    await ExecuteAsync(connection, "savepoint sequin_retype", cancellationToken);
                    try
                    {
                        var q = Naming.Quote(column.Name);
                        await ExecuteAsync(connection,
                            $"alter table {model.Qualified} alter column {q} type {column.SqlType} using {CastExpression(q, current.SqlType, column.SqlType)}",
                            cancellationToken);
                        await ExecuteAsync(connection, "release savepoint sequin_retype", cancellationToken);
                        changes.Add($"retyped {column.Name} {current.SqlType} -> {column.SqlType}");
                    }
                    catch (PostgresException e)
                    {
                        // The old values do not cast: keep every row, re-create the column empty, and re-read the values.
                        await ExecuteAsync(connection, "rollback to savepoint sequin_retype", cancellationToken);
                        try
                        {
                            await ExecuteAsync(connection, $"alter table {model.Qualified} drop column {Naming.Quote(column.Name)}", cancellationToken);
                        }
                        catch (PostgresException drop) when (drop.SqlState == PostgresErrorCodes.DependentObjectsStillExist)
                        {
                            throw Blocked($"{column.Field.Name} changed type upstream ({current.SqlType} -> {column.SqlType}), but column {column.Name} " +
                                $"cannot be changed ({e.MessageText})", drop);
                        }

                        await ExecuteAsync(connection, $"alter table {model.Qualified} add column {Naming.Quote(column.Name)} {column.SqlType}", cancellationToken);
                        changes.Add($"re-created {column.Name} as {column.SqlType} ({e.MessageText})");
                    }

                    needsResync = true;
                }
            }
        }

        var ddl = new StringBuilder();
        ddl.Append("comment on table ").Append(model.Qualified).Append(" is ").Append(Literal(JsonSerializer.Serialize(new
        {
            sequin = new { @object = model.Object, source = model.Source, sync_id = model.SyncId },
        }))).Append(";\n");
        foreach (var column in model.Columns)
        {
            ddl.Append("comment on column ").Append(model.Qualified).Append('.').Append(Naming.Quote(column.Name)).Append(" is ")
                .Append(Literal(JsonSerializer.Serialize(new { sequin = new { field = column.Field.Name, type = column.Field.SourceType } }))).Append(";\n");
        }

        if (!deferIndexes)
        {
            ddl.Append(IndexSql(model));
        }

        ddl.Append(CaptureSql.Triggers(model.Qualified));
        await ExecuteAsync(connection, ddl.ToString(), cancellationToken);

        await using (var status = new NpgsqlCommand($"""
            insert into {Naming.Qualified(model.Schema, "_sync")} (table_name, object_name, state, rows)
            values ($1, $2, 'backfilling', (select count(*) from {model.Qualified}))
            on conflict (table_name) do nothing
            """, connection))
        {
            status.Parameters.AddWithValue(model.Table);
            status.Parameters.AddWithValue(model.Object);
            await status.ExecuteNonQueryAsync(cancellationToken);
        }

        await tx.CommitAsync(cancellationToken);
        if (changes.Count > 0)
        {
            LogTableChanged(logger, model.Schema, model.Table, string.Join("; ", changes));
        }

        return new ProvisionResult(created, needsResync && !created, changes);
    }

    /// <summary>Creates the index on every reference column (idempotent).</summary>
    public static async Task EnsureIndexesAsync(NpgsqlConnection connection, TableModel model, CancellationToken cancellationToken)
    {
        var sql = IndexSql(model);
        if (sql.Length > 0)
        {
            await ExecuteAsync(connection, sql, cancellationToken);
        }
    }

    private static string IndexSql(TableModel model)
    {
        var sql = new StringBuilder();
        foreach (var column in model.Columns.Where(c => c.Field.IsReference))
        {
            sql.Append("create index if not exists ").Append(Naming.Quote(Naming.Limit($"{model.Table}_{column.Name}_idx")))
                .Append(" on ").Append(model.Qualified).Append(" (").Append(Naming.Quote(column.Name)).Append(");\n");
        }

        return sql.ToString();
    }

    /// <summary>Field → column of a table from its column comments (null when the table does not exist).</summary>
    public static async Task<IReadOnlyDictionary<string, string>?> ReadFieldColumnsAsync(NpgsqlConnection connection, string schema, string table,
        CancellationToken cancellationToken)
    {
        var columns = await ReadColumnsAsync(connection, schema, table, cancellationToken);
        return columns?.Where(c => c.Value.Field is not null).ToDictionary(c => c.Value.Field!, c => c.Key, StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>Drops a sync's schema with every synced table and its status (delete-sync).</summary>
    public static async Task DropSchemaAsync(NpgsqlConnection connection, string schema, CancellationToken cancellationToken) =>
        await ExecuteAsync(connection, $"drop schema if exists {Naming.Quote(schema)} cascade", cancellationToken);

    private static async Task<Dictionary<string, (string SqlType, string? Field)>?> ReadColumnsAsync(NpgsqlConnection connection, string schema,
        string table, CancellationToken cancellationToken)
    {
        await using var cmd = new NpgsqlCommand("""
            select a.attname, format_type(a.atttypid, a.atttypmod), col_description(a.attrelid, a.attnum)
            from pg_attribute a
            where a.attrelid = to_regclass(format('%I.%I', $1::text, $2::text)) and a.attnum > 0 and not a.attisdropped
            order by a.attnum
            """, connection);
        cmd.Parameters.AddWithValue(schema);
        cmd.Parameters.AddWithValue(table);
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
        var result = new Dictionary<string, (string, string?)>(StringComparer.Ordinal);
        while (await reader.ReadAsync(cancellationToken))
        {
            string? field = null;
            if (!reader.IsDBNull(2))
            {
                try
                {
                    using var doc = JsonDocument.Parse(reader.GetString(2));
                    field = doc.RootElement.TryGetProperty("sequin", out var s) && s.TryGetProperty("field", out var f) ? f.GetString() : null;
                }
                catch (JsonException)
                {
                }
            }

            result[reader.GetString(0)] = (reader.GetString(1), field);
        }

        if (result.Count == 0)
        {
            return null;
        }

        return result;
    }

    private static SchemaChangeBlockedException Blocked(string what, PostgresException e) => new(
        $"schema change not applied: {what}: {e.MessageText}. Drop or change the objects that depend on it (such as views); " +
        "the table resumes by itself at the next schema check, and its rows are kept meanwhile", e);

    private static string CastExpression(string quotedColumn, string fromType, string toType) => (fromType, toType) switch
    {
        // A multipicklist that became text (or back) keeps its values, joined/split on ';' as Salesforce does.
        ("text[]", "text") => $"array_to_string({quotedColumn}, ';')",
        ("text", "text[]") => $"string_to_array({quotedColumn}, ';')",
        (_, "jsonb") => $"to_jsonb({quotedColumn})",
        _ => $"{quotedColumn}::{toType}",
    };

    private static string Literal(string text) => "'" + text.Replace("'", "''", StringComparison.Ordinal) + "'";

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var cmd = new NpgsqlCommand(sql, connection);
        await cmd.ExecuteNonQueryAsync(cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The sync login role is not a member of sequin_sync and cannot be made one ({Reason}); its writes will be refused by the capture triggers")]
    private static partial void LogNotMember(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Provisioned {Schema}.{Table}: {Changes}")]
    private static partial void LogTableChanged(ILogger logger, string schema, string table, string changes);
}
