using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Quartz;
using Quartz.Extensibility;
using Sequin.Platform.Database;
using Sequin.Sync.Engine;

namespace Sequin.Sync.Scheduling;

/// <summary>
/// The worker role: a clustered Quartz.NET scheduler on the platform database (AdoJobStore, tables <c>quartz.qrtz_*</c>)
/// with one recoverable, non-concurrent job per sync. Every host reconciles the jobs with the <c>syncs</c> table; the
/// cluster spreads the jobs over the hosts, and a host that stops checking in has its jobs recovered by another
/// within <see cref="SyncOptions.ClusterCheckinInterval"/> + <see cref="SyncOptions.ClusterCheckinMisfireThreshold"/>.
/// </summary>
internal sealed partial class SyncWorker(
    PlatformDatabase platform,
    SyncStore store,
    NodeBalance balance,
    IServiceProvider services,
    IOptions<SyncOptions> options,
    TimeProvider time,
    ILogger<SyncWorker> logger) : IHostedService, IAsyncDisposable
{
    private readonly SyncOptions _options = options.Value;
    private readonly CancellationTokenSource _stopping = new();
    private IScheduler? _scheduler;
    private Task? _reconcile;
    private int _limit = -1;
    private readonly HashSet<Guid> _known = [];
    private readonly SemaphoreSlim _reconcileLock = new(1, 1);

    /// <summary>The running scheduler (null before start or when the worker role is off).</summary>
    public IScheduler? Scheduler => _scheduler;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var definition in _options.Syncs)
        {
            var id = await store.CreateAsync(definition, cancellationToken);
            LogConfiguredSync(logger, definition.Name, id);
        }

        if (!_options.Worker)
        {
            return;
        }

        var connectionString = platform.ConnectionString;
        var scheduler = await QuartzSchedulerBuilder.Create(q =>
        {
            q.ConfigureScheduler(o =>
            {
                o.InstanceName = _options.SchedulerName;
                // Shutdown cancels running sync loops; a loop that stops by throwing OperationCanceledException
                // leaves a recovery trigger, so another host takes the sync over at once.
                o.ShutdownJobInterruption = ShutdownJobInterruption.Always;
                o.GenerateInstanceId = true;
                // Triggers released by other hosts (handoffs, recoveries) are only seen by polling.
                o.IdleWaitTime = TimeSpan.FromSeconds(1);
            });
            q.UseDefaultThreadPool(Math.Max(1, _options.MaxConcurrentSyncs));
            q.UseTimeProvider(time);
            q.UseJobFactory(new SyncJobFactory(services));
            q.UsePersistentStore(s =>
            {
                s.UsePostgres(connectionString);
                s.ConfigureStore(o => o.TablePrefix = "quartz.qrtz_");
                s.UseClustering(c =>
                {
                    c.CheckinInterval = _options.ClusterCheckinInterval;
                    c.CheckinMisfireThreshold = _options.ClusterCheckinMisfireThreshold;
                });
                s.UseSystemTextJsonSerializer(_ => { });
            });
        }).BuildScheduler(cancellationToken);
        _scheduler = scheduler;
        await scheduler.Start(cancellationToken);
        await ReconcileAsync(cancellationToken);
        _reconcile = Task.Run(() => ReconcileLoopAsync(_stopping.Token), CancellationToken.None);
        LogStarted(logger, scheduler.SchedulerInstanceId);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        if (_reconcile is not null)
        {
            await _reconcile.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        if (_scheduler is { } scheduler)
        {
            // Running sync loops observe the cancellation and end after their current page; their triggers then go
            // back to waiting, so another host picks them up at once.
            await scheduler.Shutdown(waitForJobsToComplete: true, cancellationToken);
            _scheduler = null;
        }
    }

    /// <summary>Schedules a job for every sync that has none.</summary>
    public async Task ReconcileAsync(CancellationToken cancellationToken)
    {
        if (_scheduler is not { } scheduler)
        {
            return;
        }

        await _reconcileLock.WaitAsync(cancellationToken);
        try
        {
            await ReconcileCoreAsync(scheduler, cancellationToken);
        }
        finally
        {
            _reconcileLock.Release();
        }
    }

    private async Task ReconcileCoreAsync(IScheduler scheduler, CancellationToken cancellationToken)
    {
        // At most a fair share of the syncs per host, so that the hosts split them (see NodeBalance).
        var share = await balance.FairShareAsync(cancellationToken);
        if (share != _limit)
        {
            await scheduler.SetExecutionLimits(ExecutionLimitsBuilder.Create().ForGroup(SyncJob.Group, share, ExecutionLimitScope.Node).Build(), cancellationToken);
            _limit = share;
        }

        // Jobs of syncs that are gone remove themselves when they next run (RunOutcome.Gone).
        var ids = await store.ListIdsAsync(cancellationToken);
        foreach (var id in ids)
        {
            var key = SyncJob.KeyOf(id);
            if (_known.Contains(id) || await scheduler.Exists(key, cancellationToken))
            {
                _known.Add(id);
                continue;
            }

            var job = JobBuilder.Create<SyncJob>()
                .WithIdentity(key)
                .UsingJobData(SyncJob.SyncIdKey, id.ToString())
                .RequestRecovery()
                .StoreDurably()
                .Build();
            var trigger = TriggerBuilder.Create()
                .WithIdentity($"sync-{id:N}", SyncJob.Group)
                .ForJob(key)
                .StartNow()
                .WithExecutionGroup(SyncJob.Group)
                .WithSimpleSchedule(s => s.WithInterval(_options.JobRetriggerInterval).RepeatForever().WithMisfireInstruction(SimpleTriggerMisfireInstruction.NextWithRemainingCount))
                .Build();
            try
            {
                await scheduler.ScheduleJob(job, trigger, default, cancellationToken);
                _known.Add(id);
                LogScheduled(logger, id);
            }
            catch (ObjectAlreadyExistsException)
            {
                // Another host scheduled it first.
            }
        }
    }

    private async Task ReconcileLoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_options.ReconcileInterval, time, cancellationToken);
                await ReconcileAsync(cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                LogReconcileFailed(logger, e.Message, e);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        // StopAsync may still be called after disposal (a host that failed to start), so the token source is not
        // disposed: it has no timer to release.
        if (_scheduler is not null)
        {
            await StopAsync(CancellationToken.None);
        }
    }

    /// <summary>Builds <see cref="SyncJob"/> from the host's services.</summary>
    private sealed class SyncJobFactory(IServiceProvider services) : IJobFactory
    {
        public ValueTask<JobScope> CreateJob(TriggerFiredBundle bundle, IScheduler scheduler, CancellationToken cancellationToken) =>
            ValueTask.FromResult(new JobScope(ActivatorUtilities.CreateInstance<SyncJob>(services), null));

        public ValueTask ReturnJob(JobScope scope, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Sync worker started: Quartz cluster node {InstanceId}")]
    private static partial void LogStarted(ILogger logger, string instanceId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Scheduled the job of sync {SyncId}")]
    private static partial void LogScheduled(ILogger logger, Guid syncId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Sync '{Name}' from configuration: {SyncId}")]
    private static partial void LogConfiguredSync(ILogger logger, string name, Guid syncId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reconciling sync jobs failed: {Reason}")]
    private static partial void LogReconcileFailed(ILogger logger, string reason, Exception exception);
}
