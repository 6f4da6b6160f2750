using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Sequin.ControlPlane.Audit;
using Sequin.ControlPlane.Connections;
using Sequin.ControlPlane.Hosting;
using Sequin.Platform.Data;
using Sequin.Platform.Security;
using Sequin.Proxy;
using Sequin.Proxy.Auth;
using Sequin.Sources;
using Sequin.Sync;

namespace Sequin.ControlPlane.Syncs;

/// <summary>Pause, resume, resync a table: checked against the tenant, then handed to the sync engine (acts within one poll).</summary>
internal sealed class ControlSyncCommand(TenantDbContext db, SyncAdmin admin, AuditLog audit)
{
    public async Task<bool?> PauseAsync(Guid syncId, CancellationToken cancellationToken) =>
        await RunAsync(syncId, "sync.paused", null, () => admin.PauseAsync(syncId, cancellationToken), cancellationToken);

    public async Task<bool?> ResumeAsync(Guid syncId, CancellationToken cancellationToken) =>
        await RunAsync(syncId, "sync.resumed", null, () => admin.ResumeAsync(syncId, cancellationToken), cancellationToken);

    public async Task<bool?> ResyncAsync(Guid syncId, string objectOrTable, CancellationToken cancellationToken) =>
        await RunAsync(syncId, "sync.table_resync_requested", new { table = objectOrTable },
            () => admin.ResyncTableAsync(syncId, objectOrTable, cancellationToken), cancellationToken);

    /// <summary>Null: no such sync in the tenant. False: the engine refused (e.g. unknown table).</summary>
    private async Task<bool?> RunAsync(Guid syncId, string action, object? data, Func<Task<bool>> command, CancellationToken cancellationToken)
    {
        if (!await db.Syncs.AnyAsync(s => s.Id == syncId, cancellationToken))
        {
            return null;
        }

        if (!await command())
        {
            return false;
        }

        audit.Record(action, "sync", syncId.ToString(), data);
        await db.SaveChangesAsync(cancellationToken);
        return true;
    }
}

/// <summary>
/// Replaces a sync's selection: new objects are added (backfilled), removed ones are dropped from the sync, and
/// changed field lists are applied by the running job (columns added or dropped without losing rows).
/// </summary>
internal sealed class UpdateSyncCommand(TenantDbContext db, ConnectorProvider connectors, AuditLog audit, TimeProvider time)
{
    public async Task<(bool Found, string? Field, string? Error)> ExecuteAsync(Guid syncId, UpdateSyncRequest request, CancellationToken cancellationToken)
    {
        var sync = await db.Syncs.SingleOrDefaultAsync(s => s.Id == syncId, cancellationToken);
        if (sync is null)
        {
            return (false, null, null);
        }

        if (request.PollIntervalMs is { } poll)
        {
            sync.PollIntervalMs = poll;
        }

        if (request.Tables is { } wanted)
        {
            if (await connectors.OpenAsync(sync.ConnectionId, cancellationToken) is not var (_, connector))
            {
                return (true, "tables", "The sync's connection no longer exists.");
            }

            var existing = await db.SyncTables.Where(t => t.SyncId == syncId).ToListAsync(cancellationToken);
            var keep = new HashSet<Guid>();
            await using (connector)
            {
                foreach (var table in wanted)
                {
                    SourceObject described;
                    try
                    {
                        described = await connector.DescribeObjectAsync(table.Object, cancellationToken);
                    }
                    catch (SourceException)
                    {
                        return (true, "tables", $"Object '{table.Object}' does not exist in the source or cannot be described.");
                    }

                    var unknown = table.Fields?.Where(f => described.Find(f) is null).ToList() ?? [];
                    if (unknown.Count > 0)
                    {
                        return (true, "tables", $"{described.Name} has no field(s) {string.Join(", ", unknown)}.");
                    }

                    var fields = table.Fields?.Select(f => described.Find(f)!.Name).Distinct(StringComparer.Ordinal).ToArray();
                    var current = existing.FirstOrDefault(t => string.Equals(t.ObjectName, described.Name, StringComparison.Ordinal));
                    if (current is null)
                    {
                        db.SyncTables.Add(new SyncTable
                        {
                            Id = Guid.CreateVersion7(), SyncId = syncId, OrgId = sync.OrgId, ObjectName = described.Name,
                            TableName = Naming.SnakeCase(described.Name), State = "pending", SelectedFields = fields,
                        });
                    }
                    else
                    {
                        current.SelectedFields = fields;
                        keep.Add(current.Id);
                    }
                }
            }

            db.SyncTables.RemoveRange(existing.Where(t => !keep.Contains(t.Id)));
        }

        sync.UpdatedAt = time.GetUtcNow();
        audit.Record("sync.updated", "sync", syncId.ToString(), new { tables = request.Tables?.Select(t => t.Object).ToArray(), request.PollIntervalMs });
        await db.SaveChangesAsync(cancellationToken);
        return (true, null, null);
    }
}

