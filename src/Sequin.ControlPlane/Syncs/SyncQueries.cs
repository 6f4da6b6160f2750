using Microsoft.EntityFrameworkCore;
using Sequin.Platform.Data;

namespace Sequin.ControlPlane.Syncs;

/// <summary>Reads syncs of the tenant with the state of their tables (mirrored by the workers into <c>sync_tables</c>).</summary>
internal sealed class GetSyncsQuery(TenantDbContext db, TimeProvider time)
{
    public async Task<IReadOnlyList<SyncResponse>> ListAsync(CancellationToken cancellationToken) =>
        await ReadAsync(null, cancellationToken);

    public async Task<SyncResponse?> GetAsync(Guid syncId, CancellationToken cancellationToken) =>
        (await ReadAsync(syncId, cancellationToken)).SingleOrDefault();

    private async Task<IReadOnlyList<SyncResponse>> ReadAsync(Guid? syncId, CancellationToken cancellationToken)
    {
        var syncs = await db.Syncs.AsNoTracking()
            .Where(s => syncId == null || s.Id == syncId)
            .OrderBy(s => s.CreatedAt)
            .ToListAsync(cancellationToken);
        if (syncs.Count == 0)
        {
            return [];
        }

        var ids = syncs.Select(s => s.Id).ToList();
        var destinationIds = syncs.Select(s => s.DestinationId).Distinct().ToList();
        var tables = (await db.SyncTables.AsNoTracking().Where(t => ids.Contains(t.SyncId)).OrderBy(t => t.ObjectName).ToListAsync(cancellationToken))
            .ToLookup(t => t.SyncId);
        var destinations = await db.Destinations.AsNoTracking().Where(d => destinationIds.Contains(d.Id)).ToDictionaryAsync(d => d.Id, cancellationToken);
        var connectionIds = syncs.Select(s => s.ConnectionId).Distinct().ToList();
        var usage = await db.SourceConnections.AsNoTracking().Where(c => connectionIds.Contains(c.Id))
            .ToDictionaryAsync(c => c.Id, c => c.ApiUsed is { } used && c.ApiMax is > 0 && c.ApiUsageAt is { } at
                ? new ApiUsageResponse(used, c.ApiMax.Value, Math.Round((double)used / c.ApiMax.Value, 4), at)
                : null, cancellationToken);
        var now = time.GetUtcNow();
        return syncs.Select(s =>
        {
            var d = destinations[s.DestinationId];
            return new SyncResponse(s.Id, s.Name, s.SchemaName, s.State, s.ConnectionId,
                new DestinationSummary(d.Id, d.Kind, d.Host, d.Port, d.DatabaseName), s.PollIntervalMs, s.CreatedAt, s.LastError,
                tables[s.Id].Select(t => new SyncTableResponse(t.ObjectName, t.TableName, s.State == "paused" ? "paused" : t.State, t.RowsDone,
                    t.RowsEstimated, t.LastSyncedAt,
                    t.State == "live" && t.LastSyncedAt is { } last ? Math.Max(0, (now - last).TotalSeconds) : null,
                    t.LastError, t.SelectedFields)).ToList(),
                usage.GetValueOrDefault(s.ConnectionId));
        }).ToList();
    }
}
