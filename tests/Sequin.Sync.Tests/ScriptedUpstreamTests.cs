using System.Net;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Sequin.Sources;
using Sequin.Sources.Salesforce;
using Shouldly;

namespace Sequin.Sync.Tests;

/// <summary>The connector against a scripted upstream: responses the sandbox does not produce (bad JSON, misfits).</summary>
public sealed class ScriptedUpstreamTests
{
    private static readonly SourceField[] Fields =
    [
        new("LastName", "string", FieldKind.Text, false, true, true),
        new("NumberOfEmployees", "int", FieldKind.Integer, false, true, true),
        new("Birthdate", "date", FieldKind.Date, false, true, true),
        new("Interests__c", "multipicklist", FieldKind.TextArray, false, true, true),
        new("MailingAddress", "address", FieldKind.Json, false, false, false),
    ];

    private const string Describe = """
        {"name":"Contact","fields":[{"name":"Id","type":"id"},{"name":"SystemModstamp","type":"datetime"},{"name":"IsDeleted","type":"boolean"},
        {"name":"LastName","type":"string"},{"name":"NumberOfEmployees","type":"int"},{"name":"Birthdate","type":"date"},
        {"name":"Interests__c","type":"multipicklist"},{"name":"MailingAddress","type":"address"},{"name":"Strange__c","type":"hologram"}]}
        """;

    private static (ISourceConnector Connector, Script Script) Connect(params Func<HttpRequestMessage, HttpResponseMessage?>[] responses)
    {
        var script = new Script(responses);
        var factory = new SalesforceConnectorFactory(Options.Create(new SalesforceOptions
        {
            MaxAttempts = 3,
            BackoffBase = TimeSpan.FromMilliseconds(1),
            BackoffMax = TimeSpan.FromMilliseconds(5),
        }), TimeProvider.System, NullLoggerFactory.Instance, script);
        var connector = factory.Create(new SourceCredentials(new Dictionary<string, string>
        {
            ["instance_url"] = "http://upstream.test/prefix",
            ["access_token"] = "token",
            ["refresh_token"] = "refresh",
        }), new MemorySink(), factory.DefaultLimits with { RequestsPerSecond = 1000 });
        return (connector, script);
    }

    private static HttpResponseMessage Json(string body, HttpStatusCode status = HttpStatusCode.OK) =>
        new(status) { Content = new StringContent(body, Encoding.UTF8, "application/json") };

    [Fact]
    public async Task UnknownDescribeType_IsText()
    {
        var (connector, _) = Connect(_ => Json(Describe));
        var describe = await connector.DescribeObjectAsync("Contact", default);
        describe.Find("Strange__c")!.Kind.ShouldBe(FieldKind.Text);
        describe.Find("MailingAddress")!.Kind.ShouldBe(FieldKind.Json);
        describe.Find("Interests__c")!.Kind.ShouldBe(FieldKind.TextArray);
    }

    [Fact]
    public async Task MalformedJson_IsRetriedThenAClearSourceError()
    {
        var (connector, script) = Connect(r => r.RequestUri!.AbsolutePath.EndsWith("/describe") ? Json(Describe) : Json("""{"totalSize":1,"done":true,"records":[{"Id":"003""" ));
        var e = await Should.ThrowAsync<SourceException>(() => connector.ReadBackfillPageAsync(new ReadRequest("Contact", Fields), null, default));
        e.Code.ShouldBe("MALFORMED_RESPONSE");
        e.Message.ShouldContain("malformed JSON");
        script.Requests.Count(u => u.Contains("/query")).ShouldBe(3);
    }

    [Fact]
    public async Task ValueThatDoesNotFitItsType_IsNullAndReported()
    {
        var (connector, _) = Connect(r => r.RequestUri!.AbsolutePath.EndsWith("/describe") ? Json(Describe) : Json("""
            {"totalSize":1,"done":true,"records":[{"attributes":{"type":"Contact"},"Id":"0035g00000AAAAAAA1","SystemModstamp":"2024-05-08T21:20:00.000+0000",
            "LastName":"Ng","NumberOfEmployees":"many","Birthdate":"1990-02-30","Interests__c":"a;b","MailingAddress":{"city":"Oslo"}}]}
            """));
        var page = await connector.ReadBackfillPageAsync(new ReadRequest("Contact", Fields), null, default);
        var record = page.Records.Single();
        record.Values[0].ShouldBe("Ng");
        record.Values[1].ShouldBeNull();
        record.Values[2].ShouldBeNull();
        record.Values[3].ShouldBe(new[] { "a", "b" });
        record.Values[4].ShouldBe("""{"city":"Oslo"}""");
        page.Misfits.Count.ShouldBe(2);
        page.Misfits[0].ToString().ShouldContain("NumberOfEmployees of 0035g00000AAAAAAA1: value '\"many\"' does not fit Integer");
    }