/// <summary>
/// Deletes a sync: its proxy credential and roles go at once (no new sessions; running ones are ended), then the
/// engine drops the schema from the destination and removes the sync.
/// </summary>
internal sealed class DeleteSyncCommand(TenantDbContext db, HostedDatabases hosted, SyncAdmin admin, AuditLog audit)
{
    public async Task<bool> ExecuteAsync(Guid syncId, CancellationToken cancellationToken)
    {
        var sync = await db.Syncs.SingleOrDefaultAsync(s => s.Id == syncId, cancellationToken);
        if (sync is null)
        {
            return false;
        }

        var destination = await db.Destinations.SingleAsync(d => d.Id == sync.DestinationId, cancellationToken);
        var credentials = await db.ProxyCredentials.Where(p => p.SyncId == syncId).ToListAsync(cancellationToken);
        if (destination.Kind == "hosted")
        {
            var roles = credentials.Select(c => c.BackendRole).Append(sync.ReadRole).OfType<string>();
            await hosted.DropRolesAsync(sync.OrgId, roles, cancellationToken);
        }

        db.ProxyCredentials.RemoveRange(credentials);
        audit.Record("sync.deleted", "sync", syncId.ToString(), new { sync.SchemaName });
        await db.SaveChangesAsync(cancellationToken);
        await admin.DeleteAsync(syncId, cancellationToken);
        return true;
    }
}

