using Microsoft.EntityFrameworkCore;
using Sequin.Platform.Data;
using Sequin.Platform.Database;
using Sequin.Platform.Security;
using Sequin.Sources;
using Sequin.Sources.Salesforce;
using Sequin.Sync;

namespace Sequin.ControlPlane.Connections;

/// <summary>
/// Opens a connector for one of the tenant's connections (decrypting its credentials) for discovery and tests.
/// Tokens the connector refreshes are written back encrypted.
/// </summary>
internal sealed class ConnectorProvider(TenantDbContext db, SalesforceConnectorFactory salesforce, ISecretProtector secrets, PlatformDatabase platform)
{
    /// <summary>The connector, or null when the connection does not exist in the tenant.</summary>
    public async Task<(SourceConnection Connection, ISourceConnector Connector)?> OpenAsync(Guid connectionId, CancellationToken cancellationToken)
    {
        var connection = await db.SourceConnections.AsNoTracking().SingleOrDefaultAsync(c => c.Id == connectionId, cancellationToken);
        if (connection?.CredentialsProtected is not { } protectedText)
        {
            return null;
        }

        var credentials = ConnectionCredentials.Unprotect(secrets, protectedText);
        var connector = connection.Kind switch
        {
            "salesforce" => salesforce.Create(credentials, ConnectionCredentials.SinkFor(platform, secrets, connection.Id), connectionId: connection.Id),
            _ => throw new NotSupportedException($"no connector for '{connection.Kind}'"),
        };
        return (connection, connector);
    }
}
