using System.Runtime.InteropServices;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Npgsql;
using Sequin.Platform.Database;
using Sequin.Proxy;
using Sequin.Proxy.Credentials;
using Sequin.Proxy.Testing;

// Usage: Sequin.Proxy.Harness --env-file PATH [--max-connections N]
// Writes shell assignments (PGHOST, PGPORT, …) to PATH once everything listens; runs until SIGTERM/SIGINT.
var envFile = Arg("--env-file") ?? throw new ArgumentException("--env-file PATH is required");
var maxConnections = int.Parse(Arg("--max-connections") ?? "2000", System.Globalization.CultureInfo.InvariantCulture);
using var stop = new CancellationTokenSource();
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });

var cluster = new EmbeddedPostgres(new EmbeddedPostgresOptions
{
    DataDirectory = Path.Combine(Path.GetTempPath(), $"sequin-harness-{Guid.NewGuid():N}"),
    MaxConnections = 1200,
    ServerSettings = { ["fsync"] = "off", ["synchronous_commit"] = "off", ["full_page_writes"] = "off", ["shared_buffers"] = "128MB" },
});
await cluster.StartAsync();
try
{
    const string password = "compat-secret";
    await using (var admin = new NpgsqlConnection(cluster.ConnectionString()))
    {
        await admin.OpenAsync();
        await new NpgsqlCommand("create database compat; create database bench", admin).ExecuteNonQueryAsync();
    }

    await using (var compat = new NpgsqlConnection(cluster.ConnectionString("compat")))
    {
        await compat.OpenAsync();
        await CaptureSchema.InstallSalesforceAsync(compat, "sequin_proxy", "sequin_reader", password);
    }

    var upstream = new InMemoryUpstreamWriter();
    var options = Options.Create(new ProxyOptions
    {
        Host = "127.0.0.1",
        Port = 0,
        MaxConnections = maxConnections,
        Backend = new BackendOptions { Host = "127.0.0.1", Port = cluster.Port },
        Credentials =
        [
            new CredentialOptions { Username = "sequin_app", Password = password, Database = "compat", BackendRole = "sequin_proxy", BackendPassword = password },
            new CredentialOptions { Username = "bench", Password = password, Database = "bench", BackendRole = "postgres", BackendPassword = cluster.SuperuserPassword },
        ],
    });
    var logLevel = Environment.GetEnvironmentVariable("HARNESS_LOG") is { Length: > 0 } ? LogLevel.Information : LogLevel.Warning;
    using var loggerFactory = LoggerFactory.Create(b => b.AddSimpleConsole().SetMinimumLevel(logLevel));
    using var proxy = new ProxyServer(options, new ConfigurationCredentialStore(options), upstream, new CertificateProvider(options),
        loggerFactory.CreateLogger<ProxyServer>());
    await proxy.StartAsync(stop.Token);

    var web = WebApplication.CreateSlimBuilder();
    web.WebHost.UseUrls("http://127.0.0.1:0");
    web.Logging.ClearProviders();
    var app = web.Build();
    app.MapGet("/upstream/{objectName}", (string objectName) =>
        Results.Text(JsonSerializer.Serialize(upstream.Objects(objectName)), "application/json"));
    app.MapGet("/calls", () => Results.Text(JsonSerializer.Serialize(upstream.Calls.Select(c => new { c.Object, Operation = c.Operation.ToString(), c.Rows })), "application/json"));
    await app.StartAsync(stop.Token);
    var upstreamUrl = app.Urls.First();

    var env = $"""
        PGHOST=127.0.0.1
        PGPORT={proxy.EndPoint.Port}
        PGUSER=sequin_app
        PGPASSWORD={password}
        PGDATABASE=compat
        PGSSLMODE=disable
        DIRECT_PORT={cluster.Port}
        DIRECT_USER=postgres
        DIRECT_PASSWORD={cluster.SuperuserPassword}
        BENCH_USER=bench
        READER_USER=sequin_reader
        UPSTREAM_URL={upstreamUrl}
        HARNESS_PID={Environment.ProcessId}

        """;
    await File.WriteAllTextAsync(envFile + ".tmp", env);
    File.Move(envFile + ".tmp", envFile, overwrite: true);
    Console.WriteLine($"harness ready: proxy 127.0.0.1:{proxy.EndPoint.Port}, postgres 127.0.0.1:{cluster.Port}, upstream {upstreamUrl}");

    try
    {
        await Task.Delay(Timeout.Infinite, stop.Token);
    }
    catch (OperationCanceledException)
    {
    }

    await proxy.StopAsync(CancellationToken.None);
    await app.StopAsync();
}
finally
{
    NpgsqlConnection.ClearAllPools();
    await cluster.DestroyAsync(deleteFiles: true);
}

string? Arg(string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}
