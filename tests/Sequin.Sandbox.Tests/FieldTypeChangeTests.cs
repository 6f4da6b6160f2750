using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Sequin.Sandbox.Salesforce.Schema;
using Sequin.Sandbox.Salesforce.Writes;
using Shouldly;

namespace Sequin.Sandbox.Tests;

/// <summary>
/// "Change Field Type" on a custom field, through the admin API: describe reports the new type at once, stored values
/// are converted (or cleared when they do not convert), records keep their SystemModstamp, writes and queries follow
/// the new type, and other orgs keep theirs.
/// </summary>
public sealed class FieldTypeChangeTests : IAsyncLifetime
{
    private const string V = "services/data/v62.0";
    private WebApplication _app = null!;
    private SalesforceSandbox _sandbox = null!;
    private HttpClient _admin = null!;
    private string _base = "";

    public async ValueTask InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddSalesforceSandbox(o =>
        {
            var contact = new SandboxCustomObject { Name = "Contact" };
            contact.Fields.Add(new SandboxCustomField { Name = "Score__c", Type = "string", Length = 20 });
            o.CustomObjects.Add(contact);
        });
        _app = builder.Build();
        _app.MapSalesforceSandbox("/sandbox/salesforce");
        await _app.StartAsync();
        _base = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/sandbox/salesforce";
        _sandbox = _app.Services.GetRequiredService<SalesforceSandbox>();
        _admin = new HttpClient { BaseAddress = new Uri(_base + "/") };
    }

    public async ValueTask DisposeAsync()
    {
        _admin.Dispose();
        await _app.DisposeAsync();
    }

    private HttpClient ApiClient(string orgId)
    {
        var client = new HttpClient { BaseAddress = new Uri(_base + "/") };
        client.DefaultRequestHeaders.Authorization = new("Bearer", _sandbox.IssueTokens(orgId, _base).AccessToken);
        return client;
    }

    private static async Task<JsonElement> JsonOf(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

    private static async Task<JsonElement> Field(HttpClient api, string name)
    {
        var describe = await JsonOf(await api.GetAsync($"{V}/sobjects/Contact/describe"));
        return describe.GetProperty("fields").EnumerateArray().Single(f => f.GetProperty("name").GetString() == name);
    }

    private async Task<Dictionary<string, (JsonElement Score, string Modstamp)>> ScoresAsync(HttpClient api)
    {
        var page = await JsonOf(await api.GetAsync($"{V}/query?q=SELECT+Id,Score__c,SystemModstamp+FROM+Contact"));
        return page.GetProperty("records").EnumerateArray().ToDictionary(r => r.GetProperty("Id").GetString()!,
            r => (r.GetProperty("Score__c").Clone(), r.GetProperty("SystemModstamp").GetString()!));
    }

    [Fact]
    public async Task ChangeFieldType_StringToDouble_ConvertsValuesKeepsModstampsAndDescribeFollows()
    {
        var org = _sandbox.CreateOrg(new SandboxOrgSpec { Name = "retype", Seed = new SandboxSeedSpec { Accounts = 2, ContactsPerAccount = 2 } });
        var other = _sandbox.CreateOrg(new SandboxOrgSpec { Name = "untouched", Seed = new SandboxSeedSpec { Accounts = 1, ContactsPerAccount = 1 } });
        using var api = ApiClient(org.OrgId);
        var ids = (await ScoresAsync(api)).Keys.Order(StringComparer.Ordinal).ToArray();
        string[] scores = ["12.5", " 7 ", "n/a"];
        for (var i = 0; i < scores.Length; i++)
        {
            (await api.PatchAsJsonAsync($"{V}/sobjects/Contact/{ids[i]}", new { Score__c = scores[i] })).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        }

        var before = await ScoresAsync(api);
        (await Field(api, "Score__c")).GetProperty("type").GetString().ShouldBe("string");

        var response = await _admin.PutAsJsonAsync($"_sandbox/orgs/{org.OrgId}/sobjects/contact/fields/score__c", new { type = "double", precision = 18, scale = 2 });
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        var result = (await response.Content.ReadFromJsonAsync<SandboxFieldChangeResult>())!;
        (result.Object, result.Field, result.PreviousType, result.Type, result.Records, result.Lost).ShouldBe(("Contact", "Score__c", "string", "double", 4, 1));

        var field = await Field(api, "Score__c");
        field.GetProperty("type").GetString().ShouldBe("double");
        field.GetProperty("soapType").GetString().ShouldBe("xsd:double");
        (field.GetProperty("precision").GetInt32(), field.GetProperty("scale").GetInt32(), field.GetProperty("length").GetInt32()).ShouldBe((18, 2, 0));
        var after = await ScoresAsync(api);
        after[ids[0]].Score.GetDouble().ShouldBe(12.5);
        after[ids[1]].Score.GetDouble().ShouldBe(7);
        after[ids[2]].Score.ValueKind.ShouldBe(JsonValueKind.Null, "'n/a' is not a number: cleared, as Salesforce warns");
        after[ids[3]].Score.ValueKind.ShouldBe(JsonValueKind.Null);
        foreach (var id in ids)
        {
            after[id].Modstamp.ShouldBe(before[id].Modstamp, "a type change is a metadata change, not a record write");
        }

        // Writes, filters and the other org follow their own schema.
        (await api.PatchAsJsonAsync($"{V}/sobjects/Contact/{ids[3]}", new { Score__c = 3.25 })).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        var refused = await api.PatchAsJsonAsync($"{V}/sobjects/Contact/{ids[3]}", new { Score__c = "high" });
        refused.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await JsonOf(refused))[0].GetProperty("errorCode").GetString().ShouldBe("JSON_PARSER_ERROR");
        var filtered = await JsonOf(await api.GetAsync($"{V}/query?q=SELECT+Id+FROM+Contact+WHERE+Score__c+>+5"));
        filtered.GetProperty("totalSize").GetInt32().ShouldBe(2); // 12.5 and 7
        using var otherApi = ApiClient(other.OrgId);
        (await Field(otherApi, "Score__c")).GetProperty("type").GetString().ShouldBe("string");

        // And back to text: numbers become their text.
        (await _admin.PutAsJsonAsync($"_sandbox/orgs/{org.OrgId}/sobjects/Contact/fields/Score__c", new { type = "string", length = 40 }))
            .StatusCode.ShouldBe(HttpStatusCode.OK);
        (await Field(api, "Score__c")).GetProperty("length").GetInt32().ShouldBe(40);
        var text = await ScoresAsync(api);
        (text[ids[0]].Score.GetString(), text[ids[1]].Score.GetString(), text[ids[3]].Score.GetString()).ShouldBe(("12.5", "7", "3.25"));
    }

    [Theory]
    [InlineData("LastName", "double", HttpStatusCode.BadRequest)]   // standard field
    [InlineData("Score__c", "reference", HttpStatusCode.BadRequest)] // unsupported target
    [InlineData("Score__c", "float", HttpStatusCode.BadRequest)]     // no such type
    [InlineData("Nope__c", "double", HttpStatusCode.NotFound)]
    public async Task ChangeFieldType_NotAllowed_IsRefusedAndChangesNothing(string field, string type, HttpStatusCode expected)
    {
        var org = _sandbox.CreateOrg(new SandboxOrgSpec { Name = "refused" });
        (await _admin.PutAsJsonAsync($"_sandbox/orgs/{org.OrgId}/sobjects/Contact/fields/{field}", new { type })).StatusCode.ShouldBe(expected);
        using var api = ApiClient(org.OrgId);
        (await Field(api, "Score__c")).GetProperty("type").GetString().ShouldBe("string");
        (await Field(api, "LastName")).GetProperty("type").GetString().ShouldBe("string");
    }

    [Fact]
    public void ChangeFieldType_InProcess_ConvertsTheRecycleBinTooAndWritesParsedBeforeTheChangeFollowTheNewType()
    {
        var (sandbox, org) = TestOrgs.Create(new SandboxSeedSpec { Accounts = 3, ContactsPerAccount = 1 }, o =>
        {
            var contact = new SandboxCustomObject { Name = "Contact" };
            contact.Fields.Add(new SandboxCustomField { Name = "Score__c", Type = "string" });
            o.CustomObjects.Add(contact);
        });
        var before = org.Catalog.Contact;
        var ids = org.Table(before).Snapshot().ToArray().Select(r => r!.Id).Order(StringComparer.Ordinal).ToArray();
        SaveResult Update(ObjectDef type, string id, string json) =>
            RecordWriter.Save(org, [new WriteRequest(type, id, JsonDocument.Parse(json).RootElement)], true, org.UserId)[0];
        Update(before, ids[0], """{"Score__c":"5"}""").Success.ShouldBeTrue();
        Update(before, ids[1], """{"Score__c":"9"}""").Success.ShouldBeTrue();
        RecordWriter.Delete(org, [ids[1]], true, org.UserId)[0].Success.ShouldBeTrue();

        var result = sandbox.ChangeFieldType(org.Id, "Contact", "Score__c", new SandboxFieldChange { Type = "int" });
        (result.Records, result.Lost).ShouldBe((3, 0), "empty values stay empty; nothing is lost");
        var after = org.Catalog.Contact;
        after.ShouldNotBeSameAs(before);
        var score = after.FindField("Score__c")!;
        org.Table(after).Find(ids[0])!.Get(score).ShouldBe(5);
        org.Table(after).Find(ids[1])!.ShouldSatisfyAllConditions(r => r.IsDeleted.ShouldBeTrue(), r => r.Get(score).ShouldBe(9));

        // A request parsed against the old definition is applied with the current one.
        Update(before, ids[2], """{"Score__c":"42"}""").Success.ShouldBeTrue();
        org.Table(after).Find(ids[2])!.Get(score).ShouldBe(42);
        RecordWriter.Save(org, [new WriteRequest(before, null, JsonDocument.Parse("""{"LastName":"New","Score__c":"7"}""").RootElement)], true, org.UserId)[0]
            .Success.ShouldBeTrue();
        org.Table(after).Snapshot().ToArray().Count(r => r!.Get(score) is 7).ShouldBe(1);
        Should.Throw<KeyNotFoundException>(() => sandbox.ChangeFieldType(org.Id, "Contact", "Nope__c", new SandboxFieldChange { Type = "int" }));
    }
}
