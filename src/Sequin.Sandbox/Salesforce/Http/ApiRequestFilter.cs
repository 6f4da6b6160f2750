using System.Globalization;
using System.Text.RegularExpressions;
using Sequin.Sandbox.Salesforce.Auth;
using Sequin.Sandbox.Salesforce.Json;
using Sequin.Sandbox.Salesforce.Store;

namespace Sequin.Sandbox.Salesforce.Http;

/// <summary>The authenticated context of one REST API call.</summary>
internal sealed class ApiRequest(Org org, AccessGrant grant, string version)
{
    public Org Org { get; } = org;
    public AccessGrant Grant { get; } = grant;

    /// <summary>API version without the v, e.g. <c>62.0</c>.</summary>
    public string Version { get; } = version;

    /// <summary><c>/services/data/v62.0</c>: root-relative, never including the mount prefix (as Salesforce).</summary>
    public string BasePath { get; } = "/services/data/v" + version;

    public static ApiRequest From(HttpContext context) => (ApiRequest)context.Items[typeof(ApiRequest)]!;
}

/// <summary>
/// Runs before every <c>/services/data/vXX.X/...</c> endpoint, in Salesforce's order: version check,
/// session (401 INVALID_SESSION_ID), daily API allocation (403 REQUEST_LIMIT_EXCEEDED), concurrent
/// request cap, then the org's injected latency and faults. Sets <c>Sforce-Limit-Info</c>.
/// </summary>
internal sealed partial class ApiRequestFilter(SalesforceSandbox sandbox) : IEndpointFilter
{
    /// <summary>REST API versions this emulator answers (Salesforce keeps old versions alive for years).</summary>
    public const double MinVersion = 42.0;
    public const double MaxVersion = 64.0;

    [GeneratedRegex(@"^v(\d{2})\.0$")]
    private static partial Regex VersionPattern();

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var versionText = http.Request.RouteValues["version"] as string ?? string.Empty;
        var match = VersionPattern().Match(versionText);
        if (!match.Success || double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) is < MinVersion or > MaxVersion)
        {
            return SalesforceHttp.NotFound();
        }
        var auth = http.Request.Headers.Authorization.ToString();
        var token = auth.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? auth[7..].Trim()
            : auth.StartsWith("OAuth ", StringComparison.OrdinalIgnoreCase) ? auth[6..].Trim() : null;
        var grant = token is null ? null : sandbox.Tokens.Validate(token);
        var org = grant is null ? null : sandbox.FindOrg(grant.OrgId);
        if (grant is null || org is null)
        {
            return SalesforceHttp.Error(401, SalesforceError.InvalidSession());
        }
        if (!org.TryCountApiRequest(out var used))
        {
            SetLimitInfo(http, org.ApiUsed, org);
            return SalesforceHttp.Error(403, new SalesforceError("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."));
        }
        SetLimitInfo(http, used, org);
        if (!org.TryEnter())
        {
            return SalesforceHttp.Error(403, new SalesforceError("REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded."));
        }
        // The slot is held until the response is fully written, not just until the handler returns.
        http.Response.OnCompleted(() =>
        {
            org.Exit();
            return Task.CompletedTask;
        });
        var faults = org.Faults;
        if (faults.AnyInjected && await InjectFaultsAsync(http, org, faults) is { } injected)
        {
            return injected;
        }
        http.Items[typeof(ApiRequest)] = new ApiRequest(org, grant, versionText[1..]);
        try
        {
            return await next(context);
        }
        catch (SalesforceApiException ex)
        {
            return SalesforceHttp.Error(ex.Status, ex.Error);
        }
    }

    private static void SetLimitInfo(HttpContext http, long used, Org org) =>
        http.Response.Headers["Sforce-Limit-Info"] = $"api-usage={used}/{org.Faults.DailyApiLimit}";

    private async Task<IResult?> InjectFaultsAsync(HttpContext http, Org org, OrgFaults faults)
    {
        var delay = faults.LatencyMs + (faults.JitterMs > 0 ? Random.Shared.Next(faults.JitterMs + 1) : 0);
        if (delay > 0)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(delay), org.Time, http.RequestAborted);
        }
        var roll = Random.Shared.NextDouble();
        if ((roll -= faults.DropConnectionRate) < 0)
        {
            http.Abort();
            return Results.Empty;
        }
        if ((roll -= faults.TimeoutRate) < 0)
        {
            // Hang until the client gives up; bounded so a forgotten client cannot pin the server forever.
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(sandbox.Options.InjectedTimeoutSeconds), org.Time, http.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                // The client gave up, which is the point.
            }
            http.Abort();
            return Results.Empty;
        }
        if ((roll -= faults.ErrorRate500) < 0)
        {
            return SalesforceHttp.Error(500, new SalesforceError("UNKNOWN_EXCEPTION",
                $"An unexpected error occurred. Please include this ErrorId if you contact support: {Random.Shared.Next(100_000_000, 999_999_999)}-{Random.Shared.Next(10_000, 99_999)} ({Random.Shared.Next()})"));
        }
        if ((roll -= faults.ErrorRate503) < 0)
        {
            return SalesforceHttp.Error(503, new SalesforceError("SERVER_UNAVAILABLE", "Server is temporarily unavailable. Please retry your request later."));
        }
        return null;
    }
}
