using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Sequin.Platform.Migrations;

/// <summary>
/// Applies versioned SQL migrations to the platform database at start-up.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>A session-level Postgres advisory lock (<see cref="AdvisoryLockKey"/>) serialises migrators, so two
/// hosts starting together apply each migration once: the second waits, then finds nothing to do.</item>
/// <item>Each migration runs in its own transaction together with its <c>schema_migrations</c> row; a failure
/// rolls both back and names the file.</item>
/// <item>An applied migration whose checksum differs from the file, or an applied version this build does not
/// know, makes the migrator refuse to run (the database and the code disagree; a human must decide).</item>
/// </list>
/// </remarks>
public sealed partial class Migrator(NpgsqlDataSource dataSource, IMigrationSource source, ILogger<Migrator> logger)
{
    /// <summary>Key of the advisory lock held while migrating ("SEQUIN" in ASCII, then 1).</summary>
    public const long AdvisoryLockKey = 0x5345_5155_494E_0001;

    private const string CreateTable = """
        create table if not exists schema_migrations (
            version       integer primary key,
            name          text not null,
            checksum      text not null,
            applied_at    timestamptz not null default now(),
            execution_ms  integer not null
        )
        """;

    /// <summary>Verifies applied migrations and applies the pending ones, under the advisory lock.</summary>
    /// <returns>The migrations this call applied (empty when the database was up to date).</returns>
    /// <exception cref="MigrationException">a checksum mismatch, an unknown applied version, or a failing migration.</exception>
    /// <exception cref="NpgsqlException">the database cannot be reached.</exception>
    public async Task<IReadOnlyList<Migration>> MigrateAsync(CancellationToken cancellationToken = default)
    {
        var migrations = source.Load();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await AcquireLockAsync(connection, cancellationToken);
        try
        {
            await using (var create = new NpgsqlCommand(CreateTable, connection))
            {
                await create.ExecuteNonQueryAsync(cancellationToken);
            }

            var applied = await ReadAppliedAsync(connection, cancellationToken);
            Verify(migrations, applied);

            var done = new List<Migration>();
            foreach (var migration in migrations.Where(m => !applied.ContainsKey(m.Version)))
            {
                await ApplyAsync(connection, migration, cancellationToken);
                done.Add(migration);
            }

            if (done.Count == 0)
            {
                LogUpToDate(logger, migrations.Count == 0 ? 0 : migrations[^1].Version);
            }

            return done;
        }
        finally
        {
            await using var unlock = new NpgsqlCommand("select pg_advisory_unlock($1)", connection);
            unlock.Parameters.AddWithValue(AdvisoryLockKey);
            await unlock.ExecuteScalarAsync(CancellationToken.None);
        }
    }

    /// <summary>
    /// Compares the database with this build's migrations without changing anything (used by readiness).
    /// </summary>
    public async Task<MigrationStatus> GetStatusAsync(CancellationToken cancellationToken = default)
    {
        var migrations = source.Load();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using (var exists = new NpgsqlCommand("select to_regclass('schema_migrations') is not null", connection))
        {
            if (!(bool)(await exists.ExecuteScalarAsync(cancellationToken))!)
            {
                return new MigrationStatus(0, migrations.Count, null);
            }
        }

        var applied = await ReadAppliedAsync(connection, cancellationToken);
        try
        {
            Verify(migrations, applied);
        }
        catch (MigrationException e)
        {
            return new MigrationStatus(applied.Count, migrations.Count(m => !applied.ContainsKey(m.Version)), e.Message);
        }

        return new MigrationStatus(applied.Count, migrations.Count(m => !applied.ContainsKey(m.Version)), null);
    }

    private async Task AcquireLockAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var tryLock = new NpgsqlCommand("select pg_try_advisory_lock($1)", connection);
        tryLock.Parameters.AddWithValue(AdvisoryLockKey);
        if ((bool)(await tryLock.ExecuteScalarAsync(cancellationToken))!)
        {
            return;
        }

