using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Shouldly;

namespace Sequin.Sandbox.Tests;

/// <summary>A real Kestrel on 127.0.0.1:0 with the sandbox mounted under a prefix, as in the host.</summary>
public sealed class SandboxServer : IAsyncLifetime
{
    public const string Prefix = "/sandbox/salesforce";
    public const string AdminKey = "test-admin-key";

    private WebApplication? _app;

    public HttpClient Client { get; private set; } = null!;
    public string BaseUrl { get; private set; } = string.Empty;
    public SalesforceSandbox Sandbox { get; private set; } = null!;
    public SandboxOrgInfo Org { get; private set; } = null!;
    public string AccessToken { get; private set; } = string.Empty;

    public async ValueTask InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddSalesforceSandbox(o =>
        {
            o.AdminKey = AdminKey;
            o.MaxRequestBodyBytes = 1024 * 1024;
        });
        _app = builder.Build();
        _app.MapSalesforceSandbox(Prefix);
        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseUrl = address + Prefix;
        Sandbox = _app.Services.GetRequiredService<SalesforceSandbox>();
        Org = Sandbox.CreateOrg(new SandboxOrgSpec { Name = "http", Seed = new SandboxSeedSpec { Accounts = 500, ContactsPerAccount = 5 } });
        AccessToken = Sandbox.IssueTokens(Org.OrgId, BaseUrl).AccessToken;
        Client = new HttpClient { BaseAddress = new Uri(BaseUrl + "/") };
        Client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", AccessToken);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }
}

public sealed class HttpTests(SandboxServer server) : IClassFixture<SandboxServer>
{
    private const string V = "services/data/v62.0";

