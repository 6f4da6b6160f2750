using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Sequin.Platform;
using Sequin.Platform.Database;
using Sequin.Platform.Hosting;
using Serilog;
using Serilog.Extensions.Logging;
using Serilog.Formatting.Json;

namespace Sequin.Host;

/// <summary>
/// Cross-cutting host setup in one place (STYLE.md rule 4): Serilog, configuration, health endpoints,
/// problem details, graceful shutdown, and the translation of start-up failures into one clear line.
/// </summary>
internal static class SequinDefaults
{
    /// <summary>Default listen address of the HTTP API and dashboard (<c>Sequin:Http:Urls</c>).</summary>
    public const string DefaultUrls = "http://127.0.0.1:8080";

    public static WebApplicationBuilder AddSequinDefaults(this WebApplicationBuilder builder)
    {
        // Environment variables SEQUIN__SECTION__KEY map to Sequin:Section:Key (the default provider does this);
        // appsettings.{Environment}.json and the command line override appsettings.json as usual.
        var urls = builder.Configuration["Sequin:Http:Urls"];
        if (string.IsNullOrWhiteSpace(builder.Configuration[WebHostDefaults.ServerUrlsKey]))
        {
            builder.WebHost.UseUrls(string.IsNullOrWhiteSpace(urls) ? DefaultUrls : urls);
        }

        // The Serilog logger is built from the final configuration (appsettings, environment, command line and
        // test overrides), when the container is built, not from the partial configuration seen here.
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton<ILoggerProvider>(sp => new SerilogLoggerProvider(
            CreateLogger(sp.GetRequiredService<IConfiguration>()), dispose: true));

        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(
            builder.Configuration.GetValue("Sequin:ShutdownTimeoutSeconds", 20)));
        builder.Services.AddProblemDetails();
        builder.Services.AddHealthChecks();
        return builder;
    }

    private static Serilog.Core.Logger CreateLogger(IConfiguration configuration)
    {
        var logger = new LoggerConfiguration()
            .ReadFrom.Configuration(configuration)
            .Enrich.FromLogContext();
        logger = string.Equals(configuration["Sequin:Logging:Format"], "json", StringComparison.OrdinalIgnoreCase)
            ? logger.WriteTo.Console(new JsonFormatter(renderMessage: true))
            : logger.WriteTo.Console(outputTemplate: "{Timestamp:HH:mm:ss.fff} {Level:u3} {SourceContext}: {Message:lj}{NewLine}{Exception}");
        return logger.CreateLogger();
    }

    public static WebApplication MapSequinDefaults(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();

        // Liveness: the process answers. Readiness: the platform DB is reachable and fully migrated.
        app.MapHealthChecks("/health", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions
        {
            Predicate = c => c.Tags.Contains(PlatformServiceCollectionExtensions.ReadyTag),
            ResultStatusCodes =
            {
                [HealthStatus.Healthy] = StatusCodes.Status200OK,
                [HealthStatus.Degraded] = StatusCodes.Status200OK,
                [HealthStatus.Unhealthy] = StatusCodes.Status503ServiceUnavailable,
            },
            ResponseWriter = WriteHealthJson,
        });
        return app;
    }

    /// <summary>
    /// Runs the host until shutdown. A start-up failure (bad connection string, unreachable database, refused
    /// migration, port in use) prints one line naming the setting and the fix, and exits with code 1.
    /// </summary>
    public static async Task<int> RunSequinAsync(this WebApplication app)
    {
        try
        {
            await app.StartAsync();
            await Console.Out.WriteLineAsync(Banner(app));

            await app.WaitForShutdownAsync();
            return 0;
        }
        catch (Exception e) when (Describe(e, app.Configuration) is { } line)
        {
            await Console.Error.WriteLineAsync($"sequin: error: {line}");
            await app.StopAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(20)).ContinueWith(_ => { }, TaskScheduler.Default);
            return 1;
        }
        finally
        {
            await app.DisposeAsync();
        }
    }

    /// <summary>The URLs an operator needs, printed once the host listens.</summary>
    private static string Banner(WebApplication app)
    {
        var http = app.Urls.FirstOrDefault() ?? DefaultUrls;
        var lines = new List<BannerLine>
        {
            new(10, "HTTP API", _ => http),
            new(11, "Health", _ => $"{http}/health/ready"),
        };
        lines.AddRange(app.Services.GetServices<BannerLine>());
        var text = new System.Text.StringBuilder().AppendLine().AppendLine("  Sequin is running").AppendLine();
        foreach (var line in lines.OrderBy(l => l.Order))
        {
            if (line.Value(app.Services) is { } value)
            {
                text.Append("  ").Append(line.Label.PadRight(14)).AppendLine(value);
            }
        }

        return text.AppendLine().Append("  Press Ctrl+C to stop.").AppendLine().ToString();
    }

    private static string? Describe(Exception e, IConfiguration configuration) => e switch
    {
        PlatformStartupException p => p.Message,
        IOException { InnerException: AddressInUseException } or IOException { InnerException: SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse } } =>
            $"{e.Message.TrimEnd('.')} — another process uses that port; stop it or choose another address with " +
            $"Sequin:Http:Urls (SEQUIN__HTTP__URLS, now '{configuration["Sequin:Http:Urls"] ?? DefaultUrls}')",
        _ => null,
    };

    private static Task WriteHealthJson(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsJsonAsync(new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(e => e.Key, e => new { status = e.Value.Status.ToString(), description = e.Value.Description }),
        });
    }
}
