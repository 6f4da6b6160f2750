using Microsoft.Extensions.Diagnostics.HealthChecks;
using Sequin.Platform.Migrations;
using Microsoft.Extensions.Logging;

namespace Sequin.Platform.Database;

/// <summary>
/// Readiness: the platform database answers within 3 s and every migration of this build is applied with a
/// matching checksum. Reported by <c>/health/ready</c>.
/// </summary>
internal sealed class PlatformReadinessCheck(PlatformDatabase database, IMigrationSource migrations, ILoggerFactory loggerFactory) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(3));
        try
        {
            var migrator = new Migrator(database.DataSource, migrations, loggerFactory.CreateLogger<Migrator>());
            var status = await migrator.GetStatusAsync(timeout.Token);
            return status.IsUpToDate
                ? HealthCheckResult.Healthy($"{status.Applied} migrations applied")
                : HealthCheckResult.Unhealthy(status.Problem ?? $"{status.Pending} migrations pending");
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return HealthCheckResult.Unhealthy($"platform database unreachable: {e.GetBaseException().Message}");
        }
    }
}
