using Npgsql;
using Sequin.Platform.Database;
using Xunit;

namespace Sequin.Testing;

/// <summary>
/// One Postgres server per test assembly: <c>SEQUIN_TEST_PG</c> (a superuser connection string) when set,
/// otherwise a throwaway cluster started like the embedded default (as the <c>postgres</c> OS user under root),
/// in a temporary folder, with durability off for speed, deleted afterwards. No Docker.
/// Register it with <c>[assembly: AssemblyFixture(typeof(PostgresServer))]</c>.
/// </summary>
public sealed class PostgresServer : IAsyncLifetime
{
    private static PostgresServer? _instance;
    private EmbeddedPostgres? _cluster;

    /// <summary>The assembly's server; available once the assembly fixture has initialised.</summary>
    public static PostgresServer Instance =>
        _instance ?? throw new InvalidOperationException(
            "PostgresServer is not initialised: add [assembly: AssemblyFixture(typeof(PostgresServer))] to the test project");

    /// <summary>Superuser connection string to the <c>postgres</c> database.</summary>
    public string AdminConnectionString { get; private set; } = "";

    public async ValueTask InitializeAsync()
    {
        var external = Environment.GetEnvironmentVariable("SEQUIN_TEST_PG");
        if (!string.IsNullOrWhiteSpace(external))
        {
            AdminConnectionString = external;
        }
        else
        {
            _cluster = await StartThrowawayClusterAsync("server");
            AdminConnectionString = _cluster.ConnectionString();
        }

        _instance = this;
    }

    /// <summary>Starts a separate throwaway cluster (for tests that stop or break their server).</summary>
    public static async Task<EmbeddedPostgres> StartThrowawayClusterAsync(string purpose)
    {
        var cluster = new EmbeddedPostgres(new EmbeddedPostgresOptions
        {
            DataDirectory = Path.Combine(Path.GetTempPath(), $"sequin-test-{purpose}-{Guid.NewGuid():N}"),
            MaxConnections = 300,
            ServerSettings =
            {
                ["fsync"] = "off",
                ["synchronous_commit"] = "off",
                ["full_page_writes"] = "off",
                ["shared_buffers"] = "64MB",
            },
        });
        await cluster.StartAsync();
        return cluster;
    }

    /// <summary>Creates an empty database with a unique name and returns its superuser connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string prefix = "t")
    {
        var name = $"{prefix}_{Guid.NewGuid():N}"[..Math.Min(63, prefix.Length + 33)];
        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync();
        await using var create = new NpgsqlCommand($"create database \"{name}\"", connection);
        await create.ExecuteNonQueryAsync();
        return new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = name }.ConnectionString;
    }

    /// <summary>Drops a database made by <see cref="CreateDatabaseAsync"/>, disconnecting its sessions.</summary>
    public async Task DropDatabaseAsync(string connectionString)
    {
        var name = new NpgsqlConnectionStringBuilder(connectionString).Database!;
        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync();
        await using var drop = new NpgsqlCommand($"drop database if exists \"{name.Replace("\"", "\"\"", StringComparison.Ordinal)}\" with (force)", connection);
        await drop.ExecuteNonQueryAsync();
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        if (_cluster is not null)
        {
            await _cluster.DestroyAsync(deleteFiles: true);
        }

        _instance = null;
    }
}

/// <summary>
/// A fresh, empty database for one test class (use as <c>IClassFixture&lt;PostgresDatabase&gt;</c>), dropped
/// after the class has run.
/// </summary>
public sealed class PostgresDatabase : IAsyncLifetime
{
    /// <summary>Superuser connection string to this class's database.</summary>
    public string ConnectionString { get; private set; } = "";

    public async ValueTask InitializeAsync() => ConnectionString = await PostgresServer.Instance.CreateDatabaseAsync();

    public async ValueTask DisposeAsync() => await PostgresServer.Instance.DropDatabaseAsync(ConnectionString);

    /// <summary>Opens a connection to this database.</summary>
    public async Task<NpgsqlConnection> OpenAsync()
    {
        var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        return connection;
    }
}
