using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Npgsql;
using Sequin.Platform.Data;
using Sequin.Platform.Database;
using Sequin.Platform.Hosting;
using Sequin.Platform.Migrations;
using Sequin.Platform.Security;

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
        services.AddScoped<TenantScope>();
        services.AddDbContext<TenantDbContext>((sp, o) => o.UseNpgsql(sp.GetRequiredService<PlatformDatabase>().DataSource));
        // Secrets at rest: Data Protection with its key ring in the platform database, shared by every host.
        services.AddDataProtection().SetApplicationName("sequin");
        services.AddSingleton<PlatformXmlRepository>();
        services.AddOptions<SecretsOptions>().Bind(configuration.GetSection(SecretsOptions.Section));
        services.AddOptions<KeyManagementOptions>()
            .Configure<PlatformXmlRepository, IOptions<SecretsOptions>>((o, repository, secrets) =>
            {
                o.XmlRepository = repository;
                o.XmlEncryptor = new MasterKeyXmlEncryptor(secrets.Value.LoadKey());
            });
        services.AddSingleton<ISecretProtector, DataProtectionSecretProtector>();

        services.AddSingleton(new BannerLine(40, "Platform DB", sp => sp.GetRequiredService<PlatformDatabase>() switch
        {
            { Embedded: { } embedded } => $"postgres://postgres@127.0.0.1:{embedded.Port}/{sp.GetRequiredService<IOptions<PlatformOptions>>().Value.EmbeddedDatabase} (embedded cluster in {embedded.Root}; password in superuser.password)",
            { } db => Redact(db.ConnectionString),
        }));

        services.AddHealthChecks().AddCheck<PlatformReadinessCheck>("platform-database", tags: [ReadyTag]);
        return services;
    }

    private static string Redact(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        return $"postgres://{builder.Username}@{builder.Host}:{builder.Port}/{builder.Database}";
    }
}
