using System.Text.Json;
using Npgsql;
using Sequin.Platform.Database;
using Sequin.Platform.Security;
using Sequin.Sources;

namespace Sequin.Sync.Engine;

/// <summary>A sync as the job runs it: its connection, destination and tables (secrets decrypted).</summary>
internal sealed record SyncSpec(Guid Id, Guid OrgId, string? Name, string Schema, string State, int PollIntervalMs,
    Guid ConnectionId, string SourceKind, SourceCredentials Credentials, double? RequestsPerSecond, double? DailyShare,
    string DestinationConnectionString, IReadOnlyList<SyncTableSpec> Tables);

/// <summary>One selected object of a sync.</summary>
internal sealed record SyncTableSpec(Guid Id, string ObjectName, string TableName, string[]? SelectedFields, DateTimeOffset? ResyncRequestedAt);

/// <summary>The operator-controlled part of a sync, re-read by the running job every poll.</summary>
internal sealed record SyncControl(string State, string SelectionKey, IReadOnlyDictionary<Guid, DateTimeOffset> ResyncRequests);

/// <summary>
/// The sync engine's access to the platform database (syncs, sync_tables, sync_columns, source_connections,
/// destinations). Plain SQL: the job polls it every second, so it must stay cheap.
/// </summary>
internal sealed class SyncStore(PlatformDatabase platform, ISecretProtector secrets)
{
    private NpgsqlDataSource DataSource => platform.DataSource;

    /// <summary>Creates a sync from a definition, or returns the existing one with that name (idempotent).</summary>
    public async Task<Guid> CreateAsync(SyncDefinition definition, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(definition.Name);
        if (definition.Source != "salesforce")
        {
            throw new ArgumentException($"unsupported source '{definition.Source}' (supported: salesforce)", nameof(definition));
        }

        if (definition.Objects.Count == 0)
        {
            throw new ArgumentException("a sync needs at least one object", nameof(definition));
        }

        if (definition.Credentials.GetValueOrDefault("instance_url") is not { Length: > 0 })
        {
            throw new ArgumentException("credentials need instance_url (and access_token or refresh_token)", nameof(definition));
        }

        var destination = new NpgsqlConnectionStringBuilder(definition.Destination);
        if (string.IsNullOrEmpty(destination.Host) || string.IsNullOrEmpty(destination.Database) || string.IsNullOrEmpty(destination.Username))
        {
            throw new ArgumentException("the destination connection string needs Host, Database and Username", nameof(definition));
        }

        var schema = definition.Schema ?? definition.Source;
        if (!System.Text.RegularExpressions.Regex.IsMatch(schema, "^[a-z_][a-z0-9_]{0,62}$"))
        {
            throw new ArgumentException($"schema '{schema}' must match ^[a-z_][a-z0-9_]{{0,62}}$", nameof(definition));
        }

        await using var connection = await DataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        await using (var lockCmd = new NpgsqlCommand("select pg_advisory_xact_lock(hashtext('sequin.sync.create'))", connection, tx))
        {
            await lockCmd.ExecuteNonQueryAsync(cancellationToken);
        }

        var orgId = await ScalarAsync<Guid?>(connection, tx, "select id from organizations where slug = $1", cancellationToken, definition.Organization);
        if (orgId is null)
        {
            orgId = Guid.CreateVersion7();
            await ExecuteAsync(connection, tx, "insert into organizations (id, name, slug) values ($1, $2, $3)", cancellationToken,
                orgId.Value, definition.Organization, definition.Organization);
        }

        var existing = await ScalarAsync<Guid?>(connection, tx, "select id from syncs where org_id = $1 and name = $2", cancellationToken, orgId.Value, definition.Name);
        if (existing is { } found)
        {
            await tx.CommitAsync(cancellationToken);
            return found;
        }

        var connectionId = Guid.CreateVersion7();
        await ExecuteAsync(connection, tx, """
            insert into source_connections (id, org_id, kind, name, instance_url, credentials_protected, requests_per_second, daily_share)
            values ($1, $2, $3, $4, $5, $6, $7, $8)
            """, cancellationToken, connectionId, orgId.Value, definition.Source, definition.Name, definition.Credentials["instance_url"],
            ProtectCredentials(new SourceCredentials(definition.Credentials)), (object?)definition.RequestsPerSecond ?? DBNull.Value,
            (object?)definition.DailyShare ?? DBNull.Value);
        var destinationId = Guid.CreateVersion7();
        await ExecuteAsync(connection, tx, """
            insert into destinations (id, org_id, kind, host, port, database_name, username, password_protected, ssl_mode)
            values ($1, $2, 'external', $3, $4, $5, $6, $7, $8)
            """, cancellationToken, destinationId, orgId.Value, destination.Host!, destination.Port, destination.Database!, destination.Username!,
            destination.Password is { Length: > 0 } p ? secrets.Protect(SecretPurposes.DestinationPassword, p) : DBNull.Value,
            destination.SslMode.ToString().ToLowerInvariant());
        var syncId = Guid.CreateVersion7();
        await ExecuteAsync(connection, tx, """
            insert into syncs (id, org_id, connection_id, destination_id, schema_name, state, poll_interval_ms, name)
            values ($1, $2, $3, $4, $5, 'backfilling', $6, $7)
            """, cancellationToken, syncId, orgId.Value, connectionId, destinationId, schema, Math.Max(100, definition.PollIntervalMs), definition.Name);
        var tables = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in definition.Objects)
        {
            var (objectName, fields) = ParseObject(entry);
            var table = Naming.SnakeCase(objectName);
            if (!tables.Add(table))
            {
                throw new ArgumentException($"object '{objectName}' is listed twice", nameof(definition));
            }

            await ExecuteAsync(connection, tx, """
                insert into sync_tables (id, sync_id, org_id, object_name, table_name, state, selected_fields)
                values ($1, $2, $3, $4, $5, 'pending', $6)
                """, cancellationToken, Guid.CreateVersion7(), syncId, orgId.Value, objectName, table, (object?)fields ?? DBNull.Value);
        }

