using System.Net.Http.Json;
using System.Text.Json.Serialization;

namespace Sequin.ControlPlane.Connections;

/// <summary>
/// The Salesforce OAuth 2.0 web-server flow endpoints (help.salesforce.com, "OAuth 2.0 Web Server Flow"):
/// <c>/services/oauth2/authorize</c>, <c>/services/oauth2/token</c>, <c>/services/oauth2/revoke</c>.
/// Uses the named HttpClient <see cref="HttpClientName"/>.
/// </summary>
internal sealed class SalesforceOAuthClient(IHttpClientFactory httpClients)
{
    public const string HttpClientName = "sequin-oauth";

    public static string AuthorizeUrl(string loginUrl, string clientId, string redirectUri, string state, string codeChallenge, string scope) =>
        $"{loginUrl.TrimEnd('/')}/services/oauth2/authorize?response_type=code" +
        $"&client_id={Uri.EscapeDataString(clientId)}&redirect_uri={Uri.EscapeDataString(redirectUri)}" +
        $"&state={Uri.EscapeDataString(state)}&code_challenge={codeChallenge}&code_challenge_method=S256" +
        $"&scope={Uri.EscapeDataString(scope)}";

    /// <summary>Exchanges an authorization code (with the PKCE verifier) for tokens.</summary>
    /// <exception cref="OAuthExchangeException">the provider refused or answered something unusable.</exception>
    public async Task<SalesforceTokenResponse> ExchangeCodeAsync(string loginUrl, string code, string clientId, string? clientSecret,
        string redirectUri, string codeVerifier, CancellationToken cancellationToken)
    {
        var form = new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code",
            ["code"] = code,
            ["client_id"] = clientId,
            ["redirect_uri"] = redirectUri,
            ["code_verifier"] = codeVerifier,
        };
        if (!string.IsNullOrEmpty(clientSecret))
        {
            form["client_secret"] = clientSecret;
        }

        using var http = httpClients.CreateClient(HttpClientName);
        HttpResponseMessage response;
        try
        {
            response = await http.PostAsync($"{loginUrl.TrimEnd('/')}/services/oauth2/token", new FormUrlEncodedContent(form), cancellationToken);
        }
        catch (HttpRequestException e)
        {
            throw new OAuthExchangeException($"Salesforce at {loginUrl} is unreachable: {e.Message}");
        }

        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                var error = await SafeReadAsync<SalesforceOAuthError>(response, cancellationToken);
                throw new OAuthExchangeException(
                    $"Salesforce refused the authorization code ({(int)response.StatusCode} {error?.Error}: {error?.ErrorDescription})");
            }

            var tokens = await SafeReadAsync<SalesforceTokenResponse>(response, cancellationToken);
            if (tokens is null || string.IsNullOrEmpty(tokens.AccessToken)
                || !Uri.TryCreate(tokens.InstanceUrl, UriKind.Absolute, out var instance) || instance.Scheme is not ("http" or "https"))
            {
                throw new OAuthExchangeException("Salesforce answered the token request without access_token or a valid instance_url");
            }

            return tokens;
        }
    }

    /// <summary>Revokes a token (refresh tokens revoke the whole grant). Failures are reported, not thrown.</summary>
    public async Task<string?> RevokeAsync(string loginUrl, string token, CancellationToken cancellationToken)
    {
        try
        {
            using var http = httpClients.CreateClient(HttpClientName);
            using var response = await http.PostAsync($"{loginUrl.TrimEnd('/')}/services/oauth2/revoke",
                new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = token }), cancellationToken);
            return response.IsSuccessStatusCode ? null : $"revoke answered {(int)response.StatusCode}";
        }
        catch (HttpRequestException e)
        {
            return $"revoke failed: {e.Message}";
        }
    }

    private static async Task<T?> SafeReadAsync<T>(HttpResponseMessage response, CancellationToken cancellationToken)
        where T : class
    {
        try
        {
            return await response.Content.ReadFromJsonAsync<T>(cancellationToken);
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
        catch (NotSupportedException)
        {
            return null;
        }
    }
}

internal sealed record SalesforceTokenResponse(
    [property: JsonPropertyName("access_token")] string? AccessToken,
    [property: JsonPropertyName("refresh_token")] string? RefreshToken,
    [property: JsonPropertyName("instance_url")] string? InstanceUrl,
    [property: JsonPropertyName("id")] string? Id);

internal sealed record SalesforceOAuthError(
    [property: JsonPropertyName("error")] string? Error,
    [property: JsonPropertyName("error_description")] string? ErrorDescription);

/// <summary>The provider refused the code exchange or answered badly.</summary>
internal sealed class OAuthExchangeException(string message) : Exception(message);