    private static async Task<JsonElement> JsonOf(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

    private static async Task<(string Code, string Message)> SingleError(HttpResponseMessage response)
    {
        var json = await JsonOf(response);
        json.GetArrayLength().ShouldBe(1);
        return (json[0].GetProperty("errorCode").GetString()!, json[0].GetProperty("message").GetString()!);
    }

    [Fact]
    public async Task Query_NoToken_IsInvalidSessionId()
    {
        using var client = new HttpClient { BaseAddress = server.Client.BaseAddress };
        var response = await client.GetAsync($"{V}/query?q=SELECT+Id+FROM+Account");
        response.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        (await SingleError(response)).ShouldBe(("INVALID_SESSION_ID", "Session expired or invalid"));
    }

    [Fact]
    public async Task Versions_Root_ListsVersionsWithoutLimitHeader()
    {
        var response = await server.Client.GetAsync("services/data/");
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        response.Headers.Contains("Sforce-Limit-Info").ShouldBeFalse();
        var json = await JsonOf(response);
        json.EnumerateArray().Select(v => v.GetProperty("version").GetString()).ShouldContain("62.0");
    }

    [Fact]
    public async Task Responses_HaveContentLength_ButQueryPagesStream()
    {
        // A query page is written record by record and flushed as it grows (chunked): 2,000 records are megabytes.
        using var query = await server.Client.GetAsync($"{V}/query?q=SELECT+Id+FROM+Account+LIMIT+1");
        query.Headers.TransferEncodingChunked.ShouldBe(true);
        var id = JsonDocument.Parse(await query.Content.ReadAsByteArrayAsync()).RootElement.GetProperty("records")[0].GetProperty("Id").GetString();

        // Every other JSON answer is written whole with its length (read in one go, no chunk framing).
        using var retrieve = await server.Client.GetAsync($"{V}/sobjects/Account/{id}");
        retrieve.StatusCode.ShouldBe(HttpStatusCode.OK);
        retrieve.Headers.TransferEncodingChunked.ShouldNotBe(true);
        var body = await retrieve.Content.ReadAsByteArrayAsync();
        retrieve.Content.Headers.ContentLength.ShouldBe(body.Length);
        JsonDocument.Parse(body).RootElement.GetProperty("Id").GetString().ShouldBe(id);
    }

    [Fact]
    public async Task Query_Paging_UrlsAreRootRelativeAndInstanceUrlHasPrefix()
    {
        var tokens = await (await PostAdmin($"orgs/{server.Org.OrgId}/tokens", null)).Content.ReadFromJsonAsync<JsonElement>();
        tokens.GetProperty("instance_url").GetString().ShouldBe(server.BaseUrl);
        var first = await server.Client.GetAsync($"{V}/query?q=SELECT+Id,Name+FROM+Contact");
        first.Headers.GetValues("Sforce-Limit-Info").Single().ShouldStartWith("api-usage=");
        var page = await JsonOf(first);
        page.GetProperty("totalSize").GetInt32().ShouldBe(2500);
        page.GetProperty("records").GetArrayLength().ShouldBe(2000);
        page.GetProperty("records")[0].GetProperty("attributes").GetProperty("url").GetString()!.ShouldStartWith("/services/data/v62.0/sobjects/Contact/003");
        var next = page.GetProperty("nextRecordsUrl").GetString()!;
        next.ShouldStartWith("/services/data/v62.0/query/01g");
        using var client = new HttpClient();
        client.DefaultRequestHeaders.Authorization = server.Client.DefaultRequestHeaders.Authorization;
        var second = await JsonOf(await client.GetAsync(tokens.GetProperty("instance_url").GetString() + next));
        second.GetProperty("done").GetBoolean().ShouldBeTrue();
        second.GetProperty("records").GetArrayLength().ShouldBe(500);
    }

    [Fact]
    public async Task Query_ParentRelationship_IsNestedRecord()
    {
        var page = await JsonOf(await server.Client.GetAsync($"{V}/query?q=SELECT+Id,Account.Name,Account.Industry,LastName+FROM+Contact+LIMIT+1"));
        var record = page.GetProperty("records")[0];
        record.EnumerateObject().Select(p => p.Name).ShouldBe(["attributes", "Id", "Account", "LastName"]);
        var account = record.GetProperty("Account");
        account.GetProperty("attributes").GetProperty("type").GetString().ShouldBe("Account");
        account.GetProperty("attributes").GetProperty("url").GetString()!.ShouldStartWith("/services/data/v62.0/sobjects/Account/001");
        account.GetProperty("Name").GetString().ShouldNotBeNullOrEmpty();
        account.TryGetProperty("Industry", out _).ShouldBeTrue();
    }

    [Fact]
    public async Task Query_BatchSizeHeader_IsClampedTo200()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{V}/query?q=SELECT+Id+FROM+Contact");
        request.Headers.Add("Sforce-Query-Options", "batchSize=10");
        var page = await JsonOf(await server.Client.SendAsync(request));
        page.GetProperty("records").GetArrayLength().ShouldBe(200);
    }

