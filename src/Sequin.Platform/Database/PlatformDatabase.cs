using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Sequin.Platform.Migrations;

namespace Sequin.Platform.Database;

/// <summary>
/// The platform database of this host: resolves where it is (configured connection string, or the embedded
/// cluster), opens the <see cref="NpgsqlDataSource"/>, and applies migrations. Started once, before the web
/// server listens, by <see cref="PlatformStartupService"/>.
/// </summary>
public sealed class PlatformDatabase(
    IOptions<PlatformOptions> options,
    IMigrationSource migrations,
    ILoggerFactory loggerFactory) : IAsyncDisposable
{
    private readonly ILogger _logger = loggerFactory.CreateLogger<PlatformDatabase>();
    private EmbeddedPostgres? _embedded;
    private NpgsqlDataSource? _dataSource;

    /// <summary>The open data source. Throws before <see cref="StartAsync"/> has completed.</summary>
    public NpgsqlDataSource DataSource =>
        _dataSource ?? throw new InvalidOperationException("the platform database has not been started");

    /// <summary>The embedded cluster, when this host runs one (null with a configured connection string).</summary>
    public EmbeddedPostgres? Embedded => _embedded;

    /// <summary>Connection string in use (with the password), known after start.</summary>
    public string ConnectionString { get; private set; } = "";

    /// <summary>Resolves the database, connects, and migrates.</summary>
    /// <exception cref="PlatformStartupException">one clear line: which setting is wrong and how to fix it.</exception>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        try
        {
            ConnectionString = string.IsNullOrWhiteSpace(settings.ConnectionString)
                ? await StartEmbeddedAsync(settings, cancellationToken)
                : ValidateConnectionString(settings.ConnectionString);

            var builder = new NpgsqlDataSourceBuilder(ConnectionString);
            builder.UseLoggerFactory(loggerFactory);
            builder.ConnectionStringBuilder.ApplicationName ??= "sequin";
            _dataSource = builder.Build();

            var migrator = new Migrator(_dataSource, migrations, loggerFactory.CreateLogger<Migrator>());
            if (settings.ApplyMigrations)
            {
                await migrator.MigrateAsync(cancellationToken);
            }
            else
            {
                var status = await migrator.GetStatusAsync(cancellationToken);
                if (!status.IsUpToDate)
                {
                    throw new PlatformStartupException(status.Problem ??
                        $"the platform database has {status.Pending} pending migration(s) and " +
                        "Sequin:Platform:ApplyMigrations is false; apply them or enable the setting");
                }
            }
        }
        catch (Exception e) when (e is not PlatformStartupException && PlatformStartupException.TryDescribe(e, settings) is { } line)
        {
            throw new PlatformStartupException(line, e);
        }
    }

    /// <summary>Closes the data source and stops the embedded cluster if this host started it.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_dataSource is not null)
        {
            await _dataSource.DisposeAsync();
            _dataSource = null;
        }

        if (_embedded is not null)
        {
            await _embedded.StopAsync(cancellationToken);
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync(CancellationToken.None);

    private async Task<string> StartEmbeddedAsync(PlatformOptions settings, CancellationToken cancellationToken)
    {
        _embedded = new EmbeddedPostgres(settings.Embedded, _logger);
        await _embedded.StartAsync(cancellationToken);
        await EnsureDatabaseAsync(_embedded.ConnectionString(), settings.EmbeddedDatabase, cancellationToken);
        return _embedded.ConnectionString(settings.EmbeddedDatabase);
    }

    /// <summary>Creates <paramref name="database"/> when missing (concurrent creators are tolerated).</summary>
    internal static async Task EnsureDatabaseAsync(string adminConnectionString, string database, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(adminConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var exists = new NpgsqlCommand("select 1 from pg_database where datname = $1", connection);
        exists.Parameters.AddWithValue(database);
        if (await exists.ExecuteScalarAsync(cancellationToken) is not null)
        {
            return;
        }

        try
        {
            var quoted = "\"" + database.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
            await using var create = new NpgsqlCommand($"create database {quoted}", connection);
            await create.ExecuteNonQueryAsync(cancellationToken);
        }
        catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.DuplicateDatabase or PostgresErrorCodes.UniqueViolation)
        {
            // Another host created it between our check and our create.
        }
    }

    private static string ValidateConnectionString(string value)
    {
        try
        {
            var builder = new NpgsqlConnectionStringBuilder(value);
            if (string.IsNullOrEmpty(builder.Host))
            {
                throw new PlatformStartupException(
                    "Sequin:Platform:ConnectionString (SEQUIN__PLATFORM__CONNECTIONSTRING) has no Host; " +
                    "example: Host=127.0.0.1;Port=5432;Username=sequin;Password=...;Database=sequin");
            }

            return builder.ConnectionString;
        }
        catch (ArgumentException e)
        {
            throw new PlatformStartupException(
                "Sequin:Platform:ConnectionString (SEQUIN__PLATFORM__CONNECTIONSTRING) is not a valid connection string: " +
                $"{e.Message.TrimEnd('.')}; example: Host=127.0.0.1;Port=5432;Username=sequin;Password=...;Database=sequin", e);
        }
    }
}
