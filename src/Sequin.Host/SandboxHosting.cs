using Sequin.ControlPlane.Hosting;
using System.Security.Cryptography;
using Sequin.ControlPlane;
using Sequin.Platform.Hosting;
using Sequin.Sandbox;

namespace Sequin.Host;

/// <summary>
/// The embedded upstream emulators (configuration section <c>Sequin:Sandbox</c>): with no internet, "Salesforce
/// (sandbox)" is the source a new user connects to. Mounted at <c>/sandbox/salesforce</c>; on by default
/// (<c>Sequin:Sandbox:Enabled</c>).
/// </summary>
internal static class SandboxHosting
{
    public const string SalesforcePrefix = "/sandbox/salesforce";

    public static bool IsEnabled(IConfiguration configuration) => configuration.GetValue("Sequin:Sandbox:Enabled", true);

    public static WebApplicationBuilder AddSequinSandbox(this WebApplicationBuilder builder)
    {
        if (!IsEnabled(builder.Configuration))
        {
            return builder;
        }

        builder.Services.AddSalesforceSandbox();
        builder.Services.AddOptions<SalesforceSandboxOptions>()
            .Bind(builder.Configuration.GetSection("Sequin:Sandbox:Salesforce"))
            .PostConfigure(o =>
            {
                // The admin API creates orgs and tokens: never leave it open. A key per start unless configured.
                if (string.IsNullOrEmpty(o.AdminKey))
                {
                    o.AdminKey = Convert.ToHexString(RandomNumberGenerator.GetBytes(16)).ToLowerInvariant();
                }
            });
        builder.Services.AddSequinDemo(builder.Configuration);
        builder.Services.AddSingleton(new BannerLine(50, "Salesforce", sp =>
            $"{FirstUrl(sp)}{SalesforcePrefix} (sandbox; admin API key {sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<SalesforceSandboxOptions>>().Value.AdminKey})"));
        return builder;
    }

    public static WebApplication MapSequinSandbox(this WebApplication app)
    {
        if (IsEnabled(app.Configuration))
        {
            app.MapSalesforceSandbox(SalesforcePrefix);
        }

        return app;
    }

    private static string FirstUrl(IServiceProvider services) =>
        services.GetRequiredService<IConfiguration>()["Sequin:PublicBaseUrl"]?.TrimEnd('/')
        ?? HostAddresses.Listening(services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>())
        ?? SequinDefaults.DefaultUrls;
}