        await tx.CommitAsync(cancellationToken);
        return syncId;
    }

    /// <summary>Every sync id (also those being deleted: their job finishes the deletion).</summary>
    public async Task<IReadOnlyList<Guid>> ListIdsAsync(CancellationToken cancellationToken)
    {
        await using var cmd = DataSource.CreateCommand("select id from syncs order by created_at");
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
        var ids = new List<Guid>();
        while (await reader.ReadAsync(cancellationToken))
        {
            ids.Add(reader.GetGuid(0));
        }

        return ids;
    }

    /// <summary>The sync id of a name in an organization (slug), or null.</summary>
    public async Task<Guid?> FindAsync(string name, string organization, CancellationToken cancellationToken)
    {
        await using var connection = await DataSource.OpenConnectionAsync(cancellationToken);
        return await ScalarAsync<Guid?>(connection, null,
            "select s.id from syncs s join organizations o on o.id = s.org_id where o.slug = $1 and s.name = $2", cancellationToken, organization, name);
    }

    /// <summary>Loads a sync with decrypted secrets; null when it no longer exists.</summary>
    public async Task<SyncSpec?> LoadAsync(Guid syncId, CancellationToken cancellationToken)
    {
        await using var connection = await DataSource.OpenConnectionAsync(cancellationToken);
        await using var cmd = new NpgsqlCommand("""
            select s.org_id, s.name, s.schema_name, s.state, s.poll_interval_ms, c.id, c.kind, c.credentials_protected,
                   c.requests_per_second, c.daily_share, d.host, d.port, d.database_name, d.username, d.password_protected, d.ssl_mode
            from syncs s join source_connections c on c.id = s.connection_id join destinations d on d.id = s.destination_id
            where s.id = $1
            """, connection);
        cmd.Parameters.AddWithValue(syncId);
        SyncSpec spec;
        await using (var reader = await cmd.ExecuteReaderAsync(cancellationToken))
        {
            if (!await reader.ReadAsync(cancellationToken))
            {
                return null;
            }

            var credentials = reader.IsDBNull(7) ? new SourceCredentials(new Dictionary<string, string>()) : UnprotectCredentials(reader.GetString(7));
            var destination = new NpgsqlConnectionStringBuilder
            {
                Host = reader.GetString(10),
                Port = reader.GetInt32(11),
                Database = reader.GetString(12),
                Username = reader.GetString(13),
                Password = reader.IsDBNull(14) ? null : secrets.Unprotect(SecretPurposes.DestinationPassword, reader.GetString(14)),
                SslMode = Enum.TryParse<SslMode>(reader.GetString(15), ignoreCase: true, out var ssl) ? ssl : SslMode.Prefer,
            };
            spec = new SyncSpec(syncId, reader.GetGuid(0), reader.IsDBNull(1) ? null : reader.GetString(1), reader.GetString(2), reader.GetString(3),
                reader.GetInt32(4), reader.GetGuid(5), reader.GetString(6), credentials,
                reader.IsDBNull(8) ? null : reader.GetDouble(8), reader.IsDBNull(9) ? null : reader.GetDouble(9),
                destination.ConnectionString, []);
        }

        await using var tables = new NpgsqlCommand("""
            select id, object_name, table_name, selected_fields, resync_requested_at from sync_tables where sync_id = $1 order by object_name
            """, connection);
        tables.Parameters.AddWithValue(syncId);
        var list = new List<SyncTableSpec>();
        await using (var reader = await tables.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                list.Add(new SyncTableSpec(reader.GetGuid(0), reader.GetString(1), reader.GetString(2),
                    reader.IsDBNull(3) ? null : reader.GetFieldValue<string[]>(3),
                    reader.IsDBNull(4) ? null : reader.GetFieldValue<DateTimeOffset>(4)));
            }
        }

        return spec with { Tables = list };
    }

    /// <summary>State, selection fingerprint and resync requests of a sync; null when it was deleted.</summary>
    public async Task<SyncControl?> LoadControlAsync(Guid syncId, CancellationToken cancellationToken)
    {
        await using var cmd = DataSource.CreateCommand("""
            select s.state,
                   coalesce((select string_agg(t.object_name || ':' || coalesce(array_to_string(t.selected_fields, ','), '*'), ';' order by t.object_name)
                             from sync_tables t where t.sync_id = s.id), ''),
                   coalesce((select jsonb_object_agg(t.id, t.resync_requested_at) from sync_tables t
                             where t.sync_id = s.id and t.resync_requested_at is not null), '{}'::jsonb)::text
            from syncs s where s.id = $1
            """);
        cmd.Parameters.AddWithValue(syncId);
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        var requests = JsonSerializer.Deserialize<Dictionary<Guid, DateTimeOffset>>(reader.GetString(2)) ?? [];
        return new SyncControl(reader.GetString(0), reader.GetString(1), requests);
    }

    /// <summary>Sets the sync's state and last error (also clears it).</summary>
    public Task SetStateAsync(Guid syncId, string state, string? lastError, CancellationToken cancellationToken) =>
        ExecuteAsync("update syncs set state = $2, last_error = $3, updated_at = now() where id = $1 and state not in ('paused', 'deleting')",
            cancellationToken, syncId, state, (object?)lastError ?? DBNull.Value);

    /// <summary>Mirrors a table's progress into <c>sync_tables</c> (best effort; the destination's <c>_sync</c> is the truth).</summary>
    public Task UpdateTableAsync(Guid tableId, string state, long? rows, string? lastError, CancellationToken cancellationToken) =>
        ExecuteAsync("""
            update sync_tables set state = $2, rows_done = coalesce($3, rows_done), last_error = $4,
                   last_synced_at = case when $4::text is null then now() else last_synced_at end
            where id = $1
            """, cancellationToken, tableId, state, (object?)rows ?? DBNull.Value, (object?)lastError ?? DBNull.Value);

    /// <summary>Records the estimated row count of a table at the start of a backfill (progress = rows / estimate).</summary>
    public Task SetEstimateAsync(Guid tableId, long? estimate, CancellationToken cancellationToken) =>
        ExecuteAsync("update sync_tables set rows_estimated = $2 where id = $1", cancellationToken, tableId, (object?)estimate ?? DBNull.Value);

    /// <summary>Records the connection's daily API usage as the source reported it.</summary>
    public Task SetApiUsageAsync(Guid connectionId, ApiUsage usage, CancellationToken cancellationToken) =>
        ExecuteAsync("update source_connections set api_used = $2, api_max = $3, api_usage_at = now() where id = $1",
            cancellationToken, connectionId, usage.Used, usage.Max);

    /// <summary>Clears a resync request the job has acted on (unless a newer one arrived).</summary>
    public Task ClearResyncAsync(Guid tableId, DateTimeOffset requestedAt, CancellationToken cancellationToken) =>
        ExecuteAsync("update sync_tables set resync_requested_at = null where id = $1 and resync_requested_at <= $2",
            cancellationToken, tableId, requestedAt);

    /// <summary>Replaces the recorded column mapping of a table.</summary>
    public async Task SaveColumnsAsync(Guid tableId, IEnumerable<(string Field, string Column, string SourceType, string PgType)> columns,
        CancellationToken cancellationToken)
    {
        await using var connection = await DataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        await ExecuteAsync(connection, tx, "delete from sync_columns where sync_table_id = $1", cancellationToken, tableId);
        foreach (var (field, column, sourceType, pgType) in columns)
        {
            await ExecuteAsync(connection, tx, "insert into sync_columns (sync_table_id, field_name, column_name, source_type, pg_type) values ($1, $2, $3, $4, $5)",
                cancellationToken, tableId, field, column, sourceType, pgType);
        }

        await tx.CommitAsync(cancellationToken);
    }

    /// <summary>Stores refreshed credentials, encrypted.</summary>
    public Task SaveCredentialsAsync(Guid connectionId, SourceCredentials credentials, CancellationToken cancellationToken) =>
        ExecuteAsync("update source_connections set credentials_protected = $2, instance_url = coalesce($3, instance_url), updated_at = now() where id = $1",
            cancellationToken, connectionId, ProtectCredentials(credentials), (object?)credentials.Get("instance_url") ?? DBNull.Value);

    /// <summary>
    /// Roles that get access to the sync's synced tables (ADR 0007): the backend roles of its proxy credentials
    /// (read and write) and its read-only role (control plane issue 6). Empty for syncs made from configuration.
    /// </summary>
    public async Task<(IReadOnlyList<string> ProxyRoles, string? ReadRole)> GetAccessRolesAsync(Guid syncId, CancellationToken cancellationToken)
    {
        await using var command = DataSource.CreateCommand("""
            select (select coalesce(array_agg(distinct backend_role), '{}') from proxy_credentials where sync_id = $1 and revoked_at is null),
                   (select read_role from syncs where id = $1)
            """);
        command.Parameters.AddWithValue(syncId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return (reader.GetFieldValue<string[]>(0), reader.IsDBNull(1) ? null : reader.GetString(1));
    }

    /// <summary>Marks the connection as needing a reconnect (revoked token).</summary>
    public Task SetConnectionErrorAsync(Guid connectionId, string status, string? error, CancellationToken cancellationToken) =>
        ExecuteAsync("update source_connections set status = $2, last_error = $3, updated_at = now() where id = $1",
            cancellationToken, connectionId, status, (object?)error ?? DBNull.Value);

    /// <summary>Pauses a running sync (the job stops within a poll interval).</summary>
    public Task<bool> PauseAsync(Guid syncId, CancellationToken cancellationToken) =>
        ExecuteCountAsync("update syncs set state = 'paused', updated_at = now() where id = $1 and state <> 'deleting'", cancellationToken, syncId);

    /// <summary>Resumes a paused or failed sync.</summary>
    public Task<bool> ResumeAsync(Guid syncId, CancellationToken cancellationToken) =>
        ExecuteCountAsync("update syncs set state = 'live', last_error = null, updated_at = now() where id = $1 and state in ('paused', 'error', 'live', 'backfilling')",
            cancellationToken, syncId);

    /// <summary>Asks the job to re-backfill one table (by object name or table name).</summary>
    public Task<bool> RequestResyncAsync(Guid syncId, string objectOrTable, CancellationToken cancellationToken) =>
        ExecuteCountAsync("update sync_tables set resync_requested_at = now() where sync_id = $1 and (object_name = $2 or table_name = $2)",
            cancellationToken, syncId, objectOrTable);

    /// <summary>Asks the job to delete the sync: it drops the destination schema and then the platform rows.</summary>
    public Task<bool> RequestDeleteAsync(Guid syncId, CancellationToken cancellationToken) =>
        ExecuteCountAsync("update syncs set state = 'deleting', updated_at = now() where id = $1", cancellationToken, syncId);

    /// <summary>Removes the platform rows of a deleted sync (its connection and destination too).</summary>
    public async Task DeleteRowsAsync(Guid syncId, CancellationToken cancellationToken)
    {
        await using var connection = await DataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        await using var cmd = new NpgsqlCommand("""
            with s as (delete from syncs where id = $1 returning connection_id, destination_id),
                 c as (delete from source_connections where id in (select connection_id from s)
                       and not exists (select 1 from syncs x where x.connection_id = source_connections.id and x.id <> $1) returning 1)
            delete from destinations where id in (select destination_id from s)
                and not exists (select 1 from syncs x where x.destination_id = destinations.id and x.id <> $1)
            """, connection, tx);
        cmd.Parameters.AddWithValue(syncId);
        await cmd.ExecuteNonQueryAsync(cancellationToken);
        await tx.CommitAsync(cancellationToken);
    }

    private string ProtectCredentials(SourceCredentials credentials) => ConnectionCredentials.Protect(secrets, credentials);

    private SourceCredentials UnprotectCredentials(string protectedText) => ConnectionCredentials.Unprotect(secrets, protectedText);

    internal static (string Object, string[]? Fields) ParseObject(string entry)
    {
        var colon = entry.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            return (entry.Trim(), null);
        }

        var fields = entry[(colon + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return (entry[..colon].Trim(), fields.Length == 0 ? null : fields);
    }

    private async Task ExecuteAsync(string sql, CancellationToken cancellationToken, params object[] args)
    {
        await using var cmd = DataSource.CreateCommand(sql);
        foreach (var a in args)
        {
            cmd.Parameters.Add(new NpgsqlParameter { Value = a });
        }

        await cmd.ExecuteNonQueryAsync(cancellationToken);
    }

    private async Task<bool> ExecuteCountAsync(string sql, CancellationToken cancellationToken, params object[] args)
    {
        await using var cmd = DataSource.CreateCommand(sql);
        foreach (var a in args)
        {
            cmd.Parameters.Add(new NpgsqlParameter { Value = a });
        }

        return await cmd.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction? tx, string sql, CancellationToken cancellationToken, params object[] args)
    {
        await using var cmd = new NpgsqlCommand(sql, connection, tx);
        foreach (var a in args)
        {
            cmd.Parameters.Add(new NpgsqlParameter { Value = a });
        }

        await cmd.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<T?> ScalarAsync<T>(NpgsqlConnection connection, NpgsqlTransaction? tx, string sql, CancellationToken cancellationToken, params object[] args)
    {
        await using var cmd = new NpgsqlCommand(sql, connection, tx);
        foreach (var a in args)
        {
            cmd.Parameters.Add(new NpgsqlParameter { Value = a });
        }

        var result = await cmd.ExecuteScalarAsync(cancellationToken);
        return result is null or DBNull ? default : (T)result;
    }
}
