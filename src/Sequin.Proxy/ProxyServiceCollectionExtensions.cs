using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Sequin.Proxy;
using Sequin.Proxy.Credentials;
using Sequin.Proxy.Writes;

// In the DI namespace (the convention of AddX extension methods) so Program.cs needs one line and no using.
namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the Sequin proxy with the host.</summary>
public static class ProxyServiceCollectionExtensions
{
    /// <summary>
    /// Adds the proxy as a hosted service listening on <c>Sequin:Proxy:Host</c>:<c>Port</c> (default 127.0.0.1:7432),
    /// with credentials from configuration and the platform database. Register an <see cref="IUpstreamWriter"/>
    /// (connector adapter) before or after this call to enable writes; without one, writes to synced tables are
    /// refused with 08006.
    /// </summary>
    public static IServiceCollection AddSequinProxy(this IServiceCollection services, IConfiguration configuration)
    {
        var section = configuration.GetSection(ProxyOptions.Section);
        services.AddOptions<ProxyOptions>().Bind(section);
        if (!section.GetValue(nameof(ProxyOptions.Enabled), true))
        {
            return services;
        }

        services.TryAddSingleton<IUpstreamWriter, UnconfiguredUpstreamWriter>();
        services.TryAddSingleton<ConfigurationCredentialStore>();
        services.TryAddSingleton<PlatformCredentialStore>();
        services.TryAddSingleton<ICredentialStore, CompositeCredentialStore>();
        services.TryAddSingleton<CertificateProvider>();
        services.AddSingleton<ProxyServer>();
        services.AddHostedService(sp => sp.GetRequiredService<ProxyServer>());
        return services;
    }
}
