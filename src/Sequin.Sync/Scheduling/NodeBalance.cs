using Microsoft.Extensions.Options;
using Npgsql;
using Sequin.Platform.Database;

namespace Sequin.Sync.Scheduling;

/// <summary>
/// Spreads syncs over the hosts of the cluster. Quartz hands a trigger to whichever host asks first, so one host
/// could end up running every sync; each host therefore keeps at most its fair share, ⌈active syncs / live hosts⌉:
/// the worker sets it as the host's Quartz execution limit of the <c>sync</c> group (so the host acquires no more),
/// and running syncs above it hand themselves back (a run ends after a committed page; another host picks it up).
/// </summary>
internal sealed class NodeBalance(PlatformDatabase platform, IOptions<SyncOptions> options, TimeProvider time)
{
    private readonly Lock _lock = new();
    private int _running;
    private int _share = int.MaxValue;
    private long? _refreshedAt;

    /// <summary>Why the share could not be computed last time (diagnostics).</summary>
    public string? LastError { get; private set; }

    /// <summary>Syncs running on this host.</summary>
    public int Running => Volatile.Read(ref _running);

    public void Enter() => Interlocked.Increment(ref _running);

    public void Exit() => Interlocked.Decrement(ref _running);

    /// <summary>
    /// True when this host runs more than its fair share: the caller has then already been counted out and must stop.
    /// </summary>
    public async Task<bool> TryYieldAsync(CancellationToken cancellationToken)
    {
        var share = await FairShareAsync(cancellationToken);
        while (true)
        {
            var running = Volatile.Read(ref _running);
            if (running <= share)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _running, running - 1, running) == running)
            {
                return true;
            }
        }
    }

    /// <summary>This host's fair share of the active syncs (cached for 3 s).</summary>
    public async Task<int> FairShareAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (_refreshedAt is { } at && time.GetElapsedTime(at) < TimeSpan.FromSeconds(3))
            {
                return _share;
            }
        }

        try
        {
            await using var cmd = platform.DataSource.CreateCommand("""
                select (select count(*) from syncs where state not in ('paused', 'deleting')),
                       (select count(*) from quartz.qrtz_scheduler_state where sched_name = $1)
                """);
            cmd.Parameters.AddWithValue(options.Value.SchedulerName);
            await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            var syncs = reader.GetInt64(0);
            var nodes = Math.Max(1, reader.GetInt64(1));
            var share = (int)Math.Max(1, (syncs + nodes - 1) / nodes);
            lock (_lock)
            {
                _share = share;
                _refreshedAt = time.GetTimestamp();
            }

            return share;
        }
        catch (NpgsqlException e)
        {
            LastError = e.Message;
            // Without the platform database no host can take the sync over: keep it.
            return int.MaxValue;
        }
    }
}
