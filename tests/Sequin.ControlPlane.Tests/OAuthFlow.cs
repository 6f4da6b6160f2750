using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Shouldly;

namespace Sequin.ControlPlane.Tests;

/// <summary>Plays a user through "connect Salesforce (sandbox)": start, consent page, callback.</summary>
internal static partial class OAuthFlow
{
    public static async Task<Guid> ConnectSalesforceAsync(ControlPlaneFactory factory, Tenant tenant, string sandboxOrgId, string name = "Acme SF")
    {
        var start = await tenant.Client.PostAsJsonAsync($"/api/v1/orgs/{tenant.OrgId}/connections/oauth/start",
            new { kind = "salesforce", name, environment = "sandbox" });
        start.StatusCode.ShouldBe(HttpStatusCode.OK, await start.Content.ReadAsStringAsync());
        var authorize = new Uri((await start.JsonAsync()).GetProperty("authorizeUrl").GetString()!);

        using var browser = factory.NewClient(allowAutoRedirect: false, handleCookies: false);
        var page = await browser.GetStringAsync(authorize.PathAndQuery);
        var form = HiddenInput().Matches(page).ToDictionary(m => m.Groups[1].Value, m => WebUtility.HtmlDecode(m.Groups[2].Value));
        form["org_id"] = sandboxOrgId;
        form["action"] = "allow";
        var decision = await browser.PostAsync(authorize.AbsolutePath, new FormUrlEncodedContent(form));
        decision.StatusCode.ShouldBe(HttpStatusCode.Redirect, $"{decision.Headers} {await decision.Content.ReadAsStringAsync()}");

        var callback = await tenant.Client.GetAsync(decision.Headers.Location!.PathAndQuery);
        callback.StatusCode.ShouldBe(HttpStatusCode.Created, await callback.Content.ReadAsStringAsync());
        return (await callback.JsonAsync()).GetProperty("id").GetGuid();
    }

    [GeneratedRegex("<input type=\"hidden\" name=\"([^\"]+)\" value=\"([^\"]*)\">")]
    private static partial Regex HiddenInput();
}
