using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Sequin.Platform;
using Sequin.Testing;
using Shouldly;

namespace Sequin.Sync.Tests;

/// <summary>
/// One Sequin host with the worker role, as a generic host: the platform database (migrated) and the sync engine,
/// clustered through the platform database's Quartz tables. Several may share one platform database.
/// </summary>
internal sealed class SyncHost : IAsyncDisposable
{
    private readonly IHost _host;
    private bool _stopped;

    private SyncHost(IHost host) => _host = host;

    public IServiceProvider Services => _host.Services;

    public SyncAdmin Admin => _host.Services.GetRequiredService<SyncAdmin>();

    public static async Task<SyncHost> StartAsync(string platformConnectionString, Action<Dictionary<string, string?>>? configure = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Sequin:Platform:ConnectionString"] = platformConnectionString,
            // Every host sharing a platform database needs the same master key.
            ["Sequin:Secrets:MasterKey"] = "c2VxdWluLXN5bmMtdGVzdHMtbWFzdGVyLWtleS0zMmI=",
            ["Sequin:Sync:ClusterCheckinInterval"] = "00:00:01",
            ["Sequin:Sync:ClusterCheckinMisfireThreshold"] = "00:00:02",
            ["Sequin:Sync:ReconcileInterval"] = "00:00:01",
            ["Sequin:Sync:JobRetriggerInterval"] = "00:00:01",
            ["Sequin:Sync:ErrorBackoff"] = "00:00:00.200",
            ["Sequin:Sync:MaxErrorBackoff"] = "00:00:02",
            ["Sequin:Sync:Salesforce:RequestsPerSecond"] = "1000",
            ["Sequin:Sync:Salesforce:BackoffBase"] = "00:00:00.050",
            ["Sequin:Sync:Salesforce:BackoffMax"] = "00:00:00.500",
            ["Sequin:Sync:Salesforce:RequestTimeout"] = "00:00:10",
            ["Sequin:Sync:Salesforce:OverlapWindow"] = "00:00:02",
        };
        configure?.Invoke(settings);
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Logging.AddFilter("Sequin", LogLevel.Information);
        builder.Logging.AddFilter("Quartz", LogLevel.Error);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(5));
        builder.Services.AddSequinPlatform(builder.Configuration);
        builder.Services.AddSequinSync(builder.Configuration);
        var host = builder.Build();
        await host.StartAsync();
        return new SyncHost(host);
    }

    public async Task StopAsync()
    {
        if (!_stopped)
        {
            _stopped = true;
            await _host.StopAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _host.Dispose();
    }
}

/// <summary>Helpers to read a destination and wait for it.</summary>
internal static class Destination
{
    public static async Task<T> ScalarAsync<T>(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, connection);
        var value = await cmd.ExecuteScalarAsync();
        return value is null or DBNull ? default! : (T)value;
    }

    /// <summary>Polls until <paramref name="condition"/> holds or the timeout passes (then fails with the last state).</summary>
    public static async Task WaitForAsync(Func<Task<bool>> condition, TimeSpan timeout, Func<Task<string>>? describe = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                if (await condition())
                {
                    return;
                }
            }
            catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.UndefinedTable or PostgresErrorCodes.InvalidSchemaName)
            {
            }

            await Task.Delay(200);
        }

        var state = describe is null ? "" : await describe();
        throw new ShouldAssertException($"condition not met within {timeout.TotalSeconds} s. {state}");
    }

    public static async Task<string> StatusAsync(string connectionString, string schema = "salesforce")
    {
        try
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync();
            await using var cmd = new NpgsqlCommand($"select string_agg(table_name || ' ' || state || ' rows=' || rows || ' err=' || coalesce(last_error, '-'), ' | ') from {schema}._sync", connection);
            return (await cmd.ExecuteScalarAsync())?.ToString() ?? "";
        }
        catch (PostgresException e)
        {
            return e.MessageText;
        }
    }

    public static async Task<string> CreateAsync() => await PostgresServer.Instance.CreateDatabaseAsync("dest");
}
