using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using Sequin.Platform.Data;
using Sequin.Platform.Database;
using Sequin.Platform.Security;
using Sequin.Sources;
using Sequin.Sources.Salesforce;

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

        var values = JsonSerializer.Deserialize<Dictionary<string, string>>(secrets.Unprotect(SecretPurposes.SourceCredentials, protectedText)) ?? [];
        var connector = connection.Kind switch
        {
            "salesforce" => salesforce.Create(new SourceCredentials(values), new CredentialSink(platform.DataSource, secrets, connection.Id)),
            _ => throw new NotSupportedException($"no connector for '{connection.Kind}'"),
        };
        return (connection, connector);
    }

    private sealed class CredentialSink(NpgsqlDataSource dataSource, ISecretProtector secrets, Guid connectionId) : ICredentialSink
    {
        public async Task SaveAsync(SourceCredentials credentials, CancellationToken cancellationToken)
        {
            await using var command = dataSource.CreateCommand(
                "update source_connections set credentials_protected = $2, updated_at = now() where id = $1");
            command.Parameters.AddWithValue(connectionId);
            command.Parameters.AddWithValue(secrets.Protect(SecretPurposes.SourceCredentials, JsonSerializer.Serialize(credentials.Values)));
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }
}
