using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Sequin.ControlPlane.Audit;
using Sequin.Platform.Data;
using Sequin.Platform.Security;

namespace Sequin.ControlPlane.Connections;

/// <summary>
/// Deletes a connection that no sync uses: revokes the grant upstream (Salesforce <c>/services/oauth2/revoke</c>
/// with the refresh token), then removes the row and its encrypted tokens. A failed revoke is recorded in the
/// audit log but does not keep the connection.
/// </summary>
internal sealed class DeleteConnectionCommand(TenantDbContext db, SalesforceOAuthClient oauth, ISecretProtector secrets, AuditLog audit)
{
    public async Task<DeleteConnectionResult> ExecuteAsync(Guid connectionId, CancellationToken cancellationToken)
    {
        var connection = await db.SourceConnections.SingleOrDefaultAsync(c => c.Id == connectionId, cancellationToken);
        if (connection is null)
        {
            return DeleteConnectionResult.NotFound;
        }

        if (await db.Syncs.AnyAsync(s => s.ConnectionId == connectionId, cancellationToken))
        {
            return DeleteConnectionResult.InUse;
        }

        string? revokeProblem = null;
        if (connection.CredentialsProtected is { } protectedText)
        {
            var values = JsonSerializer.Deserialize<Dictionary<string, string>>(secrets.Unprotect(SecretPurposes.SourceCredentials, protectedText)) ?? [];
            var token = values.GetValueOrDefault("refresh_token") ?? values.GetValueOrDefault("access_token");
            if (token is not null && values.GetValueOrDefault("login_url") is { } loginUrl)
            {
                revokeProblem = await oauth.RevokeAsync(loginUrl, token, cancellationToken);
            }
        }

        db.SourceConnections.Remove(connection);
        audit.Record("connection.deleted", "connection", connection.Id.ToString(), new { connection.Name, revoked = revokeProblem is null, revokeProblem });
        await db.SaveChangesAsync(cancellationToken);
        return DeleteConnectionResult.Deleted;
    }
}

internal enum DeleteConnectionResult
{
    Deleted,
    NotFound,
    InUse,
}
