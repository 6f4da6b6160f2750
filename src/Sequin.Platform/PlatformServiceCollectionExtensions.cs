using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Npgsql;
using Sequin.Platform.Data;
using Sequin.Platform.Database;
using Sequin.Platform.Migrations;

namespace Sequin.Platform;

/// <summary>Registers the platform database for the host.</summary>
public static class PlatformServiceCollectionExtensions
{
    /// <summary>Health-check tag of checks that gate <c>/health/ready</c>.</summary>
    public const string ReadyTag = "ready";

    /// <summary>
    /// Adds <see cref="PlatformDatabase"/> (started before the server listens), the <see cref="NpgsqlDataSource"/>,
    /// <see cref="PlatformDbContext"/>, and the readiness check. Reads <see cref="PlatformOptions.Section"/>.
    /// </summary>
    public static IServiceCollection AddSequinPlatform(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<PlatformOptions>().Bind(configuration.GetSection(PlatformOptions.Section));
        services.TryAddSingleton<IMigrationSource, EmbeddedMigrationSource>();
        services.AddSingleton<PlatformDatabase>();
        services.AddHostedService<PlatformStartupService>();
        services.AddSingleton(sp => sp.GetRequiredService<PlatformDatabase>().DataSource);
        services.AddDbContext<PlatformDbContext>((sp, o) => o.UseNpgsql(sp.GetRequiredService<PlatformDatabase>().DataSource));
        services.AddHealthChecks().AddCheck<PlatformReadinessCheck>("platform-database", tags: [ReadyTag]);
        return services;
    }
}
