using Sequin.Sync.Engine;
using Sequin.Sync.Scheduling;

namespace Sequin.Sync;

/// <summary>
/// Operator commands on syncs until the control plane exists (also behind <c>/admin/syncs</c>). Every command only
/// changes the platform database; the running job acts on it within one poll interval, on whichever host runs it.
/// </summary>
public sealed class SyncAdmin
{
    private readonly SyncStore _store;
    private readonly SyncWorker _worker;

    internal SyncAdmin(SyncStore store, SyncWorker worker)
    {
        _store = store;
        _worker = worker;
    }

    /// <summary>Creates a sync (idempotent by name) and schedules its job. Returns its id.</summary>
    /// <exception cref="ArgumentException">an invalid definition (message says which part).</exception>
    public async Task<Guid> CreateAsync(SyncDefinition definition, CancellationToken cancellationToken = default)
    {
        var id = await _store.CreateAsync(definition, cancellationToken);
        await _worker.ReconcileAsync(cancellationToken);
        return id;
    }

    /// <summary>The id of a sync by name (organization slug <c>default</c> unless given).</summary>
    public Task<Guid?> FindAsync(string name, string organization = "default", CancellationToken cancellationToken = default) =>
        _store.FindAsync(name, organization, cancellationToken);

    /// <summary>Pauses a sync; false when it does not exist.</summary>
    public Task<bool> PauseAsync(Guid syncId, CancellationToken cancellationToken = default) => _store.PauseAsync(syncId, cancellationToken);

    /// <summary>Resumes a paused or failed sync; false when it does not exist.</summary>
    public Task<bool> ResumeAsync(Guid syncId, CancellationToken cancellationToken = default) => _store.ResumeAsync(syncId, cancellationToken);

    /// <summary>Re-backfills one table (object or table name) while the sync runs; false when unknown.</summary>
    public Task<bool> ResyncTableAsync(Guid syncId, string objectOrTable, CancellationToken cancellationToken = default) =>
        _store.RequestResyncAsync(syncId, objectOrTable, cancellationToken);

    /// <summary>Deletes a sync: its job drops the destination schema, then the platform rows go. False when unknown.</summary>
    public Task<bool> DeleteAsync(Guid syncId, CancellationToken cancellationToken = default) => _store.RequestDeleteAsync(syncId, cancellationToken);
}
