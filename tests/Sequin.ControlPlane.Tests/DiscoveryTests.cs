using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Sequin.Sandbox;
using Shouldly;

namespace Sequin.ControlPlane.Tests;

public sealed class DiscoveryTests(KestrelControlPlaneFactory factory) : IClassFixture<KestrelControlPlaneFactory>
{
    private async Task<(Tenant Tenant, Guid ConnectionId, string SandboxOrgId)> ConnectedAsync()
    {
        var tenant = await factory.SignUpAsync();
        var org = factory.Services.GetRequiredService<SalesforceSandbox>().CreateOrg(new SandboxOrgSpec { Name = $"disc-{Guid.NewGuid():N}"[..12] });
        return (tenant, await OAuthFlow.ConnectSalesforceAsync(factory, tenant, org.OrgId), org.OrgId);
    }

    [Fact]
    public async Task Objects_OfAConnectedOrg_ListSyncableObjectsWithTableNames()
    {
        var (tenant, connectionId, _) = await ConnectedAsync();

        var objects = await (await tenant.Client.GetAsync($"/api/v1/orgs/{tenant.OrgId}/connections/{connectionId}/objects")).JsonAsync();

        var contact = objects.EnumerateArray().Single(o => o.GetProperty("name").GetString() == "Contact");
        contact.GetProperty("table").GetString().ShouldBe("contact");
        contact.GetProperty("syncable").GetBoolean().ShouldBeTrue();
        objects.EnumerateArray().Select(o => o.GetProperty("name").GetString()).ShouldContain("Opportunity");
    }

    [Fact]
    public async Task Describe_Contact_GivesColumnsAndPostgresTypes()
    {
        var (tenant, connectionId, _) = await ConnectedAsync();

        var contact = await (await tenant.Client.GetAsync($"/api/v1/orgs/{tenant.OrgId}/connections/{connectionId}/objects/Contact")).JsonAsync();

        contact.GetProperty("table").GetString().ShouldBe("contact");
        var fields = contact.GetProperty("fields").EnumerateArray().ToDictionary(f => f.GetProperty("name").GetString()!);
        fields["FirstName"].GetProperty("column").GetString().ShouldBe("first_name");
        fields["FirstName"].GetProperty("pgType").GetString().ShouldBe("text");
        fields["AccountId"].GetProperty("isReference").GetBoolean().ShouldBeTrue();
        fields["AccountId"].GetProperty("column").GetString().ShouldBe("account_id");
        fields["SystemModstamp"].GetProperty("pgType").GetString().ShouldBe("timestamp with time zone");
    }

    [Theory]
    [InlineData("NoSuchObject__c", HttpStatusCode.NotFound)]
    [InlineData("Contact;drop", HttpStatusCode.BadRequest)]
    public async Task Describe_UnknownOrInvalidObject_Returns4xx(string objectName, HttpStatusCode expected)
    {
        var (tenant, connectionId, _) = await ConnectedAsync();
        var response = await tenant.Client.GetAsync($"/api/v1/orgs/{tenant.OrgId}/connections/{connectionId}/objects/{Uri.EscapeDataString(objectName)}");
        response.StatusCode.ShouldBe(expected, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Test_WorkingThenRevokedCredentials_ReportsActiveThenRevoked()
    {
        var (tenant, connectionId, sandboxOrg) = await ConnectedAsync();

        var ok = await (await tenant.Client.PostAsync($"/api/v1/orgs/{tenant.OrgId}/connections/{connectionId}/test", null)).JsonAsync();
        ok.GetProperty("ok").GetBoolean().ShouldBeTrue(ok.ToString());
        ok.GetProperty("objects").GetInt32().ShouldBeGreaterThan(4);

        factory.Services.GetRequiredService<SalesforceSandbox>().RevokeTokens(sandboxOrg);
        var revoked = await (await tenant.Client.PostAsync($"/api/v1/orgs/{tenant.OrgId}/connections/{connectionId}/test", null)).JsonAsync();
        revoked.GetProperty("ok").GetBoolean().ShouldBeFalse();
        revoked.GetProperty("status").GetString().ShouldBe("revoked");

        var connection = await (await tenant.Client.GetAsync($"/api/v1/orgs/{tenant.OrgId}/connections/{connectionId}")).JsonAsync();
        connection.GetProperty("status").GetString().ShouldBe("revoked");
        connection.GetProperty("lastError").GetString().ShouldNotBeNullOrEmpty();
    }

    [Fact]
    public async Task Objects_OfAnotherOrganizationsConnection_AreNotFound()
    {
        var (_, bConnection, _) = await ConnectedAsync();
        var a = await factory.SignUpAsync();
        (await a.Client.GetAsync($"/api/v1/orgs/{a.OrgId}/connections/{bConnection}/objects")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await a.Client.PostAsync($"/api/v1/orgs/{a.OrgId}/connections/{bConnection}/test", null)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }
}
