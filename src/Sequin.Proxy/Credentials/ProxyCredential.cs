using Sequin.Proxy.Auth;

namespace Sequin.Proxy.Credentials;

/// <summary>A resolved credential: SCRAM verifier for the client and the backend route.</summary>
internal sealed record ProxyCredential(
    string Username,
    ScramVerifier Verifier,
    string Database,
    string BackendHost,
    int BackendPort,
    string BackendRole,
    string? BackendPassword);

/// <summary>Looks up proxy credentials by client user name.</summary>
internal interface ICredentialStore
{
    /// <summary>The credential of <paramref name="username"/>, or null when there is none (or it is revoked).</summary>
    ValueTask<ProxyCredential?> FindAsync(string username, CancellationToken cancellationToken);
}
