using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Sequin.Platform.Data;
using Sequin.Platform.Security;
using Sequin.Sandbox;
using Shouldly;

namespace Sequin.ControlPlane.Tests;

public sealed partial class ConnectionTests(ControlPlaneFactory factory) : IClassFixture<ControlPlaneFactory>
{
    private SalesforceSandbox Sandbox => factory.Services.GetRequiredService<SalesforceSandbox>();

    private async Task<string> StartAsync(Tenant tenant, object? body = null)
    {
        var response = await tenant.Client.PostAsJsonAsync($"/api/v1/orgs/{tenant.OrgId}/connections/oauth/start",
            body ?? new { kind = "salesforce", name = "Acme SF", environment = "sandbox" });
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return (await response.JsonAsync()).GetProperty("authorizeUrl").GetString()!;
    }

    /// <summary>Plays the user on the sandbox's consent page; returns the callback URL it redirects to.</summary>
    private async Task<string> ConsentAsync(string authorizeUrl, string orgId, string action = "allow")
    {
        using var browser = factory.CreateClient(new() { AllowAutoRedirect = false, HandleCookies = false });
        var page = await browser.GetStringAsync(authorizeUrl);
        var form = HiddenInput().Matches(page).ToDictionary(m => m.Groups[1].Value, m => WebUtility.HtmlDecode(m.Groups[2].Value));
        form["org_id"] = orgId;
        form["action"] = action;
        var decision = await browser.PostAsync(new Uri(authorizeUrl).AbsolutePath, new FormUrlEncodedContent(form));
        decision.StatusCode.ShouldBe(HttpStatusCode.Redirect);
        return decision.Headers.Location!.ToString();
    }

    private static async Task<HttpResponseMessage> CallbackAsync(HttpClient client, string callbackUrl)
    {
        var uri = new Uri(callbackUrl);
        uri.AbsolutePath.ShouldBe("/api/v1/oauth/callback");
        return await client.GetAsync(uri.PathAndQuery);
    }

    [Fact]
    public async Task OAuth_ConsentAllowed_StoresConnectionWithEncryptedTokens()
    {
        var tenant = await factory.SignUpAsync();
        var org = Sandbox.CreateOrg(new SandboxOrgSpec { Name = $"acme-{Guid.NewGuid():N}"[..12] });
        var authorize = await StartAsync(tenant);
        authorize.ShouldContain("/sandbox/salesforce/services/oauth2/authorize");
        authorize.ShouldContain("code_challenge_method=S256");

        var callback = await ConsentAsync(authorize, org.OrgId);
        var response = await CallbackAsync(tenant.Client, callback);

        response.StatusCode.ShouldBe(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        var connection = await response.JsonAsync();
        connection.GetProperty("name").GetString().ShouldBe("Acme SF");
        connection.GetProperty("status").GetString().ShouldBe("active");
        connection.GetProperty("externalAccountId").GetString().ShouldBe(org.OrgId);
        connection.GetProperty("instanceUrl").GetString()!.ShouldEndWith("/sandbox/salesforce");
        connection.ToString().ShouldNotContain("token");

        var listed = await (await tenant.Client.GetAsync($"/api/v1/orgs/{tenant.OrgId}/connections")).JsonAsync();
        listed.GetArrayLength().ShouldBe(1);

        await using var scope = factory.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<PlatformDbContext>();
        var stored = await db.SourceConnections.SingleAsync(c => c.Id == connection.GetProperty("id").GetGuid());
        stored.CredentialsProtected!.ShouldNotContain("refresh_token");
        var credentials = JsonSerializer.Deserialize<Dictionary<string, string>>(
            scope.ServiceProvider.GetRequiredService<ISecretProtector>().Unprotect(SecretPurposes.SourceCredentials, stored.CredentialsProtected!))!;
        credentials["refresh_token"].ShouldNotBeNullOrEmpty();
        credentials["access_token"].ShouldNotBeNullOrEmpty();

        // The token really works against the org that was consented to.
        using var sf = factory.CreateClient();
        sf.DefaultRequestHeaders.Authorization = new("Bearer", credentials["access_token"]);
        (await sf.GetAsync("/sandbox/salesforce/services/data/v62.0/limits")).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task OAuth_ReplayedCallback_IsRefusedAndCreatesNothing()
    {
        var tenant = await factory.SignUpAsync();
        var org = Sandbox.CreateOrg(new SandboxOrgSpec { Name = $"replay-{Guid.NewGuid():N}"[..12] });
        var callback = await ConsentAsync(await StartAsync(tenant), org.OrgId);

        (await CallbackAsync(tenant.Client, callback)).StatusCode.ShouldBe(HttpStatusCode.Created);
        var replay = await CallbackAsync(tenant.Client, callback);

        replay.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await replay.JsonAsync()).GetProperty("detail").GetString()!.ShouldContain("already used");
        (await (await tenant.Client.GetAsync($"/api/v1/orgs/{tenant.OrgId}/connections")).JsonAsync()).GetArrayLength().ShouldBe(1);
    }

    [Fact]
    public async Task OAuth_ExpiredState_IsRefused()
    {
        var tenant = await factory.SignUpAsync();
        var org = Sandbox.CreateOrg(new SandboxOrgSpec { Name = $"exp-{Guid.NewGuid():N}"[..12] });
        var callback = await ConsentAsync(await StartAsync(tenant), org.OrgId);
        await using (var scope = factory.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<PlatformDbContext>();
            await db.OAuthStates.Where(s => s.OrgId == tenant.OrgId).ExecuteUpdateAsync(s => s.SetProperty(x => x.ExpiresAt, DateTimeOffset.UtcNow.AddMinutes(-1)));
        }

        var response = await CallbackAsync(tenant.Client, callback);
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await response.JsonAsync()).GetProperty("detail").GetString()!.ShouldContain("expired");
    }