        LogWaitingForLock(logger);
        await using var wait = new NpgsqlCommand("select pg_advisory_lock($1)", connection) { CommandTimeout = 600 };
        wait.Parameters.AddWithValue(AdvisoryLockKey);
        await wait.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<Dictionary<int, (string Name, string Checksum)>> ReadAppliedAsync(
        NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        var applied = new Dictionary<int, (string, string)>();
        await using var read = new NpgsqlCommand("select version, name, checksum from schema_migrations", connection);
        await using var reader = await read.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            applied[reader.GetInt32(0)] = (reader.GetString(1), reader.GetString(2));
        }

        return applied;
    }

    private static void Verify(IReadOnlyList<Migration> migrations, Dictionary<int, (string Name, string Checksum)> applied)
    {
        var known = migrations.ToDictionary(m => m.Version);
        foreach (var (version, (name, checksum)) in applied.OrderBy(a => a.Key))
        {
            if (!known.TryGetValue(version, out var migration))
            {
                var file = $"{version:D4}_{name}.sql";
                throw new MigrationException(file,
                    $"the platform database has migration {file} applied, which this build does not contain; " +
                    "run the Sequin version that applied it (or newer)");
            }

            if (!string.Equals(migration.Checksum, checksum, StringComparison.Ordinal))
            {
                throw new MigrationException(migration.FileName,
                    $"migration {migration.FileName} was changed after it was applied (checksum {checksum[..12]}… in the " +
                    $"database, {migration.Checksum[..12]}… in this build); applied migrations must never be edited — " +
                    "add a new migration instead");
            }
        }
    }

    private async Task ApplyAsync(NpgsqlConnection connection, Migration migration, CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        try
        {
            await using (var command = new NpgsqlCommand(migration.Sql, connection, transaction) { CommandTimeout = 0 })
            {
                await command.ExecuteNonQueryAsync(cancellationToken);
            }

            await using (var record = new NpgsqlCommand(
                "insert into schema_migrations (version, name, checksum, execution_ms) values ($1, $2, $3, $4)",
                connection, transaction))
            {
                record.Parameters.AddWithValue(migration.Version);
                record.Parameters.AddWithValue(migration.Name);
                record.Parameters.AddWithValue(migration.Checksum);
                record.Parameters.AddWithValue((int)stopwatch.ElapsedMilliseconds);
                await record.ExecuteNonQueryAsync(cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
        }
        catch (PostgresException e)
        {
            await transaction.RollbackAsync(CancellationToken.None);
            throw new MigrationException(migration.FileName,
                $"migration {migration.FileName} failed and was rolled back: {e.SqlState}: {e.MessageText}" +
                (e.Position > 0 && e.BatchCommand?.CommandText is { Length: > 0 } statement
                    ? $" (at character {e.Position} of: {Excerpt(statement, e.Position)})"
                    : ""),
                e);
        }

        LogApplied(logger, migration.FileName, stopwatch.ElapsedMilliseconds);
    }

    private static string Excerpt(string? sql, int position)
    {
        if (string.IsNullOrEmpty(sql))
        {
            return "";
        }

        var start = Math.Max(0, Math.Min(sql.Length, position - 1) - 40);
        var length = Math.Min(80, sql.Length - start);
        return sql.Substring(start, length).ReplaceLineEndings(" ").Trim();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Applied migration {FileName} in {ElapsedMs} ms")]
    private static partial void LogApplied(ILogger logger, string fileName, long elapsedMs);

    [LoggerMessage(Level = LogLevel.Information, Message = "Platform database is up to date (version {Version})")]
    private static partial void LogUpToDate(ILogger logger, int version);

    [LoggerMessage(Level = LogLevel.Information, Message = "Another host holds the migration lock; waiting for it to finish")]
    private static partial void LogWaitingForLock(ILogger logger);
}

/// <summary>Result of <see cref="Migrator.GetStatusAsync"/>: counts, and the refusal reason when there is one.</summary>
public sealed record MigrationStatus(int Applied, int Pending, string? Problem)
{
    /// <summary>True when every migration of this build is applied and nothing disagrees.</summary>
    public bool IsUpToDate => Pending == 0 && Problem is null;
}
