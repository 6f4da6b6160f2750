using Microsoft.EntityFrameworkCore;
using Npgsql;
using Sequin.ControlPlane.Audit;
using Sequin.ControlPlane.Connections;
using Sequin.ControlPlane.Hosting;
using Sequin.Platform.Data;
using Sequin.Platform.Security;
using Sequin.Proxy.Auth;
using Sequin.Sources;
using Sequin.Sync;

namespace Sequin.ControlPlane.Syncs;

/// <summary>
/// Creates a sync: checks every object and field against the source (describe), prepares the destination (the
/// organization's hosted database with its engine role, or the customer's own Postgres after a connection test),
/// creates the sync's proxy credential and read-only role, and records the sync for the workers, which pick it up
/// within seconds (backfill, then live).
/// </summary>
internal sealed class CreateSyncCommand(
    TenantDbContext db,
    TenantScope scope,
    ConnectorProvider connectors,
    HostedDatabases hosted,
    ISecretProtector secrets,
    AuditLog audit,
    TimeProvider time)
{
    public async Task<CreateSyncResult> ExecuteAsync(CreateSyncRequest request, CancellationToken cancellationToken)
    {
        var schema = request.Schema ?? "salesforce";
        var opened = await connectors.OpenAsync(request.ConnectionId, cancellationToken);
        if (opened is not var (connection, connector))
        {
            return CreateSyncResult.Invalid("connectionId", "No such connection in this organization.");
        }

        // Every object and field must exist upstream before anything is created.
        var tables = new List<(string Object, string Table, string[]? Fields)>();
        await using (connector)
        {
            foreach (var table in request.Tables)
            {
                SourceObject described;
                try
                {
                    described = await connector.DescribeObjectAsync(table.Object, cancellationToken);
                }
                catch (SourceAuthException e)
                {
                    return CreateSyncResult.Invalid("connectionId", $"The connection's credentials were rejected ({e.Message}); reconnect the source.");
                }
                catch (SourceException)
                {
                    return CreateSyncResult.Invalid("tables", $"Object '{table.Object}' does not exist in the source or cannot be described.");
                }

                string[]? fields = null;
                if (table.Fields is { } requested)
                {
                    var unknown = requested.Where(f => described.Find(f) is null).ToList();
                    if (unknown.Count > 0)
                    {
                        return CreateSyncResult.Invalid("tables", $"{described.Name} has no field(s) {string.Join(", ", unknown)}.");
                    }

                    fields = requested.Select(f => described.Find(f)!.Name).Distinct(StringComparer.Ordinal).ToArray();
                }

                tables.Add((described.Name, Naming.SnakeCase(described.Name), fields));
            }
        }

        var orgId = scope.OrgId;
        var now = time.GetUtcNow();
        var destination = request.Destination?.Kind == "external"
            ? await ExternalDestinationAsync(orgId, request.Destination.ConnectionString!, now, cancellationToken)
            : await HostedDestinationAsync(orgId, now, cancellationToken);
        if (destination.Error is { } destinationError)
        {
            return CreateSyncResult.Invalid("destination.connectionString", destinationError);
        }

        var target = destination.Destination!;
        if (await db.Syncs.AnyAsync(s => s.DestinationId == target.Id && s.SchemaName == schema, cancellationToken))
        {
            return CreateSyncResult.Conflict($"Schema '{schema}' is already used by another sync in this destination; choose another schema name.");
        }

        var sync = new Platform.Data.Sync
        {
            Id = Guid.CreateVersion7(),
            OrgId = orgId,
            ConnectionId = connection.Id,
            DestinationId = target.Id,
            SchemaName = schema,
            State = "backfilling",
            PollIntervalMs = request.PollIntervalMs ?? 1000,
            Name = request.Name?.Trim(),
            CreatedAt = now,
            UpdatedAt = now,
        };
        var shortId = HostedDatabases.Short(sync.Id);
        var proxyPassword = HostedDatabases.NewPassword();
        var verifier = ScramVerifier.FromPassword(proxyPassword);
        string backendRole, backendPassword;
        if (target.Kind == "hosted")
        {
            backendRole = $"sq_{shortId}_proxy";
            backendPassword = HostedDatabases.NewPassword();
            var readPassword = HostedDatabases.NewPassword();
            sync.ReadRole = $"sq_{shortId}_read";
            sync.ReadPasswordProtected = secrets.Protect(SecretPurposes.DestinationPassword, readPassword);
            await hosted.CreateSyncRolesAsync(orgId, schema, backendRole, backendPassword, sync.ReadRole, readPassword, cancellationToken);
        }
        else
        {
            backendRole = target.Username;
            backendPassword = target.PasswordProtected is { } p ? secrets.Unprotect(SecretPurposes.DestinationPassword, p) : "";
        }

        try
        {
            db.Syncs.Add(sync);
            foreach (var (objectName, table, fields) in tables)
            {
                db.SyncTables.Add(new SyncTable
                {
                    Id = Guid.CreateVersion7(),
                    SyncId = sync.Id,
                    OrgId = orgId,
                    ObjectName = objectName,
                    TableName = table,
                    State = "pending",
                    SelectedFields = fields,
                });
            }

            db.ProxyCredentials.Add(new ProxyCredential
            {
                Id = Guid.CreateVersion7(),
                OrgId = orgId,
                SyncId = sync.Id,
                Username = $"sq_{shortId}",
                ScramSalt = verifier.Salt,
                ScramIterations = verifier.Iterations,
                StoredKey = verifier.StoredKey,
                ServerKey = verifier.ServerKey,
                DatabaseName = target.DatabaseName,
                BackendRole = backendRole,
                BackendHost = target.Host,
                BackendPort = target.Port,
                BackendPasswordProtected = secrets.Protect(SecretPurposes.BackendPassword, backendPassword),
                PasswordProtected = secrets.Protect(SecretPurposes.ProxyPassword, proxyPassword),
                CreatedAt = now,
            });
            audit.Record("sync.created", "sync", sync.Id.ToString(), new
            {
                sync.SchemaName,
                destination = target.Kind,
                objects = tables.Select(t => t.Object).ToArray(),
            });
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException) when (target.Kind == "hosted")
        {
            await hosted.DropRolesAsync(orgId, [backendRole, sync.ReadRole!], CancellationToken.None);
            throw;
        }

        return CreateSyncResult.Ok(sync.Id);
    }

    private async Task<(Destination? Destination, string? Error)> HostedDestinationAsync(Guid orgId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var existing = await db.Destinations.SingleOrDefaultAsync(d => d.Kind == "hosted", cancellationToken);
        if (existing is not null)
        {
            await hosted.EnsureOrganizationDatabaseAsync(orgId, secrets.Unprotect(SecretPurposes.DestinationPassword, existing.PasswordProtected!), cancellationToken);
            return (existing, null);
        }

        var enginePassword = HostedDatabases.NewPassword();
        await hosted.EnsureOrganizationDatabaseAsync(orgId, enginePassword, cancellationToken);
        var destination = new Destination
        {
            Id = Guid.CreateVersion7(),
            OrgId = orgId,
            Kind = "hosted",
            Host = hosted.AdminHost,
            Port = hosted.AdminPort,
            DatabaseName = HostedDatabases.DatabaseName(orgId),
            Username = HostedDatabases.EngineRole(orgId),
            PasswordProtected = secrets.Protect(SecretPurposes.DestinationPassword, enginePassword),
            SslMode = "disable",
            CreatedAt = now,
        };
        db.Destinations.Add(destination);
        await db.SaveChangesAsync(cancellationToken);
        return (destination, null);
    }

    private async Task<(Destination? Destination, string? Error)> ExternalDestinationAsync(Guid orgId, string connectionString, DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        if (await HostedDatabases.TryConnectAsync(connectionString, cancellationToken) is { } problem)
        {
            return (null, $"Cannot connect to the destination: {problem}");
        }

        var builder = new NpgsqlConnectionStringBuilder(HostedDatabases.Normalize(connectionString));
        if (string.IsNullOrEmpty(builder.Database) || string.IsNullOrEmpty(builder.Username))
        {
            return (null, "The connection string needs Database and Username.");
        }

        var destination = new Destination
        {
            Id = Guid.CreateVersion7(),
            OrgId = orgId,
            Kind = "external",
            Host = builder.Host!,
            Port = builder.Port,
            DatabaseName = builder.Database,
            Username = builder.Username,
            PasswordProtected = builder.Password is { Length: > 0 } p ? secrets.Protect(SecretPurposes.DestinationPassword, p) : null,
            SslMode = builder.SslMode.ToString().ToLowerInvariant(),
            CreatedAt = now,
        };
        db.Destinations.Add(destination);
        await db.SaveChangesAsync(cancellationToken);
        return (destination, null);
    }
}

internal sealed record CreateSyncResult(Guid? SyncId, string? Field, string? Error, bool IsConflict)
{
    public static CreateSyncResult Ok(Guid id) => new(id, null, null, false);

    public static CreateSyncResult Invalid(string field, string error) => new(null, field, error, false);

    public static CreateSyncResult Conflict(string error) => new(null, null, error, true);
}