/// <summary>
/// Connection instructions of a sync: the proxy (reads and API-first writes) and direct read-only access. Passwords
/// are included only when revealed; each reveal is audited.
/// </summary>
internal sealed class ConnectionInstructionsQuery(
    TenantDbContext db,
    ISecretProtector secrets,
    HostedDatabases hosted,
    IOptions<ProxyOptions> proxyOptions,
    IOptions<ControlPlaneOptions> options,
    AuditLog audit)
{
    public async Task<ConnectionInstructions?> GetAsync(Guid syncId, bool reveal, CancellationToken cancellationToken)
    {
        var sync = await db.Syncs.AsNoTracking().SingleOrDefaultAsync(s => s.Id == syncId, cancellationToken);
        var credential = await db.ProxyCredentials.AsNoTracking().Where(p => p.SyncId == syncId && p.RevokedAt == null)
            .OrderByDescending(p => p.CreatedAt).FirstOrDefaultAsync(cancellationToken);
        if (sync is null || credential is null)
        {
            return null;
        }

        var destination = await db.Destinations.AsNoTracking().SingleAsync(d => d.Id == sync.DestinationId, cancellationToken);
        var (proxyHost, proxyPort) = ProxyAddress();
        var proxyPassword = reveal && credential.PasswordProtected is { } pp ? secrets.Unprotect(SecretPurposes.ProxyPassword, pp) : null;
        var proxy = Endpoint(proxyHost, proxyPort, credential.DatabaseName, credential.Username, proxyPassword,
            "Reads pass through; INSERT/UPDATE/DELETE on synced tables are applied to the source first.");

        ConnectionEndpoint? direct = null;
        if (destination.Kind == "hosted" && sync.ReadRole is { } readRole)
        {
            var (host, port) = hosted.Public;
            var readPassword = reveal && sync.ReadPasswordProtected is { } rp ? secrets.Unprotect(SecretPurposes.DestinationPassword, rp) : null;
            direct = Endpoint(host, port, destination.DatabaseName, readRole, readPassword,
                "Read-only: direct writes to synced tables are refused; write through the proxy.");
        }
        else if (destination.Kind == "external")
        {
            direct = Endpoint(destination.Host, destination.Port, destination.DatabaseName, destination.Username,
                reveal && destination.PasswordProtected is { } dp ? secrets.Unprotect(SecretPurposes.DestinationPassword, dp) : null,
                "Your own database: writes made here bypass the source; use the proxy to write.");
        }

        if (reveal)
        {
            audit.Record("sync.credentials_revealed", "sync", syncId.ToString());
            await db.SaveChangesAsync(cancellationToken);
        }

        return new ConnectionInstructions(proxy, direct);
    }

    private (string Host, int Port) ProxyAddress()
    {
        var settings = proxyOptions.Value;
        var host = options.Value.ProxyPublicHost
            ?? (settings.Host is "0.0.0.0" or "::" or "" ? "127.0.0.1" : settings.Host);
        var port = options.Value.ProxyPublicPort ?? settings.Port;
        return (host, port);
    }

    internal static ConnectionEndpoint Endpoint(string host, int port, string database, string user, string? password, string note)
    {
        var userInfo = password is null ? Uri.EscapeDataString(user) : $"{Uri.EscapeDataString(user)}:{Uri.EscapeDataString(password)}";
        var url = $"postgres://{userInfo}@{host}:{port}/{Uri.EscapeDataString(database)}";
        return new ConnectionEndpoint(host, port, database, user, password, url, $"psql \"{url}\"", note);
    }
}

/// <summary>Replaces the proxy password (new SCRAM verifier) or the read-only role's password; returns the new instructions.</summary>
internal sealed class RotateCredentialsCommand(TenantDbContext db, ISecretProtector secrets, HostedDatabases hosted, AuditLog audit, TimeProvider time)
{
    public async Task<bool?> ExecuteAsync(Guid syncId, string which, CancellationToken cancellationToken)
    {
        var sync = await db.Syncs.SingleOrDefaultAsync(s => s.Id == syncId, cancellationToken);
        if (sync is null)
        {
            return null;
        }

        var password = HostedDatabases.NewPassword();
        if (which == "proxy")
        {
            var credential = await db.ProxyCredentials.Where(p => p.SyncId == syncId && p.RevokedAt == null)
                .OrderByDescending(p => p.CreatedAt).FirstOrDefaultAsync(cancellationToken);
            if (credential is null)
            {
                return null;
            }

            var verifier = ScramVerifier.FromPassword(password);
            credential.ScramSalt = verifier.Salt;
            credential.ScramIterations = verifier.Iterations;
            credential.StoredKey = verifier.StoredKey;
            credential.ServerKey = verifier.ServerKey;
            credential.PasswordProtected = secrets.Protect(SecretPurposes.ProxyPassword, password);
            credential.RotatedAt = time.GetUtcNow();
        }
        else
        {
            if (sync.ReadRole is null)
            {
                return false;
            }

            await hosted.SetPasswordAsync(sync.ReadRole, password, cancellationToken);
            sync.ReadPasswordProtected = secrets.Protect(SecretPurposes.DestinationPassword, password);
        }

        audit.Record("sync.credentials_rotated", "sync", syncId.ToString(), new { which });
        await db.SaveChangesAsync(cancellationToken);
        return true;
    }
}
