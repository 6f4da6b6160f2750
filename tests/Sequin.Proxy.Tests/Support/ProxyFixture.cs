using Microsoft.Extensions.Logging;
using Npgsql;
using Sequin.Proxy.Credentials;
using Sequin.Proxy.Testing;
using Sequin.Testing;

namespace Sequin.Proxy.Tests.Support;

/// <summary>
/// A destination database with ADR 0007 synced tables, a backend role and a read-only role, and a proxy on a free
/// loopback port with one configured credential (<see cref="User"/>/<see cref="Password"/>) and the in-memory
/// upstream. One per test class.
/// </summary>
public class ProxyFixture : IAsyncLifetime
{
    public const string Password = "proxy-secret-1";

    private ProxyServer? _server;

    public string DatabaseConnectionString { get; private set; } = "";

    public string Database => new NpgsqlConnectionStringBuilder(DatabaseConnectionString).Database!;

    public string User { get; } = "app_" + Guid.NewGuid().ToString("N")[..8];

    public string BackendRole { get; } = "proxy_" + Guid.NewGuid().ToString("N")[..8];

    public string ReaderRole { get; } = "reader_" + Guid.NewGuid().ToString("N")[..8];

    internal InMemoryUpstreamWriter Upstream { get; } = new();

    internal ProxyServer Server => _server!;

    internal ProxyOptions Options { get; private set; } = new();

    public int Port => _server!.EndPoint.Port;

    internal TestLoggerProvider Logs { get; } = new();

    /// <summary>Whether the database gets ADR 0007 synced tables (the write path) or none (the passthrough fast path).</summary>
    protected virtual bool WithSyncedTables => true;

    public async ValueTask InitializeAsync()
    {
        DatabaseConnectionString = await PostgresServer.Instance.CreateDatabaseAsync("proxy");
        await using (var admin = new NpgsqlConnection(DatabaseConnectionString))
        {
            await admin.OpenAsync();
            if (WithSyncedTables)
            {
                await CaptureSchema.InstallSalesforceAsync(admin, BackendRole, ReaderRole, Password);
            }
            else
            {
                await using var plain = new NpgsqlCommand(
                    $"create role \"{BackendRole}\" login password '{Password}'; create role \"{ReaderRole}\" login password '{Password}'; " +
                    $"create table public.notes (id serial primary key, body text); grant all on table public.notes to \"{BackendRole}\"; " +
                    $"grant usage on sequence public.notes_id_seq to \"{BackendRole}\"", admin);
                await plain.ExecuteNonQueryAsync();
            }
        }

        var backend = new NpgsqlConnectionStringBuilder(DatabaseConnectionString);
        Options = new ProxyOptions
        {
            Host = "127.0.0.1",
            Port = 0,
            MaxConnections = 50,
            Backend = new BackendOptions { Host = backend.Host!, Port = backend.Port },
            Credentials =
            [
                new CredentialOptions
                {
                    Username = User, Password = Password, Database = Database, BackendRole = BackendRole, BackendPassword = Password,
                },
            ],
        };
        _server = StartServer(Options);
        await _server.StartAsync(CancellationToken.None);
    }

    internal ProxyServer StartServer(ProxyOptions options)
    {
        var wrapped = Microsoft.Extensions.Options.Options.Create(options);
        var factory = LoggerFactory.Create(b => b.AddProvider(Logs).SetMinimumLevel(LogLevel.Debug));
        return new ProxyServer(wrapped, new ConfigurationCredentialStore(wrapped), Upstream, new CertificateProvider(wrapped),
            factory.CreateLogger<ProxyServer>());
    }

    /// <summary>Npgsql connection string to the proxy.</summary>
    public string ProxyConnectionString(Action<NpgsqlConnectionStringBuilder>? configure = null)
    {
        var b = new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = Port,
            Username = User,
            Password = Password,
            Database = Database,
            SslMode = SslMode.Disable,
            Pooling = false,
            IncludeErrorDetail = true,
        };
        configure?.Invoke(b);
        return b.ConnectionString;
    }

    public async Task<NpgsqlConnection> OpenAsync(Action<NpgsqlConnectionStringBuilder>? configure = null)
    {
        var c = new NpgsqlConnection(ProxyConnectionString(configure));
        await c.OpenAsync();
        return c;
    }

    /// <summary>A superuser connection straight to the destination database (for asserting its state).</summary>
    public async Task<NpgsqlConnection> OpenDirectAsync()
    {
        var c = new NpgsqlConnection(DatabaseConnectionString + ";Pooling=false");
        await c.OpenAsync();
        return c;
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.StopAsync(CancellationToken.None);
            _server.Dispose();
        }

        await PostgresServer.Instance.DropDatabaseAsync(DatabaseConnectionString);
        await using var admin = new NpgsqlConnection(PostgresServer.Instance.AdminConnectionString);
        await admin.OpenAsync();
        await using var drop = new NpgsqlCommand($"drop role if exists \"{BackendRole}\"; drop role if exists \"{ReaderRole}\"", admin);
        await drop.ExecuteNonQueryAsync();
    }
}

/// <summary>A proxy in front of a database without synced tables: sessions take the passthrough fast path.</summary>
public sealed class PlainProxyFixture : ProxyFixture
{
    protected override bool WithSyncedTables => false;
}

/// <summary>Collects log lines so tests can assert that a session end was logged.</summary>
internal sealed class TestLoggerProvider : ILoggerProvider
{
    public System.Collections.Concurrent.ConcurrentQueue<string> Lines { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void Dispose()
    {
    }

    private sealed class Logger(TestLoggerProvider owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Lines.Enqueue($"{logLevel}: {formatter(state, exception)}");
    }
}
