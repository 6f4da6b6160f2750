using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Sequin.Sources.Salesforce;
using Sequin.Sync.Engine;
using Sequin.Sync.Provisioning;
using Sequin.Sync.Scheduling;

namespace Sequin.Sync;

/// <summary>Registers the sync engine for the host.</summary>
public static class SyncServiceCollectionExtensions
{
    /// <summary>
    /// Adds the sync engine: the Salesforce connector, provisioning, the sync store over the platform database, and
    /// (when <see cref="SyncOptions.Worker"/>) the clustered Quartz worker. Reads <see cref="SyncOptions.Section"/>.
    /// Needs <c>AddSequinPlatform</c> registered before it (the worker starts after the platform database).
    /// </summary>
    public static IServiceCollection AddSequinSync(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<SyncOptions>().Bind(configuration.GetSection(SyncOptions.Section));
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<IOptions<SalesforceOptions>>(sp => Options.Create(sp.GetRequiredService<IOptions<SyncOptions>>().Value.Salesforce));
        services.TryAddSingleton<SalesforceConnectorFactory>();
        services.AddSingleton<Sequin.Sources.ISourceConnectorFactory>(sp => sp.GetRequiredService<SalesforceConnectorFactory>());
        services.TryAddSingleton<DestinationProvisioner>();
        services.TryAddSingleton<SyncStore>();
        services.TryAddSingleton<SyncRunner>();
        services.TryAddSingleton<NodeBalance>();
        services.TryAddSingleton<DestinationPools>();
        services.TryAddSingleton(sp => new SyncAdmin(sp.GetRequiredService<SyncStore>(), sp.GetRequiredService<SyncWorker>()));
        services.AddSingleton<SyncWorker>();
        services.AddHostedService(sp => sp.GetRequiredService<SyncWorker>());
        return services;
    }
}