    [Fact]
    public async Task Create_MalformedJson_IsJsonParserError()
    {
        var response = await server.Client.PostAsync($"{V}/sobjects/Contact", new StringContent("{\"LastName\": ", Encoding.UTF8, "application/json"));
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await SingleError(response)).Code.ShouldBe("JSON_PARSER_ERROR");
    }

    [Fact]
    public async Task Create_WrongContentType_IsUnsupportedMediaType()
    {
        var response = await server.Client.PostAsync($"{V}/sobjects/Contact", new StringContent("LastName=x", Encoding.UTF8, "text/plain"));
        response.StatusCode.ShouldBe(HttpStatusCode.UnsupportedMediaType);
        (await SingleError(response)).Code.ShouldBe("UNSUPPORTED_MEDIA_TYPE");
    }

    [Fact]
    public async Task Create_BodyOverLimit_Is413AndStoresNothing()
    {
        var before = server.Sandbox.CountRecords(server.Org.OrgId, "Contact");
        var body = $$"""{"LastName":"{{new string('x', 2 * 1024 * 1024)}}"}""";
        var response = await server.Client.PostAsync($"{V}/sobjects/Contact", new StringContent(body, Encoding.UTF8, "application/json"));
        response.StatusCode.ShouldBe(HttpStatusCode.RequestEntityTooLarge);
        (await SingleError(response)).Code.ShouldBe("REQUEST_ENTITY_TOO_LARGE");
        server.Sandbox.CountRecords(server.Org.OrgId, "Contact").ShouldBe(before);
    }

    [Fact]
    public async Task Describe_UnknownObject_IsNotFound()
    {
        var response = await server.Client.GetAsync($"{V}/sobjects/Nope__c/describe");
        response.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await SingleError(response)).Code.ShouldBe("NOT_FOUND");
    }

    [Fact]
    public async Task Query_UnknownObject_IsInvalidType()
    {
        var response = await server.Client.GetAsync($"{V}/query?q=SELECT+Id+FROM+Nope");
        (await SingleError(response)).Code.ShouldBe("INVALID_TYPE");
    }

    [Fact]
    public async Task Put_Record_IsMethodNotAllowed()
    {
        var response = await server.Client.PutAsJsonAsync($"{V}/sobjects/Account/001000000000000AAA", new { Name = "x" });
        response.StatusCode.ShouldBe(HttpStatusCode.MethodNotAllowed);
        (await SingleError(response)).ShouldBe(("METHOD_NOT_ALLOWED", "HTTP Method 'PUT' not allowed. Allowed are GET,PATCH,DELETE,HEAD"));
    }

    [Fact]
    public async Task Version_BelowMinimum_IsNotFound() =>
        (await server.Client.GetAsync("services/data/v41.0/sobjects")).StatusCode.ShouldBe(HttpStatusCode.NotFound);

    [Fact]
    public async Task Crud_SingleRecord_RoundTrips()
    {
        var created = await server.Client.PostAsJsonAsync($"{V}/sobjects/Account", new { Name = "Round Trip", Industry = "Energy" });
        created.StatusCode.ShouldBe(HttpStatusCode.Created);
        var id = (await JsonOf(created)).GetProperty("id").GetString()!;
        var patch = new HttpRequestMessage(HttpMethod.Patch, $"{V}/sobjects/Account/{id}") { Content = JsonContent.Create(new { Rating = "Hot" }) };
        (await server.Client.SendAsync(patch)).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        var record = await JsonOf(await server.Client.GetAsync($"{V}/sobjects/Account/{id}?fields=Name,Rating"));
        record.GetProperty("Rating").GetString().ShouldBe("Hot");
        (await server.Client.DeleteAsync($"{V}/sobjects/Account/{id}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        var again = await server.Client.DeleteAsync($"{V}/sobjects/Account/{id}");
        (await SingleError(again)).Code.ShouldBe("ENTITY_IS_DELETED");
        (await server.Client.GetAsync($"{V}/sobjects/Account/{id}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        var malformed = await server.Client.DeleteAsync($"{V}/sobjects/Account/xyz");
        (await SingleError(malformed)).Code.ShouldBe("MALFORMED_ID");
    }

    [Fact]
    public async Task Collections_Over200Records_IsRejected()
    {
        var records = Enumerable.Range(0, 201).Select(i => new Dictionary<string, object> { ["attributes"] = new { type = "Contact" }, ["LastName"] = $"N{i}" });
        var response = await server.Client.PostAsJsonAsync($"{V}/composite/sobjects", new { allOrNone = false, records });
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await SingleError(response)).Code.ShouldBe("EXCEEDED_ID_LIMIT");
    }

    [Fact]
    public async Task Admin_WithoutKey_Is401()
    {
        using var client = new HttpClient { BaseAddress = server.Client.BaseAddress };
        (await client.GetAsync("_sandbox/orgs")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Faults_DailyLimitReached_IsRequestLimitExceeded()
    {
        var org = server.Sandbox.CreateOrg(new SandboxOrgSpec { Name = "limits" });
        var token = server.Sandbox.IssueTokens(org.OrgId, server.BaseUrl).AccessToken;
        (await PutAdmin($"orgs/{org.OrgId}/faults", new { dailyApiLimit = 1 })).StatusCode.ShouldBe(HttpStatusCode.OK);
        using var client = new HttpClient { BaseAddress = server.Client.BaseAddress };
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        (await client.GetAsync($"{V}/limits")).StatusCode.ShouldBe(HttpStatusCode.OK);
        var denied = await client.GetAsync($"{V}/limits");
        denied.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await SingleError(denied)).ShouldBe(("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."));
    }

    [Fact]
    public async Task Faults_ErrorRate503_Injects503()
    {
        var org = server.Sandbox.CreateOrg(new SandboxOrgSpec { Name = "faulty" });
        var token = server.Sandbox.IssueTokens(org.OrgId, server.BaseUrl).AccessToken;
        server.Sandbox.SetFaults(org.OrgId, new SandboxFaults { ErrorRate503 = 1 });
        using var client = new HttpClient { BaseAddress = server.Client.BaseAddress };
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        (await client.GetAsync($"{V}/limits")).StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable);
        server.Sandbox.SetFaults(org.OrgId, new SandboxFaults { ErrorRate503 = 0, DropConnectionRate = 1 });
        await Should.ThrowAsync<HttpRequestException>(() => client.GetAsync($"{V}/limits"));
    }

    [Fact]
    public async Task Activity_Enabled_MutatesRecords()
    {
        var org = server.Sandbox.CreateOrg(new SandboxOrgSpec { Name = "busy", Seed = new SandboxSeedSpec { Accounts = 10, ContactsPerAccount = 2 } });
        var status = await (await PutAdmin($"orgs/{org.OrgId}/activity", new { enabled = true, operationsPerSecond = 200 })).Content.ReadFromJsonAsync<JsonElement>();
        status.GetProperty("settings").GetProperty("enabled").GetBoolean().ShouldBeTrue();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (server.Sandbox.GetActivity(org.OrgId) is { } s && s.Creates + s.Updates + s.Deletes < 20 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }
        server.Sandbox.SetActivity(org.OrgId, new SandboxActivity { Enabled = false });
        var done = server.Sandbox.GetActivity(org.OrgId);
        (done.Creates + done.Updates + done.Deletes).ShouldBeGreaterThanOrEqualTo(20);
    }

    [Fact]
    public async Task Deleted_AfterDelete_ListsRecordWithEarliestDate()
    {
        var created = await JsonOf(await server.Client.PostAsJsonAsync($"{V}/sobjects/Lead", new { LastName = "Del", Company = "Co" }));
        var id = created.GetProperty("id").GetString()!;
        await server.Client.DeleteAsync($"{V}/sobjects/Lead/{id}");
        var start = Uri.EscapeDataString(DateTime.UtcNow.AddHours(-1).ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture));
        var end = Uri.EscapeDataString(DateTime.UtcNow.AddMinutes(2).ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture));
        var json = await JsonOf(await server.Client.GetAsync($"{V}/sobjects/Lead/deleted/?start={start}&end={end}"));
        json.TryGetProperty("earliestDateAvailable", out _).ShouldBeTrue();
        json.GetProperty("latestDateCovered").GetString()!.ShouldEndWith(":00.000+0000");
    }

    private Task<HttpResponseMessage> PostAdmin(string path, object? body)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "_sandbox/" + path) { Content = body is null ? null : JsonContent.Create(body) };
        request.Headers.Add("X-Sandbox-Admin-Key", SandboxServer.AdminKey);
        return server.Client.SendAsync(request);
    }

    private Task<HttpResponseMessage> PutAdmin(string path, object body)
    {
        var request = new HttpRequestMessage(HttpMethod.Put, "_sandbox/" + path) { Content = JsonContent.Create(body) };
        request.Headers.Add("X-Sandbox-Admin-Key", SandboxServer.AdminKey);
        return server.Client.SendAsync(request);
    }
}

