using Microsoft.Extensions.DependencyInjection.Extensions;
using Sequin.Sandbox.Salesforce.Activity;
using Sequin.Sandbox.Salesforce.Http;

namespace Sequin.Sandbox;

/// <summary>Composition of the Salesforce emulator: services and endpoints.</summary>
public static class SalesforceSandboxExtensions
{
    /// <summary>
    /// Registers <see cref="SalesforceSandbox"/> (singleton), its options and the background service
    /// that runs live activity and housekeeping. Uses <see cref="TimeProvider.System"/> unless a
    /// <see cref="TimeProvider"/> is already registered.
    /// </summary>
    public static IServiceCollection AddSalesforceSandbox(this IServiceCollection services,
        Action<SalesforceSandboxOptions>? configure = null)
    {
        var options = services.AddOptions<SalesforceSandboxOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<SalesforceSandbox>();
        // TryAddEnumerable: calling AddSalesforceSandbox twice must not start two mutators.
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, SandboxBackgroundService>());
        return services;
    }

    /// <summary>
    /// Maps the emulator under <paramref name="prefix"/> (empty standalone, <c>/sandbox/salesforce</c> in
    /// the host): <c>/services/oauth2/*</c>, <c>/services/data/*</c>, <c>/id/*</c> and the admin API
    /// <c>/_sandbox/*</c>. URLs inside response bodies stay root-relative like Salesforce's
    /// (<c>/services/data/v62.0/...</c>); <c>instance_url</c> carries the prefix, so clients compute
    /// <c>instance_url + nextRecordsUrl</c>.
    /// </summary>
    public static IEndpointRouteBuilder MapSalesforceSandbox(this IEndpointRouteBuilder app, string prefix = "")
    {
        prefix = prefix.TrimEnd('/');
        if (prefix.Length > 0 && !prefix.StartsWith('/'))
        {
            prefix = "/" + prefix;
        }
        var sandbox = app.ServiceProvider.GetRequiredService<SalesforceSandbox>();
        var root = app.MapGroup(prefix);
        OAuthEndpoints.Map(root, sandbox, prefix);
        RestEndpoints.Map(root, sandbox);
        AdminEndpoints.Map(root, sandbox, prefix);
        return app;
    }
}
