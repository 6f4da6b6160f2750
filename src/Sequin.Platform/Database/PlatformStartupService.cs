using Microsoft.Extensions.Hosting;

namespace Sequin.Platform.Database;

/// <summary>
/// Starts the platform database in <see cref="IHostedLifecycleService.StartingAsync"/> — before any hosted
/// service's StartAsync, so before Kestrel binds — and stops it after everything else has stopped.
/// </summary>
internal sealed class PlatformStartupService(PlatformDatabase database) : IHostedLifecycleService
{
    public Task StartingAsync(CancellationToken cancellationToken) => database.StartAsync(cancellationToken);

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => database.StopAsync(cancellationToken);
}
