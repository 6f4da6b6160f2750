using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Sequin.Platform.Security;
using Sequin.Proxy.Auth;

namespace Sequin.Proxy.Credentials;

/// <summary>Credentials from <c>Sequin:Proxy:Credentials</c>; passwords become verifiers at load.</summary>
internal sealed class ConfigurationCredentialStore : ICredentialStore
{
    private readonly Dictionary<string, ProxyCredential> _byUser = new(StringComparer.Ordinal);

    public ConfigurationCredentialStore(IOptions<ProxyOptions> options)
    {
        var o = options.Value;
        foreach (var c in o.Credentials)
        {
            var verifier = (c.Verifier is { Length: > 0 } v ? ScramVerifier.TryParse(v) : null)
                ?? (c.Password is { Length: > 0 } p ? ScramVerifier.FromPassword(p) : null)
                ?? throw new InvalidOperationException($"Sequin:Proxy:Credentials: '{c.Username}' needs a Verifier (SCRAM-SHA-256$…) or a Password");
            _byUser[c.Username] = new ProxyCredential(c.Username, verifier, c.Database,
                c.BackendHost ?? o.Backend.Host, c.BackendPort ?? o.Backend.Port, c.BackendRole, c.BackendPassword);
        }
    }

    public ValueTask<ProxyCredential?> FindAsync(string username, CancellationToken cancellationToken) =>
        ValueTask.FromResult(_byUser.GetValueOrDefault(username));
}

/// <summary>
/// Credentials from the platform database's <c>proxy_credentials</c> (verifier columns of migration 0001, backend
/// route and encrypted backend password of 0003). Used only when the platform database is registered.
/// </summary>
internal sealed partial class PlatformCredentialStore(IServiceProvider services, IOptions<ProxyOptions> options, ILogger<PlatformCredentialStore> logger)
    : ICredentialStore
{
    public async ValueTask<ProxyCredential?> FindAsync(string username, CancellationToken cancellationToken)
    {
        var dataSource = services.GetService<NpgsqlDataSource>();
        if (dataSource is null || !options.Value.UsePlatformCredentials)
        {
            return null;
        }

        try
        {
            await using var command = dataSource.CreateCommand(
                "select scram_salt, scram_iterations, stored_key, server_key, database_name, backend_role, " +
                "backend_host, backend_port, backend_password_protected from proxy_credentials " +
                "where username = $1 and revoked_at is null");
            command.Parameters.Add(new NpgsqlParameter { Value = username });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken))
            {
                return null;
            }

            var verifier = new ScramVerifier(reader.GetFieldValue<byte[]>(0), reader.GetInt32(1), reader.GetFieldValue<byte[]>(2), reader.GetFieldValue<byte[]>(3));
            var protectedPassword = reader.IsDBNull(8) ? null : reader.GetString(8);
            var password = protectedPassword is null ? null
                : services.GetRequiredService<ISecretProtector>().Unprotect(SecretPurposes.BackendPassword, protectedPassword);
            return new ProxyCredential(username, verifier, reader.GetString(4),
                reader.IsDBNull(6) ? options.Value.Backend.Host : reader.GetString(6),
                reader.IsDBNull(7) ? options.Value.Backend.Port : reader.GetInt32(7),
                reader.GetString(5), password);
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException or System.Security.Cryptography.CryptographicException)
        {
            LogLookupFailed(logger, e);
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Proxy credential lookup in the platform database failed")]
    private static partial void LogLookupFailed(ILogger logger, Exception exception);
}

/// <summary>Configuration first, then the platform database.</summary>
internal sealed class CompositeCredentialStore(ConfigurationCredentialStore configuration, PlatformCredentialStore platform) : ICredentialStore
{
    public async ValueTask<ProxyCredential?> FindAsync(string username, CancellationToken cancellationToken) =>
        await configuration.FindAsync(username, cancellationToken) ?? await platform.FindAsync(username, cancellationToken);
}
