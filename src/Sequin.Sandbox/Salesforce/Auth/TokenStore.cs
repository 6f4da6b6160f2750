using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace Sequin.Sandbox.Salesforce.Auth;

/// <summary>An issued access token: which org and user it acts for, and until when.</summary>
internal sealed record AccessGrant(string OrgId, string UserId, DateTimeOffset ExpiresAt, string? RefreshToken);

/// <summary>A refresh token (long-lived, until revoked).</summary>
internal sealed record RefreshGrant(string OrgId, string UserId, string ClientId);

/// <summary>A pending authorization code: single use, valid for a few minutes.</summary>
internal sealed record AuthorizationCode(string OrgId, string ClientId, string? RedirectUri, string? CodeChallenge,
    string? CodeChallengeMethod, DateTimeOffset ExpiresAt);

/// <summary>
/// OAuth state: authorization codes, access tokens and refresh tokens, all in memory. Tokens are
/// random and opaque, shaped like Salesforce's (<c>00D...!...</c> for access tokens).
/// </summary>
internal sealed class TokenStore(TimeProvider time)
{
    /// <summary>Salesforce authorization codes expire after 15 minutes; a shorter life catches slow clients sooner.</summary>
    public static readonly TimeSpan CodeLifetime = TimeSpan.FromMinutes(5);

    private readonly ConcurrentDictionary<string, AccessGrant> _access = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, RefreshGrant> _refresh = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, AuthorizationCode> _codes = new(StringComparer.Ordinal);

    public string IssueCode(AuthorizationCode code)
    {
        var value = "aPrx" + Random(40);
        _codes[value] = code;
        return value;
    }

    /// <summary>Consumes a code; a second use or an expired code gives null (invalid_grant).</summary>
    public AuthorizationCode? RedeemCode(string code) =>
        _codes.TryRemove(code, out var grant) && grant.ExpiresAt > time.GetUtcNow() ? grant : null;

    public (string AccessToken, string? RefreshToken) Issue(string orgId, string userId, string clientId, TimeSpan lifetime,
        bool withRefreshToken, string? existingRefreshToken = null)
    {
        var refresh = existingRefreshToken;
        if (withRefreshToken)
        {
            refresh = "5Aep" + Random(80);
            _refresh[refresh] = new RefreshGrant(orgId, userId, clientId);
        }
        // Salesforce access tokens start with the 15-character org id and an exclamation mark.
        var access = orgId[..15] + "!" + Random(96);
        _access[access] = new AccessGrant(orgId, userId, time.GetUtcNow() + lifetime, refresh);
        return (access, refresh);
    }

    public RefreshGrant? FindRefresh(string token) => _refresh.GetValueOrDefault(token);

    /// <summary>The grant of a live access token; null when unknown, revoked or expired.</summary>
    public AccessGrant? Validate(string token)
    {
        if (!_access.TryGetValue(token, out var grant))
        {
            return null;
        }
        if (grant.ExpiresAt <= time.GetUtcNow())
        {
            _access.TryRemove(token, out _);
            return null;
        }
        return grant;
    }

    /// <summary>Revokes an access or refresh token; a refresh token takes its access tokens with it.</summary>
    public bool Revoke(string token)
    {
        if (_access.TryRemove(token, out _))
        {
            return true;
        }
        if (!_refresh.TryRemove(token, out _))
        {
            return false;
        }
        foreach (var (key, grant) in _access)
        {
            if (grant.RefreshToken == token)
            {
                _access.TryRemove(key, out _);
            }
        }
        return true;
    }

    /// <summary>Revokes every access and refresh token of an org.</summary>
    public void RevokeOrg(string orgId)
    {
        foreach (var (key, grant) in _access)
        {
            if (grant.OrgId == orgId)
            {
                _access.TryRemove(key, out _);
            }
        }
        foreach (var (key, grant) in _refresh)
        {
            if (grant.OrgId == orgId)
            {
                _refresh.TryRemove(key, out _);
            }
        }
    }

    /// <summary>Drops expired access tokens and codes; called by the maintenance loop.</summary>
    public void Sweep()
    {
        var now = time.GetUtcNow();
        foreach (var (key, grant) in _access)
        {
            if (grant.ExpiresAt <= now)
            {
                _access.TryRemove(key, out _);
            }
        }
        foreach (var (key, code) in _codes)
        {
            if (code.ExpiresAt <= now)
            {
                _codes.TryRemove(key, out _);
            }
        }
    }

    private static string Random(int length)
    {
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._";
        return RandomNumberGenerator.GetString(alphabet, length);
    }

    /// <summary>Token response <c>signature</c>: Base64 HMAC-SHA256 over <c>id + issued_at</c>.</summary>
    public static string Sign(string key, string id, string issuedAt) =>
        Convert.ToBase64String(HMACSHA256.HashData(Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(id + issuedAt)));
}
