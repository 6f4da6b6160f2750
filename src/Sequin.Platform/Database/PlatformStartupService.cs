using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Hosting;
using Sequin.Platform.Security;

namespace Sequin.Platform.Database;

/// <summary>
/// Starts the platform database in <see cref="IHostedLifecycleService.StartingAsync"/> — before any hosted
/// service's StartAsync, so before Kestrel binds — then loads the Data Protection key ring (creating and storing
/// the first key of a new cluster), and stops both after everything else has stopped.
/// </summary>
internal sealed class PlatformStartupService(PlatformDatabase database, PlatformXmlRepository keyRing, IDataProtectionProvider dataProtection)
    : IHostedLifecycleService
{
    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        await database.StartAsync(cancellationToken);
        await keyRing.StartAsync(() => dataProtection.CreateProtector("Sequin.Platform.KeyRing").Protect([1]), cancellationToken);
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StoppedAsync(CancellationToken cancellationToken)
    {
        await keyRing.StopAsync(cancellationToken);
        await database.StopAsync(cancellationToken);
    }
}
