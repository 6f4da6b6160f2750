using Sequin.ControlPlane.Hosting;
using Microsoft.Extensions.FileProviders;
using Sequin.Platform.Hosting;

namespace Sequin.Host;

/// <summary>
/// Serves the dashboard (the production build of <c>web/</c>) at <c>/</c>: static files from <c>Sequin:Web:Root</c>
/// (default <c>web/dist</c> of the repository) and <c>index.html</c> for client-side routes. API, OpenAPI, health
/// and sandbox paths never fall back to the SPA.
/// </summary>
internal static class WebHosting
{
    private static readonly string[] ServerPrefixes = ["/api", "/openapi", "/health", "/sandbox", "/admin"];

    public static WebApplicationBuilder AddSequinWeb(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton(new BannerLine(20, "Dashboard", sp =>
            WebRoot(sp.GetRequiredService<IConfiguration>()) is null
                ? "not built (run: cd web && npm ci && npm run build)"
                : sp.GetRequiredService<IConfiguration>()["Sequin:PublicBaseUrl"] ?? FirstAddress(sp)));
        builder.Services.AddSingleton(new BannerLine(12, "API reference", sp => $"{FirstAddress(sp)}/api/docs"));
        return builder;
    }

    public static WebApplication MapSequinWeb(this WebApplication app)
    {
        if (WebRoot(app.Configuration) is not { } root)
        {
            app.MapGet("/", () => Results.Text(
                "Sequin is running. The dashboard is not built: run `cd web && npm ci && npm run build` (deploy/run.sh does).\n" +
                "API reference: /api/docs\n", "text/plain"));
            return app;
        }

        var files = new PhysicalFileProvider(root);
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files });
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = files,
            OnPrepareResponse = c =>
            {
                // Hashed assets are immutable; index.html must always be revalidated.
                c.Context.Response.Headers.CacheControl = c.File.Name == "index.html" ? "no-cache" : "public, max-age=31536000, immutable";
            },
        });
        // Client-side routes get index.html — as middleware, not a fallback endpoint: a fallback route would also
        // "match" API requests that their endpoint refused (415 wrong content type, 405) and hide those answers.
        app.Use(async (context, next) =>
        {
            var path = context.Request.Path.Value ?? "/";
            if (context.GetEndpoint() is not null || !(HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method))
                || ServerPrefixes.Any(p => path.StartsWith(p, StringComparison.OrdinalIgnoreCase)) || Path.HasExtension(path))
            {
                await next(context);
                return;
            }

            context.Response.ContentType = "text/html; charset=utf-8";
            context.Response.Headers.CacheControl = "no-cache";
            await context.Response.SendFileAsync(files.GetFileInfo("index.html"));
        });
        return app;
    }

    /// <summary><c>Sequin:Web:Root</c>, else <c>web/dist</c> found by walking up from the working directory; null when not built.</summary>
    private static string? WebRoot(IConfiguration configuration)
    {
        if (configuration["Sequin:Web:Root"] is { Length: > 0 } configured)
        {
            return File.Exists(Path.Combine(configured, "index.html")) ? Path.GetFullPath(configured) : null;
        }

        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "web", "dist");
            if (File.Exists(Path.Combine(candidate, "index.html")))
            {
                return candidate;
            }
        }

        return null;
    }

    private static string FirstAddress(IServiceProvider services) =>
        HostAddresses.Listening(services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()) ?? SequinDefaults.DefaultUrls;
}
