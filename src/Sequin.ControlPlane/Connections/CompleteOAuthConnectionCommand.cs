using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Sequin.ControlPlane.Audit;
using Sequin.ControlPlane.Auth;
using Sequin.Platform.Data;
using Sequin.Platform.Security;

namespace Sequin.ControlPlane.Connections;

/// <summary>
/// The OAuth callback: checks the <c>state</c> (known, unexpired, unused, same caller), marks it used atomically
/// (a replayed callback finds it used), exchanges the code with the PKCE verifier, and stores the connection with
/// its tokens encrypted (<see cref="SecretPurposes.SourceCredentials"/>).
/// </summary>
internal sealed class CompleteOAuthConnectionCommand(
    PlatformDbContext db,
    SalesforceOAuthClient oauth,
    IOptions<SalesforceSourceOptions> options,
    ISecretProtector secrets,
    AuditLog audit,
    TimeProvider time)
{
    public async Task<CompleteOAuthResult> ExecuteAsync(string? code, string? state, string? error, string? errorDescription,
        CurrentActor caller, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(state))
        {
            return CompleteOAuthResult.Fail(400, "The callback has no state parameter.", null);
        }

        var hash = SHA256.HashData(Encoding.ASCII.GetBytes(state));
        var now = time.GetUtcNow();
        var pending = await db.OAuthStates.SingleOrDefaultAsync(s => s.StateHash == hash, cancellationToken);
        if (pending is null)
        {
            return CompleteOAuthResult.Fail(400, "Unknown OAuth state: start the connection again.", null);
        }

        if (pending.UsedAt is not null)
        {
            return CompleteOAuthResult.Fail(400, "This OAuth callback was already used; start the connection again.", pending.ReturnTo);
        }

        if (pending.ExpiresAt <= now)
        {
            return CompleteOAuthResult.Fail(400, "The OAuth state expired (10 minutes); start the connection again.", pending.ReturnTo);
        }

        if (pending.UserId is { } starter && caller.UserId != starter)
        {
            return CompleteOAuthResult.Fail(403, "This connection was started in another session; sign in as the user who started it.", pending.ReturnTo);
        }

        // Single use, even under concurrent replays: only one update can see used_at null.
        var claimed = await db.OAuthStates.Where(s => s.StateHash == hash && s.UsedAt == null)
            .ExecuteUpdateAsync(s => s.SetProperty(x => x.UsedAt, now), cancellationToken);
        if (claimed == 0)
        {
            return CompleteOAuthResult.Fail(400, "This OAuth callback was already used; start the connection again.", pending.ReturnTo);
        }

        if (!string.IsNullOrEmpty(error))
        {
            return CompleteOAuthResult.Fail(400, $"Salesforce did not authorize the connection: {error} {errorDescription}".Trim(), pending.ReturnTo);
        }

        if (string.IsNullOrEmpty(code))
        {
            return CompleteOAuthResult.Fail(400, "The callback has no code parameter.", pending.ReturnTo);
        }

        var settings = options.Value;
        SalesforceTokenResponse tokens;
        try
        {
            tokens = await oauth.ExchangeCodeAsync(pending.LoginUrl, code, settings.ClientId, settings.ClientSecret, pending.RedirectUri,
                secrets.Unprotect(SecretPurposes.SourceCredentials, pending.CodeVerifierProtected), cancellationToken);
        }
        catch (OAuthExchangeException e)
        {
            return CompleteOAuthResult.Fail(502, e.Message, pending.ReturnTo);
        }

        var credentials = new Dictionary<string, string>
        {
            ["instance_url"] = tokens.InstanceUrl!.TrimEnd('/'),
            ["access_token"] = tokens.AccessToken!,
            ["client_id"] = settings.ClientId,
            ["login_url"] = pending.LoginUrl,
        };
        if (!string.IsNullOrEmpty(tokens.RefreshToken))
        {
            credentials["refresh_token"] = tokens.RefreshToken;
        }

        if (!string.IsNullOrEmpty(settings.ClientSecret))
        {
            credentials["client_secret"] = settings.ClientSecret;
        }

        var connection = new SourceConnection
        {
            Id = Guid.CreateVersion7(),
            OrgId = pending.OrgId,
            Kind = pending.Kind,
            Name = pending.ConnectionName,
            Status = "active",
            InstanceUrl = credentials["instance_url"],
            ExternalAccountId = OrgIdFromIdentityUrl(tokens.Id),
            CredentialsProtected = secrets.Protect(SecretPurposes.SourceCredentials, JsonSerializer.Serialize(credentials)),
            CreatedAt = now,
            UpdatedAt = now,
        };
        db.SourceConnections.Add(connection);
        db.AuditEvents.Add(audit.Build(pending.OrgId, pending.UserId, "connection.created", "connection", connection.Id.ToString(),
            new { connection.Kind, connection.Name, pending.Environment, connection.InstanceUrl }));
        await db.SaveChangesAsync(cancellationToken);
        return CompleteOAuthResult.Ok(connection, pending.ReturnTo);
    }

    /// <summary>The org id (<c>00D…</c>) from the identity URL <c>…/id/{orgId}/{userId}</c>.</summary>
    private static string? OrgIdFromIdentityUrl(string? identityUrl)
    {
        if (!Uri.TryCreate(identityUrl, UriKind.Absolute, out var uri))
        {
            return null;
        }

        var segments = uri.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var index = Array.LastIndexOf(segments, "id");
        return index >= 0 && index + 1 < segments.Length ? segments[index + 1] : null;
    }
}

internal sealed record CompleteOAuthResult(SourceConnection? Connection, int Status, string? Error, string? ReturnTo)
{
    public static CompleteOAuthResult Ok(SourceConnection connection, string? returnTo) => new(connection, 201, null, returnTo);

    public static CompleteOAuthResult Fail(int status, string error, string? returnTo) => new(null, status, error, returnTo);
}
