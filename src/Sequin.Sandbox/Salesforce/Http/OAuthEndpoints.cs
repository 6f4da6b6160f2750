using System.Net;
using System.Security.Cryptography;
using System.Text;
using Sequin.Sandbox.Salesforce.Auth;

namespace Sequin.Sandbox.Salesforce.Http;

/// <summary>
/// OAuth 2.0 web-server flow (Salesforce Help, "OAuth 2.0 Web Server Flow for Web App Integration"):
/// a consent page instead of a login form (the user picks the org), code exchange with optional PKCE,
/// refresh, revoke, and the identity URL the token response points to.
/// </summary>
internal static class OAuthEndpoints
{
    public static void Map(IEndpointRouteBuilder root, SalesforceSandbox sandbox, string prefix)
    {
        root.MapGet("/services/oauth2/authorize", (HttpContext h) => ConsentPage(h, sandbox));
        root.MapPost("/services/oauth2/authorize", Task<IResult> (HttpContext h) => DecideAsync(h, sandbox));
        root.MapPost("/services/oauth2/token", Task<IResult> (HttpContext h) => TokenAsync(h, sandbox, prefix));
        root.MapPost("/services/oauth2/revoke", Task<IResult> (HttpContext h) => RevokeAsync(h, sandbox));
        root.MapGet("/services/oauth2/revoke", Task<IResult> (HttpContext h) => RevokeAsync(h, sandbox));
        root.MapGet("/services/oauth2/userinfo", (HttpContext h) => Identity(h, sandbox, prefix, null, null));
        root.MapGet("/id/{orgId}/{userId}", (HttpContext h, string orgId, string userId) => Identity(h, sandbox, prefix, orgId, userId));
    }

    private static IResult OAuthError(string error, string description, int status = 400) =>
        SalesforceHttp.Json(status, w =>
        {
            w.WriteStartObject();
            w.WriteString("error", error);
            w.WriteString("error_description", description);
            w.WriteEndObject();
        });

    private static IResult ConsentPage(HttpContext http, SalesforceSandbox sandbox)
    {
        var q = http.Request.Query;
        var redirectUri = q["redirect_uri"].ToString();
        if (string.IsNullOrEmpty(q["client_id"]) || !Uri.TryCreate(redirectUri, UriKind.Absolute, out _))
        {
            return Results.Content(Page("Invalid request", "<p>client_id and an absolute redirect_uri are required.</p>"), "text/html; charset=utf-8", statusCode: 400);
        }
        if (q["response_type"] != "code")
        {
            return Results.Redirect(AppendQuery(redirectUri, ("error", "unsupported_response_type"),
                ("error_description", "response type not supported"), ("state", q["state"].ToString())));
        }
        var hint = q["login_hint"].ToString();
        var orgs = sandbox.Orgs.ToList();
        var selected = orgs.FirstOrDefault(o => hint.Length > 0 && (o.Name.Equals(hint, StringComparison.OrdinalIgnoreCase)
            || o.Id.StartsWith(hint, StringComparison.Ordinal)));
        var e = (string s) => WebUtility.HtmlEncode(s);
        var hidden = new StringBuilder();
        foreach (var key in new[] { "response_type", "client_id", "redirect_uri", "state", "scope", "code_challenge", "code_challenge_method" })
        {
            if (q.TryGetValue(key, out var value))
            {
                hidden.Append($"<input type=\"hidden\" name=\"{key}\" value=\"{e(value.ToString())}\">");
            }
        }
        var options = new StringBuilder();
        foreach (var org in orgs)
        {
            options.Append($"<option value=\"{e(org.Id)}\"{(org == selected ? " selected" : "")}>{e(org.Name)} ({e(org.Id)})</option>");
        }
        var body = orgs.Count == 0
            ? "<p>No sandbox org exists yet. Create one through the admin API (<code>POST /_sandbox/orgs</code>).</p>"
            : $"""
               <p><strong>{e(q["client_id"].ToString())}</strong> wants to access your Salesforce sandbox data
               (<code>{e(q["scope"].ToString() is { Length: > 0 } scope ? scope : "api refresh_token")}</code>).</p>
               <form method="post">
                 {hidden}
                 <label for="org">Log in to org</label>
                 <select id="org" name="org_id">{options}</select>
                 <div class="actions">
                   <button type="submit" name="action" value="deny" class="secondary">Deny</button>
                   <button type="submit" name="action" value="allow">Allow</button>
                 </div>
               </form>
               """;
        return Results.Content(Page("Allow access?", body), "text/html; charset=utf-8");
    }

