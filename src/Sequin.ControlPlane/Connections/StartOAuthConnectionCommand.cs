using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Sequin.ControlPlane.Auth;
using Sequin.ControlPlane.Hosting;
using Sequin.Platform.Data;
using Sequin.Platform.Security;

namespace Sequin.ControlPlane.Connections;

/// <summary>
/// Starts an OAuth connection: makes a random <c>state</c> (stored hashed, single-use, 10 minutes, bound to the
/// caller) and a PKCE S256 verifier (stored encrypted), and returns the provider's authorize URL.
/// </summary>
internal sealed class StartOAuthConnectionCommand(
    TenantDbContext db,
    TenantScope scope,
    IOptions<SalesforceSourceOptions> options,
    ISecretProtector secrets,
    IHttpContextAccessor http,
    IServer server,
    IConfiguration configuration,
    TimeProvider time)
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(10);

    public async Task<StartOAuthResult> ExecuteAsync(StartOAuthRequest request, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var environment = string.IsNullOrWhiteSpace(request.Environment) ? settings.DefaultEnvironment : request.Environment.Trim();
        if (!settings.Environments.TryGetValue(environment, out var configured))
        {
            return StartOAuthResult.Invalid("environment", $"Unknown environment '{environment}'; configured: {string.Join(", ", settings.Environments.Keys)}.");
        }

        var context = http.HttpContext!;
        var publicBase = PublicBaseUrl(context, configuration);
        // Browser-facing login URL, and the one this server calls for the token exchange. For the embedded sandbox
        // the server calls its own listen address, never a URL derived from the request's Host header.
        var (browserLogin, serverLogin) = configured == SalesforceSourceOptions.Embedded
            ? ($"{publicBase}/sandbox/salesforce", $"{HostAddresses.Listening(server) ?? publicBase}/sandbox/salesforce")
            : (configured.TrimEnd('/'), configured.TrimEnd('/'));

        var state = WebEncoders.Base64UrlEncode(RandomNumberGenerator.GetBytes(32));
        var verifier = WebEncoders.Base64UrlEncode(RandomNumberGenerator.GetBytes(32));
        var challenge = WebEncoders.Base64UrlEncode(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)));
        var redirectUri = $"{publicBase}/api/v1/oauth/callback";
        var now = time.GetUtcNow();
        var actor = CurrentActor.From(context.User);
        db.OAuthStates.Add(new OAuthState
        {
            StateHash = SHA256.HashData(Encoding.ASCII.GetBytes(state)),
            OrgId = scope.OrgId,
            UserId = actor.UserId,
            ApiKeyId = actor.ApiKeyId,
            Kind = request.Kind,
            ConnectionName = string.IsNullOrWhiteSpace(request.Name) ? $"Salesforce ({environment})" : request.Name.Trim(),
            Environment = environment,
            LoginUrl = serverLogin,
            RedirectUri = redirectUri,
            CodeVerifierProtected = secrets.Protect(SecretPurposes.SourceCredentials, verifier),
            ReturnTo = request.ReturnTo,
            CreatedAt = now,
            ExpiresAt = now + Lifetime,
        });
        await db.SaveChangesAsync(cancellationToken);

        var url = SalesforceOAuthClient.AuthorizeUrl(browserLogin, settings.ClientId, redirectUri, state, challenge, settings.Scope);
        return StartOAuthResult.Ok(new StartOAuthResponse(url, now + Lifetime));
    }

    /// <summary><c>Sequin:PublicBaseUrl</c>, or the request's own scheme, host and path base.</summary>
    internal static string PublicBaseUrl(HttpContext context, IConfiguration configuration) =>
        configuration["Sequin:PublicBaseUrl"]?.TrimEnd('/') is { Length: > 0 } configured
            ? configured
            : $"{context.Request.Scheme}://{context.Request.Host}{context.Request.PathBase}";

}

internal sealed record StartOAuthResult(StartOAuthResponse? Response, string? Field, string? Error)
{
    public static StartOAuthResult Ok(StartOAuthResponse response) => new(response, null, null);

    public static StartOAuthResult Invalid(string field, string error) => new(null, field, error);
}
