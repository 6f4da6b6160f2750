using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sequin.Platform.Data;

namespace Sequin.ControlPlane.Auth;

/// <summary>
/// Authenticates <c>Authorization: Bearer sqn_…</c> API keys. The principal carries the key id and its organization
/// (<see cref="SequinClaims.ApiKeyId"/>, <see cref="SequinClaims.OrgId"/>); such a principal can only ever reach that
/// organization. Revoked or unknown keys fail with 401. <c>last_used_at</c> is updated at most once a minute.
/// A bearer token that is not a Sequin key (the embedded sandbox's Salesforce access tokens, on every request the
/// connectors make to it) is not this handler's to judge: no result, no log line, no database context — the request
/// stays anonymous and an endpoint that needs a principal answers 401.
/// </summary>
internal sealed partial class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    TimeProvider time)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return AuthenticateResult.NoResult();
        }

        var key = header["Bearer ".Length..].Trim();
        if (!ApiKeySecret.TryParse(key, out var prefix))
        {
            return AuthenticateResult.NoResult();
        }

        var db = Context.RequestServices.GetRequiredService<PlatformDbContext>();
        var stored = await db.ApiKeys.AsNoTracking().SingleOrDefaultAsync(k => k.Prefix == prefix, Context.RequestAborted);
        if (stored is null || !ApiKeySecret.Matches(key, stored.SecretHash))
        {
            LogRejected(Logger, prefix);
            return AuthenticateResult.Fail("unknown API key");
        }

        if (stored.RevokedAt is not null)
        {
            LogRejected(Logger, prefix);
            return AuthenticateResult.Fail("API key revoked");
        }

        var now = time.GetUtcNow();
        if (stored.LastUsedAt is null || now - stored.LastUsedAt > TimeSpan.FromMinutes(1))
        {
            await db.ApiKeys.Where(k => k.Id == stored.Id).ExecuteUpdateAsync(s => s.SetProperty(k => k.LastUsedAt, now), Context.RequestAborted);
        }

        var identity = new ClaimsIdentity(
            [
                new Claim(SequinClaims.ApiKeyId, stored.Id.ToString()),
                new Claim(SequinClaims.OrgId, stored.OrgId.ToString()),
                new Claim(ClaimTypes.Name, stored.Prefix),
            ],
            SchemeName);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer";
        return Task.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Rejected API key {Prefix}")]
    private static partial void LogRejected(ILogger logger, string prefix);
}

/// <summary>Claim types Sequin adds to principals.</summary>
public static class SequinClaims
{
    /// <summary>The organization an API key belongs to.</summary>
    public const string OrgId = "sequin:org_id";

    /// <summary>The API key a request authenticated with.</summary>
    public const string ApiKeyId = "sequin:api_key_id";
}