    private static string Page(string title, string body) => $$"""
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{WebUtility.HtmlEncode(title)}} · Salesforce sandbox</title>
        <style>
          body { font-family: system-ui, sans-serif; background: #f3f3f3; margin: 0; }
          main { max-width: 28rem; margin: 4rem auto; background: #fff; padding: 2rem; border-radius: .5rem; box-shadow: 0 1px 4px #0002; }
          h1 { font-size: 1.25rem; margin-top: 0; } label { display: block; margin: 1rem 0 .25rem; font-weight: 600; }
          select { width: 100%; padding: .5rem; } .actions { display: flex; gap: .5rem; justify-content: flex-end; margin-top: 1.5rem; }
          button { padding: .5rem 1.25rem; border-radius: .25rem; border: 1px solid #0176d3; background: #0176d3; color: #fff; cursor: pointer; }
          button.secondary { background: #fff; color: #0176d3; }
        </style></head>
        <body><main><h1>{{WebUtility.HtmlEncode(title)}}</h1>{{body}}</main></body></html>
        """;

    private static async Task<IResult> DecideAsync(HttpContext http, SalesforceSandbox sandbox)
    {
        if (!http.Request.HasFormContentType)
        {
            return Results.BadRequest();
        }
        var form = await http.Request.ReadFormAsync(http.RequestAborted);
        var redirectUri = form["redirect_uri"].ToString();
        var clientId = form["client_id"].ToString();
        if (clientId.Length == 0 || !Uri.TryCreate(redirectUri, UriKind.Absolute, out _))
        {
            return Results.BadRequest();
        }
        var state = form["state"].ToString();
        if (form["action"] != "allow")
        {
            return Results.Redirect(AppendQuery(redirectUri, ("error", "access_denied"),
                ("error_description", "end-user denied authorization"), ("state", state)));
        }
        if (sandbox.FindOrg(form["org_id"].ToString()) is not { } org)
        {
            return Results.Redirect(AppendQuery(redirectUri, ("error", "invalid_request"),
                ("error_description", "unknown org"), ("state", state)));
        }
        var challenge = form["code_challenge"].ToString();
        var code = sandbox.Tokens.IssueCode(new AuthorizationCode(org.Id, clientId, redirectUri,
            challenge.Length == 0 ? null : challenge, form["code_challenge_method"].ToString() is { Length: > 0 } m ? m : "S256",
            sandbox.Time.GetUtcNow() + TokenStore.CodeLifetime));
        return Results.Redirect(AppendQuery(redirectUri, ("code", code), ("state", state)));
    }

    /// <summary>Appends query parameters; the plus-for-space form matches Salesforce's redirects.</summary>
    private static string AppendQuery(string uri, params (string Key, string Value)[] parameters)
    {
        var sb = new StringBuilder(uri);
        var separator = uri.Contains('?', StringComparison.Ordinal) ? '&' : '?';
        foreach (var (key, value) in parameters)
        {
            if (key == "state" && value.Length == 0)
            {
                continue;
            }
            sb.Append(separator).Append(key).Append('=').Append(WebUtility.UrlEncode(value));
            separator = '&';
        }
        return sb.ToString();
    }

    private static async Task<IResult> TokenAsync(HttpContext http, SalesforceSandbox sandbox, string prefix)
    {
        if (!http.Request.HasFormContentType)
        {
            return OAuthError("invalid_request", "grant type not supported");
        }
        var form = await http.Request.ReadFormAsync(http.RequestAborted);
        var secret = sandbox.Options.ClientSecret;
        if (!string.IsNullOrEmpty(secret) && !FixedTimeEquals(form["client_secret"].ToString(), secret))
        {
            return OAuthError("invalid_client", "invalid client credentials");
        }
        var clientId = form["client_id"].ToString();
        var instanceUrl = SalesforceHttp.ExternalBase(http, sandbox.Options, prefix);
        switch (form["grant_type"].ToString())
        {
            case "authorization_code":
            {
                var grant = sandbox.Tokens.RedeemCode(form["code"].ToString());
                if (grant is null || grant.ClientId != clientId)
                {
                    return OAuthError("invalid_grant", "invalid authorization code");
                }
                if (form.TryGetValue("redirect_uri", out var redirect) && redirect.ToString() != grant.RedirectUri)
                {
                    return OAuthError("redirect_uri_mismatch", "redirect_uri must match configuration");
                }
                if (grant.CodeChallenge is not null && !VerifyPkce(grant, form["code_verifier"].ToString()))
                {
                    return OAuthError("invalid_grant", "invalid code verifier");
                }
                if (sandbox.FindOrg(grant.OrgId) is not { } org)
                {
                    return OAuthError("invalid_grant", "expired access/refresh token");
                }
                return TokenResponse(sandbox.IssueTokenResponse(org, org.UserId, clientId, instanceUrl, withRefreshToken: true, null));
            }
            case "refresh_token":
            {
                var token = form["refresh_token"].ToString();
                var grant = sandbox.Tokens.FindRefresh(token);
                if (grant is null || sandbox.FindOrg(grant.OrgId) is not { } org)
                {
                    return OAuthError("invalid_grant", "expired access/refresh token");
                }
                // Salesforce does not rotate refresh tokens: the response has no refresh_token.
                return TokenResponse(sandbox.IssueTokenResponse(org, grant.UserId, clientId, instanceUrl, withRefreshToken: false, token));
            }
            default:
                return OAuthError("unsupported_grant_type", "grant type not supported");
        }
    }