    [Fact]
    public async Task OAuth_CallbackInAnotherUsersSession_IsForbidden()
    {
        var starter = await factory.SignUpAsync();
        var other = await factory.SignUpAsync();
        var org = Sandbox.CreateOrg(new SandboxOrgSpec { Name = $"sess-{Guid.NewGuid():N}"[..12] });
        var callback = await ConsentAsync(await StartAsync(starter), org.OrgId);

        (await CallbackAsync(other.Client, callback)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        using var anonymous = factory.CreateClient();
        (await CallbackAsync(anonymous, callback)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await (await other.Client.GetAsync($"/api/v1/orgs/{other.OrgId}/connections")).JsonAsync()).GetArrayLength().ShouldBe(0);
    }

    [Fact]
    public async Task OAuth_ConsentDenied_ReturnsProblemAndBrowserIsSentBackWithError()
    {
        var tenant = await factory.SignUpAsync();
        var org = Sandbox.CreateOrg(new SandboxOrgSpec { Name = $"deny-{Guid.NewGuid():N}"[..12] });
        var authorize = await StartAsync(tenant, new { kind = "salesforce", returnTo = "/connections" });
        var callback = await ConsentAsync(authorize, org.OrgId, action: "deny");

        using var browser = factory.CreateClient(new() { AllowAutoRedirect = false });
        browser.DefaultRequestHeaders.Accept.ParseAdd("text/html");
        // The browser session of the starter: reuse its cookies by signing in again in this client.
        (await browser.PostAsJsonAsync("/api/v1/auth/signin", new { email = tenant.Email, password = "correct horse battery" })).EnsureSuccessStatusCode();
        var response = await CallbackAsync(browser, callback);

        response.StatusCode.ShouldBe(HttpStatusCode.Redirect);
        response.Headers.Location!.ToString().ShouldStartWith("/connections?error=");
        response.Headers.Location.ToString().ShouldContain("access_denied");
    }

    [Theory]
    [InlineData("""{"kind":"hubspot"}""", "kind", "not available yet")]
    [InlineData("""{"kind":"oracle"}""", "kind", "must be one of")]
    [InlineData("""{"kind":"salesforce","environment":"http://evil.example"}""", "environment", "Unknown environment")]
    [InlineData("""{"kind":"salesforce","returnTo":"//evil.example/x"}""", "returnTo", "path of this site")]
    [InlineData("""{"kind":"salesforce","returnTo":"https://evil.example/"}""", "returnTo", "path of this site")]
    public async Task OAuthStart_BadInput_Returns400NamingTheField(string json, string field, string message)
    {
        var tenant = await factory.SignUpAsync();
        var response = await tenant.Client.PostAsync($"/api/v1/orgs/{tenant.OrgId}/connections/oauth/start",
            new StringContent(json, System.Text.Encoding.UTF8, "application/json"));
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        var errors = (await response.JsonAsync()).GetProperty("errors");
        errors.GetProperty(field)[0].GetString()!.ShouldContain(message);
    }

    [Fact]
    public async Task OAuthCallback_UnknownOrMissingState_Returns400()
    {
        using var client = factory.CreateClient();
        (await client.GetAsync("/api/v1/oauth/callback?code=x&state=made-up")).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await client.GetAsync("/api/v1/oauth/callback?code=x")).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Delete_Connection_RevokesTheGrantUpstreamAndRemovesIt()
    {
        var tenant = await factory.SignUpAsync();
        var org = Sandbox.CreateOrg(new SandboxOrgSpec { Name = $"del-{Guid.NewGuid():N}"[..12] });
        var created = await (await CallbackAsync(tenant.Client, await ConsentAsync(await StartAsync(tenant), org.OrgId))).JsonAsync();
        var id = created.GetProperty("id").GetGuid();
        string accessToken;
        await using (var scope = factory.Services.CreateAsyncScope())
        {
            var stored = await scope.ServiceProvider.GetRequiredService<PlatformDbContext>().SourceConnections.SingleAsync(c => c.Id == id);
            accessToken = JsonSerializer.Deserialize<Dictionary<string, string>>(scope.ServiceProvider.GetRequiredService<ISecretProtector>()
                .Unprotect(SecretPurposes.SourceCredentials, stored.CredentialsProtected!))!["access_token"];
        }

        (await tenant.Client.DeleteAsync($"/api/v1/orgs/{tenant.OrgId}/connections/{id}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);

        (await tenant.Client.GetAsync($"/api/v1/orgs/{tenant.OrgId}/connections/{id}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        using var sf = factory.CreateClient();
        sf.DefaultRequestHeaders.Authorization = new("Bearer", accessToken);
        (await sf.GetAsync("/sandbox/salesforce/services/data/v62.0/limits")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized,
            "revoking the refresh token ends the whole grant");
        var audit = await (await tenant.Client.GetAsync($"/api/v1/orgs/{tenant.OrgId}/audit-log")).Content.ReadAsStringAsync();
        audit.ShouldContain("connection.deleted");
    }

    [Fact]
    public async Task Connections_OfAnotherOrganization_AreNotFound()
    {
        var a = await factory.SignUpAsync();
        var b = await factory.SignUpAsync();
        var org = Sandbox.CreateOrg(new SandboxOrgSpec { Name = $"iso-{Guid.NewGuid():N}"[..12] });
        var created = await (await CallbackAsync(b.Client, await ConsentAsync(await StartAsync(b), org.OrgId))).JsonAsync();
        var bConnection = created.GetProperty("id").GetGuid();

        (await a.Client.GetAsync($"/api/v1/orgs/{a.OrgId}/connections/{bConnection}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await a.Client.DeleteAsync($"/api/v1/orgs/{a.OrgId}/connections/{bConnection}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await a.Client.GetAsync($"/api/v1/orgs/{b.OrgId}/connections")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await b.Client.GetAsync($"/api/v1/orgs/{b.OrgId}/connections/{bConnection}")).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [GeneratedRegex("<input type=\"hidden\" name=\"([^\"]+)\" value=\"([^\"]*)\">")]
    private static partial Regex HiddenInput();
}
