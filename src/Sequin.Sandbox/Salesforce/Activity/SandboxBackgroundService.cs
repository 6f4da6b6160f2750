using Sequin.Sandbox.Salesforce.Schema;
using Sequin.Sandbox.Salesforce.Store;
using Sequin.Sandbox.Salesforce.Writes;

namespace Sequin.Sandbox.Salesforce.Activity;

/// <summary>
/// Drives live activity (creates, updates and deletes at each org's configured rate) and housekeeping
/// (recycle-bin purge after 15 days, idle query cursors, expired tokens). Time comes from the injected
/// <see cref="TimeProvider"/>, so tests advance it deterministically with a fake clock.
/// </summary>
internal sealed partial class SandboxBackgroundService(SalesforceSandbox sandbox, TimeProvider time,
    ILogger<SandboxBackgroundService> logger) : BackgroundService
{
    public static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(100);

    /// <summary>Upper bound of operations per org per tick, so a huge rate cannot starve the server.</summary>
    private const int MaxOperationsPerTick = 5_000;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Tick, time);
        var last = time.GetTimestamp();
        var lastHousekeeping = time.GetUtcNow();
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var now = time.GetTimestamp();
                var elapsed = time.GetElapsedTime(last, now);
                last = now;
                RunOnce(elapsed);
                if (time.GetUtcNow() - lastHousekeeping >= TimeSpan.FromSeconds(10))
                {
                    lastHousekeeping = time.GetUtcNow();
                    Housekeeping();
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    /// <summary>One step of every org's mutator for <paramref name="elapsed"/> of wall time.</summary>
    internal void RunOnce(TimeSpan elapsed)
    {
        foreach (var org in sandbox.Orgs)
        {
            var settings = org.Activity.Settings;
            if (!settings.Enabled || settings.OperationsPerSecond <= 0)
            {
                continue;
            }
            var due = org.Activity.Carry + (settings.OperationsPerSecond * elapsed.TotalSeconds);
            var operations = (int)Math.Min(MaxOperationsPerTick, Math.Floor(due));
            org.Activity.Carry = Math.Min(due - operations, MaxOperationsPerTick);
            try
            {
                for (var i = 0; i < operations; i++)
                {
                    // Under the write gate (re-entered by the writes), so a field type change never lands between
                    // generating a value and writing it.
                    lock (org.WriteGate)
                    {
                        Mutate(org, settings);
                    }
                }
            }
            catch (Exception ex) when (ex is InvalidOperationException or ArgumentException)
            {
                LogMutationFailed(logger, ex, org.Id);
            }
        }
    }

    internal void Housekeeping()
    {
        var now = time.GetUtcNow().UtcDateTime;
        foreach (var org in sandbox.Orgs)
        {
            org.PurgeRecycleBin();
            foreach (var (id, cursor) in org.Cursors)
            {
                if (now - cursor.LastUsed > QueryCursor.IdleLifetime)
                {
                    org.Cursors.TryRemove(id, out _);
                }
            }
        }
        sandbox.Tokens.Sweep();
    }

    private static void Mutate(Org org, ActivitySettings settings)
    {
        var rng = org.Activity.Random;
        var type = org.Catalog.Find(settings.Objects[rng.Next(settings.Objects.Count)])!;
        var roll = rng.Next(settings.CreateWeight + settings.UpdateWeight + settings.DeleteWeight);
        if (roll < settings.CreateWeight)
        {
            RecordWriter.InsertValues(org, type, SeedGenerator.NewValues(org, type, rng));
            org.Activity.CountCreate();
            return;
        }
        var victim = PickLive(org, type, rng);
        if (victim is null)
        {
            RecordWriter.InsertValues(org, type, SeedGenerator.NewValues(org, type, rng));
            org.Activity.CountCreate();
            return;
        }
        if (roll < settings.CreateWeight + settings.UpdateWeight)
        {
            // One update in ten is a "system" change that moves only SystemModstamp.
            if (rng.Next(10) == 0)
            {
                RecordWriter.Touch(org, victim);
            }
            else
            {
                var fresh = SeedGenerator.NewValues(org, type, rng);
                var field = UpdatableField(type, fresh, rng);
                RecordWriter.UpdateValues(org, victim, values => values[field.Ordinal] = fresh[field.Ordinal]);
            }
            org.Activity.CountUpdate();
            return;
        }
        RecordWriter.Delete(org, [victim.Id], allOrNone: true, org.UserId);
        org.Activity.CountDelete();
    }

    /// <summary>A user-editable field the generator filled in, so the update is a realistic value change.</summary>
    private static FieldDef UpdatableField(ObjectDef type, object?[] fresh, Random rng)
    {
        var candidates = type.Fields.Where(f => f.Updateable && f.Ordinal >= 0 && f.Type is not FieldType.Reference
            && f.Kind is ValueKind.String or ValueKind.Int or ValueKind.Double && fresh[f.Ordinal] is not null).ToArray();
        return candidates[rng.Next(candidates.Length)];
    }

    private static Record? PickLive(Org org, ObjectDef type, Random rng)
    {
        var rows = org.Table(type).Snapshot().Span;
        for (var attempt = 0; attempt < 8 && rows.Length > 0; attempt++)
        {
            if (rows[rng.Next(rows.Length)] is { IsDeleted: false } record)
            {
                return record;
            }
        }
        return null;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Live activity failed for org {OrgId}")]
    private static partial void LogMutationFailed(ILogger logger, Exception exception, string orgId);
}