public sealed class HttpFaultTests(SandboxServer server) : IClassFixture<SandboxServer>
{
    private HttpClient ClientFor(string orgId)
    {
        var client = new HttpClient { BaseAddress = server.Client.BaseAddress };
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer",
            server.Sandbox.IssueTokens(orgId, server.BaseUrl).AccessToken);
        return client;
    }

    [Fact]
    public async Task Faults_ConcurrencyCap_RejectsTheSecondRequest()
    {
        var org = server.Sandbox.CreateOrg(new SandboxOrgSpec { Name = "narrow" });
        server.Sandbox.SetFaults(org.OrgId, new SandboxFaults { MaxConcurrentRequests = 1, LatencyMs = 400 });
        using var client = ClientFor(org.OrgId);
        var responses = await Task.WhenAll(client.GetAsync("services/data/v62.0/limits"), client.GetAsync("services/data/v62.0/limits"));
        responses.Select(r => (int)r.StatusCode).Order().ShouldBe([200, 403]);
    }

    [Fact]
    public async Task Faults_Timeout_HangsUntilTheClientGivesUp()
    {
        var org = server.Sandbox.CreateOrg(new SandboxOrgSpec { Name = "slow" });
        server.Sandbox.SetFaults(org.OrgId, new SandboxFaults { TimeoutRate = 1 });
        using var client = ClientFor(org.OrgId);
        client.Timeout = TimeSpan.FromMilliseconds(300);
        await Should.ThrowAsync<TaskCanceledException>(() => client.GetAsync("services/data/v62.0/limits"));
    }

    [Fact]
    public async Task Faults_Latency_DelaysTheResponse()
    {
        var org = server.Sandbox.CreateOrg(new SandboxOrgSpec { Name = "laggy" });
        server.Sandbox.SetFaults(org.OrgId, new SandboxFaults { LatencyMs = 200 });
        using var client = ClientFor(org.OrgId);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        (await client.GetAsync("services/data/v62.0/limits")).EnsureSuccessStatusCode();
        watch.Elapsed.ShouldBeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(190));
    }

    [Fact]
    public async Task Token_AuthorizeAllowThenExchangeWithPlainPkce_Works()
    {
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = server.Client.BaseAddress };
        var page = await client.GetStringAsync("services/oauth2/authorize?response_type=code&client_id=c&redirect_uri=http%3A%2F%2Flocalhost%2Fcb&state=s1&login_hint=http");
        page.ShouldContain("selected>http (");
        var decision = await client.PostAsync("services/oauth2/authorize", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["response_type"] = "code", ["client_id"] = "c", ["redirect_uri"] = "http://localhost/cb", ["state"] = "s1",
            ["code_challenge"] = "verifier-123", ["code_challenge_method"] = "plain", ["org_id"] = server.Org.OrgId, ["action"] = "allow",
        }));
        decision.StatusCode.ShouldBe(System.Net.HttpStatusCode.Redirect);
        var location = decision.Headers.Location!.ToString();
        location.ShouldStartWith("http://localhost/cb?code=");
        location.ShouldEndWith("&state=s1");
        var code = Uri.UnescapeDataString(location.Split("code=")[1].Split('&')[0]);
        Task<HttpResponseMessage> ExchangeAsync(string verifier) => client.PostAsync("services/oauth2/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code", ["code"] = code, ["client_id"] = "c", ["redirect_uri"] = "http://localhost/cb", ["code_verifier"] = verifier,
        }));
        var token = await ExchangeAsync("verifier-123");
        token.StatusCode.ShouldBe(System.Net.HttpStatusCode.OK);
        var json = JsonDocument.Parse(await token.Content.ReadAsStringAsync()).RootElement;
        json.GetProperty("instance_url").GetString().ShouldBe(server.BaseUrl);
        json.GetProperty("token_type").GetString().ShouldBe("Bearer");
        // Codes are single use.
        (await ExchangeAsync("verifier-123")).StatusCode.ShouldBe(System.Net.HttpStatusCode.BadRequest);
    }
}