    [Fact]
    public async Task NextRecordsUrl_IsAppendedToAnInstanceUrlWithAPath()
    {
        var (connector, script) = Connect(
            r => r.RequestUri!.AbsolutePath.EndsWith("/describe") ? Json(Describe) : null,
            r => r.RequestUri!.AbsolutePath.EndsWith("/query") ? Json("""{"totalSize":2,"done":false,"nextRecordsUrl":"/services/data/v62.0/query/01gX-1","records":[]}""") : null,
            r => Json("""{"totalSize":2,"done":true,"records":[]}"""));
        var page = await connector.ReadBackfillPageAsync(new ReadRequest("Contact", Fields), null, default);
        page.Done.ShouldBeFalse();
        page = await connector.ReadBackfillPageAsync(new ReadRequest("Contact", Fields), page.NextCursor, default);
        page.Done.ShouldBeTrue();
        script.Requests.ShouldContain("http://upstream.test/prefix/services/data/v62.0/query/01gX-1");
    }

    [Fact]
    public async Task RequestLimitExceeded_BacksOffThenThrottles()
    {
        var (connector, script) = Connect(_ => Json("""[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]""", HttpStatusCode.Forbidden));
        await Should.ThrowAsync<SourceThrottledException>(() => connector.ListObjectsAsync(default));
        script.Requests.Count.ShouldBe(3);
    }

    [Fact]
    public async Task DeleteLogNoLongerCoveringTheCursor_RequiresAResync()
    {
        var (connector, script) = Connect(
            r => r.RequestUri!.AbsolutePath.EndsWith("/describe") ? Json(Describe) : null,
            r => r.RequestUri!.AbsolutePath.Contains("/deleted") ? Json($$"""
                {"deletedRecords":[],"earliestDateAvailable":"{{DateTime.UtcNow.AddHours(-1):yyyy-MM-ddTHH:mm:ss}}.000+0000","latestDateCovered":"{{DateTime.UtcNow:yyyy-MM-ddTHH:mm:ss}}.000+0000"}
                """) : null,
            _ => Json("""{"totalSize":0,"done":true,"records":[]}"""));
        var polled = DateTime.UtcNow.AddHours(-3).ToString("O");

        // Last read 3 h ago (more than DeleteLogCheckAfter), the recycle bin starts 1 h ago: deletes may be lost.
        await Should.ThrowAsync<SourceResyncRequiredException>(() =>
            connector.ReadChangesAsync(new ReadRequest("Contact", Fields), $$"""{"modstamp":"{{polled}}","polled":"{{polled}}"}""", default));
        script.Requests.ShouldContain(u => u.Contains("/sobjects/Contact/deleted/?start="));

        // A recent cursor is not checked; a 20-day-old one is beyond any delete log.
        var recent = DateTime.UtcNow.AddMinutes(-1).ToString("O");
        (await connector.ReadChangesAsync(new ReadRequest("Contact", Fields), $$"""{"modstamp":"{{recent}}","polled":"{{recent}}"}""", default)).HasMore.ShouldBeFalse();
        var old = DateTime.UtcNow.AddDays(-20).ToString("O");
        await Should.ThrowAsync<SourceResyncRequiredException>(() =>
            connector.ReadChangesAsync(new ReadRequest("Contact", Fields), $$"""{"modstamp":"{{old}}","polled":"{{old}}"}""", default));
    }

    /// <summary>
    /// Connectors of one connection (one per sync, the proxy's writer, discovery) draw from one budget: at 2 requests/s
    /// (a burst of 2), four requests alternating between two connectors of the same connection take at least 1 s; each
    /// with its own budget they would all go at once.
    /// </summary>
    [Fact]
    public async Task ConnectorsOfOneConnection_ShareItsRequestBudget()
    {
        var script = new Script([_ => Json(Describe)]);
        using var factory = new SalesforceConnectorFactory(Options.Create(new SalesforceOptions()), TimeProvider.System, NullLoggerFactory.Instance, script);
        var credentials = new SourceCredentials(new Dictionary<string, string>
        {
            ["instance_url"] = "http://upstream.test",
            ["access_token"] = "token",
            ["refresh_token"] = "refresh",
        });
        var connection = Guid.NewGuid();
        var limits = factory.DefaultLimits with { RequestsPerSecond = 2 };
        var a = factory.Create(credentials, new MemorySink(), limits, connection);
        var b = factory.Create(credentials, new MemorySink(), limits, connection);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        foreach (var (connector, name) in new[] { (a, "A"), (b, "B"), (a, "C"), (b, "D") })
        {
            await connector.DescribeObjectAsync(name, default);
        }

        clock.Elapsed.ShouldBeGreaterThan(TimeSpan.FromSeconds(0.9));
        script.Requests.Count.ShouldBe(4);
    }

    /// <summary>Answers each request with the first script entry that returns a response.</summary>
    private sealed class Script(Func<HttpRequestMessage, HttpResponseMessage?>[] responses) : HttpMessageHandler
    {
        public List<string> Requests { get; } = [];

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            lock (Requests)
            {
                Requests.Add(request.RequestUri!.ToString());
            }

            foreach (var r in responses)
            {
                if (r(request) is { } response)
                {
                    return Task.FromResult(response);
                }
            }

            return Task.FromResult(Json("[]", HttpStatusCode.NotFound));
        }
    }
}
