using System.Text.Json;
using Sequin.Platform.Database;
using Sequin.Platform.Security;
using Sequin.Sources;

namespace Sequin.Sync;

/// <summary>
/// A source connection's credentials at rest: the JSON of <see cref="SourceCredentials.Values"/> encrypted with
/// <see cref="ISecretProtector"/> (purpose <see cref="SecretPurposes.SourceCredentials"/>) in
/// <c>source_connections.credentials_protected</c>. One definition for the control plane, the sync engine and the
/// proxy's write adapter.
/// </summary>
public static class ConnectionCredentials
{
    /// <summary>Encrypts credentials for storage.</summary>
    public static string Protect(ISecretProtector secrets, SourceCredentials credentials) =>
        secrets.Protect(SecretPurposes.SourceCredentials, JsonSerializer.Serialize(credentials.Values));

    /// <summary>Decrypts stored credentials.</summary>
    /// <exception cref="System.Security.Cryptography.CryptographicException">tampered text or unknown key.</exception>
    public static SourceCredentials Unprotect(ISecretProtector secrets, string protectedText) =>
        new(JsonSerializer.Deserialize<Dictionary<string, string>>(secrets.Unprotect(SecretPurposes.SourceCredentials, protectedText)) ?? []);

    /// <summary>A sink that stores refreshed credentials of <paramref name="connectionId"/> (encrypted) in the platform database.</summary>
    public static ICredentialSink SinkFor(PlatformDatabase platform, ISecretProtector secrets, Guid connectionId) =>
        new PlatformSink(platform, secrets, connectionId);

    private sealed class PlatformSink(PlatformDatabase platform, ISecretProtector secrets, Guid connectionId) : ICredentialSink
    {
        public async Task SaveAsync(SourceCredentials credentials, CancellationToken cancellationToken)
        {
            await using var command = platform.DataSource.CreateCommand(
                "update source_connections set credentials_protected = $2, instance_url = coalesce($3, instance_url), updated_at = now() where id = $1");
            command.Parameters.AddWithValue(connectionId);
            command.Parameters.AddWithValue(Protect(secrets, credentials));
            command.Parameters.AddWithValue((object?)credentials.Get("instance_url") ?? DBNull.Value);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }
}