    private static IResult TokenResponse(SandboxTokenResponse response) =>
        SalesforceHttp.Json(200, w => System.Text.Json.JsonSerializer.Serialize(w, response));

    private static bool VerifyPkce(AuthorizationCode grant, string verifier)
    {
        if (verifier.Length == 0)
        {
            return false;
        }
        // Salesforce's code_challenge is the S256 hash unless the client says "plain" (jsforce sends no method).
        var expected = grant.CodeChallengeMethod?.Equals("plain", StringComparison.OrdinalIgnoreCase) == true
            ? verifier
            : Base64UrlEncode(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)));
        return FixedTimeEquals(expected, grant.CodeChallenge!);
    }

    private static string Base64UrlEncode(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>Constant-time comparison that does not leak the length either (both sides hashed first).</summary>
    public static bool FixedTimeEquals(string a, string b) =>
        CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(a)), SHA256.HashData(Encoding.UTF8.GetBytes(b)));

    private static async Task<IResult> RevokeAsync(HttpContext http, SalesforceSandbox sandbox)
    {
        var token = http.Request.Query["token"].ToString();
        if (token.Length == 0 && http.Request.HasFormContentType)
        {
            token = (await http.Request.ReadFormAsync(http.RequestAborted))["token"].ToString();
        }
        return sandbox.Tokens.Revoke(token) ? Results.Ok() : OAuthError("unsupported_token_type", "this token type is not supported");
    }

    private static IResult Identity(HttpContext http, SalesforceSandbox sandbox, string prefix, string? orgId, string? userId)
    {
        var auth = http.Request.Headers.Authorization.ToString();
        var grant = auth.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? sandbox.Tokens.Validate(auth[7..].Trim()) : null;
        if (grant is null || sandbox.FindOrg(grant.OrgId) is not { } org || (orgId is not null && orgId != org.Id))
        {
            return SalesforceHttp.Error(401, Json.SalesforceError.InvalidSession());
        }
        var user = org.Table(org.Catalog.User).Find(userId ?? grant.UserId);
        if (user is null)
        {
            return SalesforceHttp.NotFound();
        }
        var baseUrl = SalesforceHttp.ExternalBase(http, sandbox.Options, prefix);
        string? Field(string name) => user.Get(org.Catalog.User.FindField(name)!) as string;
        return SalesforceHttp.Json(200, w =>
        {
            w.WriteStartObject();
            w.WriteString("id", $"{baseUrl}/id/{org.Id}/{user.Id}");
            w.WriteBoolean("asserted_user", true);
            w.WriteString("user_id", user.Id);
            w.WriteString("organization_id", org.Id);
            w.WriteString("username", Field("Username"));
            w.WriteString("nick_name", Field("CommunityNickname"));
            w.WriteString("display_name", Field("Name"));
            w.WriteString("email", Field("Email"));
            w.WriteBoolean("active", true);
            w.WriteString("user_type", "STANDARD");
            w.WriteString("language", "en_US");
            w.WriteString("locale", "en_US");
            w.WriteNumber("utcOffset", 0);
            w.WriteStartObject("urls");
            w.WriteString("rest", baseUrl + "/services/data/v{version}/");
            w.WriteString("sobjects", baseUrl + "/services/data/v{version}/sobjects/");
            w.WriteString("query", baseUrl + "/services/data/v{version}/query/");
            w.WriteEndObject();
            w.WriteEndObject();
        });
    }
}
