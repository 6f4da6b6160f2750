using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Shouldly;

namespace Sequin.Sandbox.Tests;

/// <summary><c>POST /composite</c> over HTTP against the real sandbox: references, allOrNone rollback, errors, limits.</summary>
public sealed class CompositeTests(SandboxServer server) : IClassFixture<SandboxServer>
{
    private const string V = "/services/data/v62.0";

    private static async Task<JsonElement> JsonOf(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

    private async Task<JsonElement[]> CompositeAsync(object body)
    {
        var response = await server.Client.PostAsJsonAsync($"services/data/v62.0/composite", body);
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        return [.. (await JsonOf(response)).GetProperty("compositeResponse").EnumerateArray()];
    }

    private async Task<int> CountAsync(string soql)
    {
        var json = await JsonOf(await server.Client.GetAsync($"services/data/v62.0/query?q={Uri.EscapeDataString(soql)}"));
        return json.GetProperty("totalSize").GetInt32();
    }

    private static long Used(HttpResponseMessage response) =>
        long.Parse(response.Headers.GetValues("Sforce-Limit-Info").Single().Split('=')[1].Split('/')[0], System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task CreateThenRetrieve_ReferencesResolve_AndCountsOneApiCall()
    {
        var name = "Composite " + Guid.NewGuid().ToString("N")[..8];
        var before = Used(await server.Client.GetAsync("services/data/v62.0/limits"));
        var response = await server.Client.PostAsJsonAsync("services/data/v62.0/composite", new
        {
            allOrNone = false,
            compositeRequest = new object[]
            {
                new { method = "POST", url = $"{V}/composite/sobjects", referenceId = "write",
                    body = new { allOrNone = true, records = new object[] { new Dictionary<string, object> { ["attributes"] = new { type = "Account" }, ["Name"] = name } } } },
                new { method = "POST", url = $"{V}/sobjects/Contact", referenceId = "contact",
                    body = new { LastName = "Ref", AccountId = "@{write[0].id}" } },
                new { method = "GET", url = $"{V}/composite/sobjects/Account?ids=@{{write[0].id}}&fields=Id,Name,CreatedDate", referenceId = "readGet" },
                new { method = "POST", url = $"{V}/composite/sobjects/Contact", referenceId = "readPost",
                    body = new { ids = new[] { "@{contact.id}" }, fields = new[] { "AccountId", "LastName" } } },
            },
        });
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        Used(response).ShouldBe(before + 1); // four subrequests, one API call
        var subs = (await JsonOf(response)).GetProperty("compositeResponse").EnumerateArray().ToArray();
        subs.Select(s => s.GetProperty("httpStatusCode").GetInt32()).ShouldBe([200, 201, 200, 200]);
        subs.Select(s => s.GetProperty("referenceId").GetString()).ShouldBe(["write", "contact", "readGet", "readPost"]);
        var accountId = subs[0].GetProperty("body")[0].GetProperty("id").GetString()!;
        var contactId = subs[1].GetProperty("body").GetProperty("id").GetString()!;
        subs[1].GetProperty("httpHeaders").GetProperty("Location").GetString().ShouldBe($"{V}/sobjects/Contact/{contactId}");
        var read = subs[2].GetProperty("body")[0];
        read.GetProperty("Id").GetString().ShouldBe(accountId);
        read.GetProperty("Name").GetString().ShouldBe(name);
        read.GetProperty("CreatedDate").GetString().ShouldNotBeNullOrEmpty();
        subs[3].GetProperty("body")[0].GetProperty("AccountId").GetString().ShouldBe(accountId);

        // The sandbox's real state: both records exist and are linked.
        (await CountAsync($"SELECT Id FROM Contact WHERE AccountId = '{accountId}'")).ShouldBe(1);
    }

    [Fact]
    public async Task AllOrNone_FailingSubrequest_RollsBackEarlierWrites_OthersHalted()
    {
        var name = "Rollback " + Guid.NewGuid().ToString("N")[..8];
        var existing = await server.Client.PostAsJsonAsync("services/data/v62.0/sobjects/Account", new { Name = name + " kept", Rating = "Cold" });
        var keptId = (await JsonOf(existing)).GetProperty("id").GetString()!;
        var subs = await CompositeAsync(new
        {
            allOrNone = true,
            compositeRequest = new object[]
            {
                new { method = "POST", url = $"{V}/sobjects/Account", referenceId = "acct", body = new { Name = name } },
                new { method = "PATCH", url = $"{V}/sobjects/Account/{keptId}", referenceId = "upd", body = new { Rating = "Hot" } },
                new { method = "POST", url = $"{V}/sobjects/Contact", referenceId = "bad", body = new { LastName = "X", Email = "not-an-email", AccountId = "@{acct.id}" } },
                new { method = "GET", url = $"{V}/sobjects/Account/@{{acct.id}}", referenceId = "after" },
            },
        });
        subs.Select(s => s.GetProperty("httpStatusCode").GetInt32()).ShouldBe([400, 400, 400, 400]);
        subs[2].GetProperty("body")[0].GetProperty("errorCode").GetString().ShouldBe("INVALID_EMAIL_ADDRESS");
        foreach (var i in new[] { 0, 1, 3 })
        {
            subs[i].GetProperty("body")[0].GetProperty("errorCode").GetString().ShouldBe("PROCESSING_HALTED");
            subs[i].GetProperty("body")[0].GetProperty("message").GetString()
                .ShouldBe("The transaction was rolled back since another operation in the same transaction failed.");
        }

        // Nothing of it stayed: no new account, the update undone.
        (await CountAsync($"SELECT Id FROM Account WHERE Name = '{name}'")).ShouldBe(0);
        var kept = await JsonOf(await server.Client.GetAsync($"services/data/v62.0/sobjects/Account/{keptId}?fields=Rating"));
        kept.GetProperty("Rating").GetString().ShouldBe("Cold");
    }

    [Fact]
    public async Task AllOrNone_ForcesCollectionsAllOrNone_AndRollsBackTheComposite()
    {
        var name = "Forced " + Guid.NewGuid().ToString("N")[..8];
        var subs = await CompositeAsync(new
        {
            allOrNone = true,
            compositeRequest = new object[]
            {
                new { method = "POST", url = $"{V}/sobjects/Account", referenceId = "first", body = new { Name = name } },
                new { method = "POST", url = $"{V}/composite/sobjects", referenceId = "batch", body = new
                {
                    allOrNone = false,
                    records = new object[]
                    {
                        new Dictionary<string, object> { ["attributes"] = new { type = "Contact" }, ["LastName"] = name },
                        new Dictionary<string, object> { ["attributes"] = new { type = "Contact" }, ["Email"] = "missing-last-name@example.com" },
                    },
                } },
            },
        });
        var results = subs[1].GetProperty("body");
        results[0].GetProperty("errors")[0].GetProperty("statusCode").GetString().ShouldBe("ALL_OR_NONE_OPERATION_ROLLED_BACK");
        results[1].GetProperty("errors")[0].GetProperty("statusCode").GetString().ShouldBe("REQUIRED_FIELD_MISSING");
        subs[0].GetProperty("body")[0].GetProperty("errorCode").GetString().ShouldBe("PROCESSING_HALTED");
        (await CountAsync($"SELECT Id FROM Account WHERE Name = '{name}'")).ShouldBe(0);
        (await CountAsync($"SELECT Id FROM Contact WHERE LastName = '{name}'")).ShouldBe(0);
    }

    [Fact]
    public async Task NotAllOrNone_FailedSubrequestKeepsOthers_AndItsDependentsHalt()
    {
        var name = "Partial " + Guid.NewGuid().ToString("N")[..8];
        var subs = await CompositeAsync(new
        {
            compositeRequest = new object[]
            {
                new { method = "POST", url = $"{V}/sobjects/Account", referenceId = "good", body = new { Name = name } },
                new { method = "POST", url = $"{V}/sobjects/Account", referenceId = "bad", body = new { Nope__c = 1 } },
                new { method = "GET", url = $"{V}/sobjects/Account/@{{bad.id}}", referenceId = "dependent" },
                new { method = "GET", url = $"{V}/sobjects/Account/@{{nobody.id}}", referenceId = "unknown" },
                new { method = "GET", url = $"{V}/sobjects/Account/@{{good.id}}?fields=Name", referenceId = "readGood" },
            },
        });
        subs.Select(s => s.GetProperty("httpStatusCode").GetInt32()).ShouldBe([201, 400, 400, 400, 200]);
        subs[1].GetProperty("body")[0].GetProperty("errorCode").GetString().ShouldBe("INVALID_FIELD");
        subs[2].GetProperty("body")[0].GetProperty("errorCode").GetString().ShouldBe("PROCESSING_HALTED");
        subs[2].GetProperty("body")[0].GetProperty("message").GetString()!.ShouldContain("bad.id");
        subs[3].GetProperty("body")[0].GetProperty("message").GetString()!.ShouldContain("nobody");
        subs[4].GetProperty("body").GetProperty("Name").GetString().ShouldBe(name);
        (await CountAsync($"SELECT Id FROM Account WHERE Name = '{name}'")).ShouldBe(1);
    }

    [Fact]
    public async Task UnknownResource_AndWrongMethod_AreSubrequestErrors()
    {
        var subs = await CompositeAsync(new
        {
            compositeRequest = new object[]
            {
                new { method = "GET", url = $"{V}/nothing/here", referenceId = "a" },
                new { method = "PUT", url = $"{V}/sobjects/Account", referenceId = "b" },
                new { method = "GET", url = "/services/data/v12.0/sobjects", referenceId = "c" },
            },
        });
        subs.Select(s => s.GetProperty("httpStatusCode").GetInt32()).ShouldBe([404, 405, 404]);
        subs[0].GetProperty("body")[0].GetProperty("errorCode").GetString().ShouldBe("NOT_FOUND");
        subs[1].GetProperty("body")[0].GetProperty("errorCode").GetString().ShouldBe("METHOD_NOT_ALLOWED");
    }

    [Theory]
    [InlineData("""{"compositeRequest":[]}""", "JSON_PARSER_ERROR")]
    [InlineData("""{"allOrNone":"yes","compositeRequest":[{"method":"GET","url":"/services/data/v62.0/limits","referenceId":"a"}]}""", "JSON_PARSER_ERROR")]
    [InlineData("""{"compositeRequest":[{"method":"GET","url":"/services/data/v62.0/limits"}]}""", "JSON_PARSER_ERROR")]
    [InlineData("""{"compositeRequest":[{"method":"GET","url":"/services/data/v62.0/limits","referenceId":"a-b"}]}""", "JSON_PARSER_ERROR")]
    [InlineData("""{"compositeRequest":[{"method":"GET","url":"/x","referenceId":"a"}]}""", "JSON_PARSER_ERROR")]
    [InlineData("""{"compositeRequest":[{"method":"GET","url":"/services/data/v62.0/limits","referenceId":"a"},{"method":"GET","url":"/services/data/v62.0/limits","referenceId":"a"}]}""", "JSON_PARSER_ERROR")]
    [InlineData("""{"compositeRequest":[{"method":"FETCH","url":"/services/data/v62.0/limits","referenceId":"a"}]}""", "JSON_PARSER_ERROR")]
    [InlineData("""{"compositeRequest":""", "JSON_PARSER_ERROR")]
    public async Task MalformedBody_Is400_AndRunsNothing(string body, string code)
    {
        var response = await server.Client.PostAsync("services/data/v62.0/composite", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await JsonOf(response))[0].GetProperty("errorCode").GetString().ShouldBe(code);
    }

    [Fact]
    public async Task MoreThan25Subrequests_Is400_AndCreatesNothing()
    {
        var name = "TooMany " + Guid.NewGuid().ToString("N")[..8];
        var requests = Enumerable.Range(0, 26).Select(i => new { method = "POST", url = $"{V}/sobjects/Account", referenceId = $"r{i}", body = new { Name = name } });
        var response = await server.Client.PostAsJsonAsync("services/data/v62.0/composite", new { compositeRequest = requests });
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await JsonOf(response))[0].GetProperty("errorCode").GetString().ShouldBe("LIMIT_EXCEEDED");
        (await CountAsync($"SELECT Id FROM Account WHERE Name = '{name}'")).ShouldBe(0);
    }

    [Fact]
    public async Task SixCollectionSubrequests_Are400_AndCreateNothing()
    {
        // At most 5 subrequests may be sObject Collections or queries.
        var name = "SixCollections " + Guid.NewGuid().ToString("N")[..8];
        var requests = Enumerable.Range(0, 6).Select(i => new
        {
            method = "POST", url = $"{V}/composite/sobjects", referenceId = $"c{i}",
            body = new { allOrNone = true, records = new[] { new Dictionary<string, object> { ["attributes"] = new { type = "Account" }, ["Name"] = name } } },
        });
        var response = await server.Client.PostAsJsonAsync("services/data/v62.0/composite", new { compositeRequest = requests });
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await JsonOf(response))[0].GetProperty("errorCode").GetString().ShouldBe("LIMIT_EXCEEDED");
        (await CountAsync($"SELECT Id FROM Account WHERE Name = '{name}'")).ShouldBe(0);
    }
}
