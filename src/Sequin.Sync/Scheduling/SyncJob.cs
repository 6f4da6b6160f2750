using Quartz;
using Sequin.Sync.Engine;

namespace Sequin.Sync.Scheduling;

/// <summary>
/// The Quartz job of one sync (<c>sync_id</c> in its data map). Non-concurrent across the cluster and recoverable:
/// when its host dies, another host runs it within seconds. It runs the sync's long loop until shutdown or pause.
/// </summary>
[DisallowConcurrentExecution]
internal sealed class SyncJob(SyncRunner runner) : IJob
{
    public const string Group = "sync";
    public const string SyncIdKey = "sync_id";

    public static JobKey KeyOf(Guid syncId) => new($"sync-{syncId:N}", Group);

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        var syncId = Guid.Parse(context.MergedJobDataMap.GetString(SyncIdKey)!);
        // On shutdown RunAsync returns Stopped; rethrowing the cancellation makes Quartz store a recovery trigger so
        // another host takes over without waiting for the retrigger interval.
        var outcome = await runner.RunAsync(syncId, cancellationToken);
        cancellationToken.ThrowIfCancellationRequested();

        if (outcome == RunOutcome.Gone)
        {
            await context.Scheduler.DeleteJob(context.JobDetail.Key, CancellationToken.None);
        }
    }
}
