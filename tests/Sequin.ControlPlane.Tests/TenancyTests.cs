using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Sequin.Platform.Data;
using Shouldly;

namespace Sequin.ControlPlane.Tests;

public sealed class TenancyTests(ControlPlaneFactory factory) : IClassFixture<ControlPlaneFactory>
{
    private async Task<string> CreateKeyAsync(Tenant tenant, string name = "ci")
    {
        var response = await tenant.Client.PostAsJsonAsync($"/api/v1/orgs/{tenant.OrgId}/api-keys", new { name });
        response.StatusCode.ShouldBe(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return (await response.JsonAsync()).GetProperty("key").GetString()!;
    }

    private HttpClient KeyClient(string key)
    {
        var client = factory.CreateClient(new() { HandleCookies = false });
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    [Fact]
    public async Task ApiKey_CreatedOnce_AuthenticatesUntilRevoked()
    {
        var tenant = await factory.SignUpAsync();
        var created = await (await tenant.Client.PostAsJsonAsync($"/api/v1/orgs/{tenant.OrgId}/api-keys", new { name = "deploy" })).JsonAsync();
        var key = created.GetProperty("key").GetString()!;
        key.ShouldStartWith("sqn_");
        key.ShouldStartWith(created.GetProperty("prefix").GetString()!);

        var listed = await (await tenant.Client.GetAsync($"/api/v1/orgs/{tenant.OrgId}/api-keys")).Content.ReadAsStringAsync();
        listed.ShouldContain("deploy");
        listed.ShouldNotContain(key[13..], customMessage: "the secret is shown once and never listed");

        using var api = KeyClient(key);
        var me = await (await api.GetAsync("/api/v1/me")).JsonAsync();
        me.GetProperty("authenticatedBy").GetString().ShouldBe("api_key");
        me.GetProperty("organizations")[0].GetProperty("id").GetGuid().ShouldBe(tenant.OrgId);
        (await api.GetAsync($"/api/v1/orgs/{tenant.OrgId}")).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await api.PostAsJsonAsync($"/api/v1/orgs/{tenant.OrgId}/api-keys", new { name = "made by a key" })).StatusCode
            .ShouldBe(HttpStatusCode.Created, "API-key requests need no CSRF token");

        await using (var scope = factory.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<PlatformDbContext>();
            var stored = await db.ApiKeys.SingleAsync(k => k.Prefix == created.GetProperty("prefix").GetString());
            stored.LastUsedAt.ShouldNotBeNull();
            stored.SecretHash.Length.ShouldBe(32);
        }

        var keyId = created.GetProperty("id").GetGuid();
        (await tenant.Client.DeleteAsync($"/api/v1/orgs/{tenant.OrgId}/api-keys/{keyId}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        (await api.GetAsync("/api/v1/me")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        (await api.GetAsync($"/api/v1/orgs/{tenant.OrgId}")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }

    [Theory]
    [InlineData("sqn_00000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("not-a-key")]
    [InlineData("")]
    public async Task ApiKey_WrongKey_Returns401(string key)
    {
        using var client = factory.CreateClient(new() { HandleCookies = false });
        client.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", $"Bearer {key}");
        (await client.GetAsync("/api/v1/me")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task OrgB_SeenFromOrgA_IsNotFoundByCookieAndByApiKey()
    {
        var a = await factory.SignUpAsync(organization: "A");
        var b = await factory.SignUpAsync(organization: "B");
        var bKey = await CreateKeyAsync(b);
        var bKeyId = (await (await b.Client.GetAsync($"/api/v1/orgs/{b.OrgId}/api-keys")).JsonAsync())[0].GetProperty("id").GetGuid();
        var aKey = await CreateKeyAsync(a);
        using var aApi = KeyClient(aKey);

        foreach (var client in new[] { a.Client, aApi })
        {
            (await client.GetAsync($"/api/v1/orgs/{b.OrgId}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
            (await client.GetAsync($"/api/v1/orgs/{b.OrgId}/members")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
            (await client.GetAsync($"/api/v1/orgs/{b.OrgId}/api-keys")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
            (await client.GetAsync($"/api/v1/orgs/{b.OrgId}/audit-log")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
            (await client.PostAsJsonAsync($"/api/v1/orgs/{b.OrgId}/api-keys", new { name = "intruder" })).StatusCode.ShouldBe(HttpStatusCode.NotFound);
            (await client.DeleteAsync($"/api/v1/orgs/{b.OrgId}/api-keys/{bKeyId}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
            // B's key id through A's own organization route: the second layer (query filter) hides it.
            (await client.DeleteAsync($"/api/v1/orgs/{a.OrgId}/api-keys/{bKeyId}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        }

        using var bApi = KeyClient(bKey);
        (await bApi.GetAsync("/api/v1/me")).StatusCode.ShouldBe(HttpStatusCode.OK, "B's key still works: nothing of B changed");
        var bKeys = await (await b.Client.GetAsync($"/api/v1/orgs/{b.OrgId}/api-keys")).JsonAsync();
        bKeys.GetArrayLength().ShouldBe(1);
    }

    [Theory]
    [InlineData("not-a-guid")]
    [InlineData("00000000-0000-0000-0000-000000000000")]
    public async Task OrgRoute_MalformedOrUnknownOrgId_Returns404(string orgId)
    {
        var tenant = await factory.SignUpAsync();
        (await tenant.Client.GetAsync($"/api/v1/orgs/{orgId}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task OrgRoute_Anonymous_Returns401()
    {
        var tenant = await factory.SignUpAsync();
        using var anonymous = factory.CreateClient();
        (await anonymous.GetAsync($"/api/v1/orgs/{tenant.OrgId}")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task TenantDbContext_WithoutScope_SeesNothing()
    {
        await factory.SignUpAsync();
        await using var scope = factory.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<TenantDbContext>();
        (await db.Organizations.CountAsync()).ShouldBe(0);
        (await db.ApiKeys.CountAsync()).ShouldBe(0);
        (await db.AuditEvents.CountAsync()).ShouldBe(0);
        var unfiltered = scope.ServiceProvider.GetRequiredService<PlatformDbContext>();
        (await unfiltered.Organizations.CountAsync()).ShouldBeGreaterThan(0);
    }
}
