using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Sequin.Sandbox;
using Sequin.Sources;
using Sequin.Sources.Salesforce;
using Shouldly;

namespace Sequin.Sync.Tests;

/// <summary>The Salesforce connector against the sandbox over HTTP (instance URL with a path prefix).</summary>
public sealed class SalesforceConnectorTests : IDisposable
{
    private readonly SandboxServer _server = SandboxServer.Instance;
    private readonly SalesforceConnectorFactory _factory = new(Options.Create(new SalesforceOptions
    {
        QueryBatchSize = 200,
        BackoffBase = TimeSpan.FromMilliseconds(10),
        BackoffMax = TimeSpan.FromMilliseconds(100),
        RequestTimeout = TimeSpan.FromSeconds(10),
        RequestsPerSecond = 1000,
    }), TimeProvider.System, NullLoggerFactory.Instance);

    public void Dispose() => _factory.Dispose();

    private (SandboxOrgInfo Org, ISourceConnector Connector, MemorySink Sink) Connect(SandboxSeedSpec seed, int? dailyLimit = null, double dailyShare = 1)
    {
        var (org, credentials) = _server.CreateOrg(seed, dailyLimit);
        var sink = new MemorySink();
        var connector = _factory.Create(new SourceCredentials(credentials), sink, _factory.DefaultLimits with { RequestsPerSecond = 1000, DailyShare = dailyShare });
        return (org, connector, sink);
    }

    [Fact]
    public async Task Discovery_ListsAndDescribesStandardObjects()
    {
        var (_, connector, _) = Connect(new SandboxSeedSpec { Accounts = 1 });
        var objects = await connector.ListObjectsAsync(default);
        objects.ShouldContain(o => o.Name == "Contact" && o.Syncable);
        var contact = await connector.DescribeObjectAsync("Contact", default);
        contact.IdField.ShouldBe("Id");
        contact.VersionField.ShouldBe("SystemModstamp");
        contact.Find("AccountId")!.IsReference.ShouldBeTrue();
        contact.Find("AccountId")!.Kind.ShouldBe(FieldKind.Text);
        contact.Find("SystemModstamp")!.Kind.ShouldBe(FieldKind.Timestamp);
    }

    [Fact]
    public async Task Backfill_PagesThroughNextRecordsUrl_AndResumesFromCursor()
    {
        var (org, connector, _) = Connect(new SandboxSeedSpec { Accounts = 100, ContactsPerAccount = 5 });
        var contact = await connector.DescribeObjectAsync("Contact", default);
        var request = new ReadRequest("Contact", contact.Fields);
        var ids = new List<string>();
        string? cursor = null;
        var pages = 0;
        BackfillPage page;
        do
        {
            page = await connector.ReadBackfillPageAsync(request, cursor, default);
            ids.AddRange(page.Records.Select(r => r.Id));
            cursor = page.NextCursor;
            pages++;
            if (pages == 2)
            {
                // A new connector (a new process) resumes from the committed cursor alone.
                await using var other = _factory.Create(new SourceCredentials(_server.CreateOrgCredentials(org.OrgId)), new MemorySink());
                var resumed = await other.ReadBackfillPageAsync(request, cursor, default);
                resumed.Records.Count.ShouldBeGreaterThan(0);
            }
        }
        while (!page.Done);

        pages.ShouldBeGreaterThan(2);
        ids.Count.ShouldBe(500);
        ids.Distinct().Count().ShouldBe(500);
        page.ChangeCursor.ShouldNotBeNull();
    }

    [Fact]
    public async Task Backfill_LostLocator_RequeriesFromLastRow()
    {
        var (_, connector, _) = Connect(new SandboxSeedSpec { Accounts = 100, ContactsPerAccount = 5 });
        var contact = await connector.DescribeObjectAsync("Contact", default);
        var request = new ReadRequest("Contact", [contact.Find("LastName")!]);
        var first = await connector.ReadBackfillPageAsync(request, null, default);
        var cursor = System.Text.Json.Nodes.JsonNode.Parse(first.NextCursor)!.AsObject();
        cursor["next"] = "/services/data/v62.0/query/01gNOSUCHLOCATOR-200";
        var ids = first.Records.Select(r => r.Id).ToList();
        string next = cursor.ToJsonString();
        BackfillPage page;
        do
        {
            page = await connector.ReadBackfillPageAsync(request, next, default);
            ids.AddRange(page.Records.Select(r => r.Id));
            next = page.NextCursor;
        }
        while (!page.Done);

        ids.Count.ShouldBe(500);
        ids.Distinct().Count().ShouldBe(500);
    }

    [Fact]
    public async Task Changes_SeeUpdatesAndDeletes()
    {
        var (_, connector, _) = Connect(new SandboxSeedSpec { Accounts = 10, ContactsPerAccount = 2 });
        var contact = await connector.DescribeObjectAsync("Contact", default);
        var request = new ReadRequest("Contact", [contact.Find("LastName")!]);
        string? cursor = null;
        BackfillPage page;
        var all = new List<SourceRecord>();
        do
        {
            page = await connector.ReadBackfillPageAsync(request, cursor, default);
            all.AddRange(page.Records);
            cursor = page.NextCursor;
        }
        while (!page.Done);

        await Task.Delay(1100);
        var update = await connector.WriteAsync(new WriteBatch("Contact", WriteOperation.Update,
            [new WriteRecord(all[0].Id, new Dictionary<string, object?> { ["LastName"] = "Changed" })]), default);
        update.Single().Success.ShouldBeTrue();
        var delete = await connector.WriteAsync(new WriteBatch("Contact", WriteOperation.Delete,
            [new WriteRecord(all[1].Id, new Dictionary<string, object?>())]), default);
        delete.Single().Success.ShouldBeTrue();

        var changes = await connector.ReadChangesAsync(request, page.ChangeCursor!, default);
        changes.Upserts.ShouldContain(r => r.Id == all[0].Id && (string?)r.Values[0] == "Changed");
        changes.Deletes.ShouldContain(all[1].Id);
    }

    [Fact]
    public async Task Write_CreatesInBatchesOf200_AndReportsPerRecordErrors()
    {
        var (org, connector, _) = Connect(new SandboxSeedSpec { Accounts = 1 });
        var records = Enumerable.Range(0, 250).Select(i => new WriteRecord(null, new Dictionary<string, object?> { ["LastName"] = $"Bulk {i}" })).ToList();
        var results = await connector.WriteAsync(new WriteBatch("Contact", WriteOperation.Create, records), default);
        results.Count.ShouldBe(250);
        results.ShouldAllBe(r => r.Success && r.Id != null && r.Id.StartsWith("003"));
        _server.Sandbox.CountRecords(org.OrgId, "Contact").ShouldBe(250);

        var bad = await connector.WriteAsync(new WriteBatch("Contact", WriteOperation.Create,
        [
            new WriteRecord(null, new Dictionary<string, object?> { ["LastName"] = "Fine" }),
            new WriteRecord(null, new Dictionary<string, object?> { ["FirstName"] = "No last name" }),
        ]), default);
        bad.ShouldAllBe(r => !r.Success);
        bad[1].Errors.ShouldContain(e => e.Code == "REQUIRED_FIELD_MISSING");
        bad[0].Errors.ShouldContain(e => e.Code == "ALL_OR_NONE_OPERATION_ROLLED_BACK");
        _server.Sandbox.CountRecords(org.OrgId, "Contact").ShouldBe(250);
    }

    /// <summary>
    /// Read-back by id (sObject Collections retrieve, used by the proxy's write-back): the records found, typed as the
    /// query parses them (the same values a backfill page gives), a deleted id left out, more than one request's worth
    /// of ids (2,000) chunked.
    /// </summary>
    [Fact]
    public async Task ReadRecords_ReturnsTheRecordsAsABackfillReadsThem_LeavesOutDeletedIds()
    {
        var (_, connector, _) = Connect(new SandboxSeedSpec { Accounts = 1 });
        var created = await connector.WriteAsync(new WriteBatch("Contact", WriteOperation.Create,
            [.. Enumerable.Range(0, 2050).Select(i => new WriteRecord(null, new Dictionary<string, object?> { ["LastName"] = $"Read {i}" }))]), default);
        created.ShouldAllBe(r => r.Success);
        var ids = created.Select(r => r.Id!).ToList();
        (await connector.WriteAsync(new WriteBatch("Contact", WriteOperation.Delete, [new WriteRecord(ids[5], new Dictionary<string, object?>())]), default))
            .Single().Success.ShouldBeTrue();

        var contact = await connector.DescribeObjectAsync("Contact", default);
        var request = new ReadRequest("Contact", [contact.Find("LastName")!, contact.Find("CreatedDate")!, contact.Find("SystemModstamp")!]);
        var read = await connector.ReadRecordsAsync(request, ids, default);

        read.Count.ShouldBe(2049);
        read.ShouldNotContain(r => r.Id == ids[5]);
        var byId = read.ToDictionary(r => r.Id);
        (byId[ids[2049]].Values[0] as string).ShouldBe("Read 2049");
        byId[ids[0]].Values[1].ShouldBeOfType<DateTime>();

        // The same values a backfill reads.
        var page = await connector.ReadBackfillPageAsync(request, null, default);
        foreach (var record in page.Records.Take(50))
        {
            byId[record.Id].Values.ShouldBe(record.Values);
        }
    }

    /// <summary>
    /// Write + read-back in one Composite request (the proxy's write path, ADR 0013): the save results, the records as a
    /// backfill reads them, one API call per chunk; then an update the same way.
    /// </summary>
    [Fact]
    public async Task WriteAndRead_CreateAndUpdate_ReadBackInOneApiCall()
    {
        var (org, connector, _) = Connect(new SandboxSeedSpec { Accounts = 1 });
        var contact = await connector.DescribeObjectAsync("Contact", default);
        var request = new ReadRequest("Contact", [contact.Find("LastName")!, contact.Find("Title")!, contact.Find("CreatedDate")!]);
        await connector.EstimateCountAsync("Contact", default);
        var usedBefore = connector.Usage!.Used;

        var created = await connector.WriteAndReadAsync(new WriteBatch("Contact", WriteOperation.Create,
            [.. Enumerable.Range(0, 3).Select(i => new WriteRecord(null, new Dictionary<string, object?> { ["LastName"] = $"Both {i}" }))]), request, default);

        connector.Usage!.Used.ShouldBe(usedBefore + 1);
        created.ReadFailure.ShouldBeNull();
        created.Results.ShouldAllBe(r => r.Success);
        var ids = created.Results.Select(r => r.Id!).ToList();
        created.Records!.Select(r => r.Id).ShouldBe(ids, ignoreOrder: true);
        var byId = created.Records!.ToDictionary(r => r.Id);
        byId[ids[2]].Values[0].ShouldBe("Both 2");
        byId[ids[0]].Values[2].ShouldBeOfType<DateTime>();
        (await connector.ReadRecordsAsync(request, ids, default)).Select(r => r.Values).ShouldBe(created.Records!.Select(r => r.Values), ignoreOrder: true);

        var updated = await connector.WriteAndReadAsync(new WriteBatch("Contact", WriteOperation.Update,
            [new WriteRecord(ids[1], new Dictionary<string, object?> { ["Title"] = "Updated" })]), request, default);
        updated.Results.Single().Success.ShouldBeTrue();
        updated.Records!.Single().Values[1].ShouldBe("Updated");
    }

    /// <summary>A rejected write reads nothing back and carries the errors exactly as <see cref="ISourceConnector.WriteAsync"/> gives them.</summary>
    [Fact]
    public async Task WriteAndRead_RejectedWrite_SameErrorsAsWriteAsync_NothingStored()
    {
        var (org, connector, _) = Connect(new SandboxSeedSpec { Accounts = 1 });
        var contact = await connector.DescribeObjectAsync("Contact", default);
        var before = _server.Sandbox.CountRecords(org.OrgId, "Contact");
        var batch = new WriteBatch("Contact", WriteOperation.Create,
            [new WriteRecord(null, new Dictionary<string, object?> { ["LastName"] = "Fine" }),
                new WriteRecord(null, new Dictionary<string, object?> { ["LastName"] = "Bad", ["Email"] = "pauldune.co" })]);

        var both = await connector.WriteAndReadAsync(batch, new ReadRequest("Contact", [contact.Find("LastName")!]), default);
        var alone = await connector.WriteAsync(batch, default);

        both.Records.ShouldBeNull();
        both.ReadFailure.ShouldBeNull();
        both.Results.Count.ShouldBe(alone.Count);
        for (var i = 0; i < alone.Count; i++)
        {
            both.Results[i].Success.ShouldBe(alone[i].Success);
            both.Results[i].Errors.SequenceEqual(alone[i].Errors, new ErrorComparer()).ShouldBeTrue();
        }

        both.Results[1].Errors.Single().Code.ShouldBe("INVALID_EMAIL_ADDRESS");
        both.Results[1].Errors.Single().Fields.ShouldBe(["Email"]);
        _server.Sandbox.CountRecords(org.OrgId, "Contact").ShouldBe(before);
    }

    /// <summary>
    /// The retrieve half fails (a field the org does not have, as when it was deleted since the describe): the write
    /// still stands — the Composite runs without allOrNone — and the failure is reported, not thrown.
    /// </summary>
    [Fact]
    public async Task WriteAndRead_RetrieveFails_WriteStands_FailureReported()
    {
        var (org, connector, _) = Connect(new SandboxSeedSpec { Accounts = 1 });
        var before = _server.Sandbox.CountRecords(org.OrgId, "Contact");
        var gone = new SourceField("Gone__c", "string", FieldKind.Text, IsReference: false, Createable: true, Updateable: true);

        var both = await connector.WriteAndReadAsync(new WriteBatch("Contact", WriteOperation.Create,
            [new WriteRecord(null, new Dictionary<string, object?> { ["LastName"] = "Stays" })]), new ReadRequest("Contact", [gone]), default);

        both.Results.Single().Success.ShouldBeTrue();
        both.Records.ShouldBeNull();
        both.ReadFailure!.ShouldContain("INVALID_FIELD");
        _server.Sandbox.CountRecords(org.OrgId, "Contact").ShouldBe(before + 1);
    }

    private sealed class ErrorComparer : IEqualityComparer<WriteError>
    {
        public bool Equals(WriteError? x, WriteError? y) => x!.Code == y!.Code && x.Message == y.Message && x.Fields.SequenceEqual(y.Fields);

        public int GetHashCode(WriteError obj) => obj.Code.GetHashCode(StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExpiredSession_IsRefreshedOnce_AndSaved()
    {
        var (org, connector, sink) = Connect(new SandboxSeedSpec { Accounts = 3 });
        _server.Sandbox.SetFaults(org.OrgId, new SandboxFaults { AccessTokenLifetimeSeconds = 1 });
        await connector.RefreshCredentialsAsync(default);
        sink.Saves.ShouldBe(1);
        await Task.Delay(1500);
        (await connector.ListObjectsAsync(default)).ShouldNotBeEmpty();
        sink.Saves.ShouldBe(2);
        sink.Last!.Get("access_token").ShouldNotBeNullOrEmpty();
    }

    [Fact]
    public async Task RevokedTokens_AreASourceAuthException()
    {
        var (org, connector, _) = Connect(new SandboxSeedSpec { Accounts = 3 });
        _server.Sandbox.RevokeTokens(org.OrgId);
        var e = await Should.ThrowAsync<SourceAuthException>(() => connector.ListObjectsAsync(default));
        e.Message.ShouldContain("reconnect");
    }

    [Fact]
    public async Task ServerErrors_AreRetriedWithBackoff()
    {
        var (org, connector, _) = Connect(new SandboxSeedSpec { Accounts = 20, ContactsPerAccount = 5 });
        // A quarter of requests fail; with 6 attempts a call still fails with probability 0.25^6 ≈ 0.02 %, so the test
        // exercises retries without being flaky (at 50 % it failed about once in twenty runs).
        _server.Sandbox.SetFaults(org.OrgId, new SandboxFaults { ErrorRate503 = 0.15, ErrorRate500 = 0.05, DropConnectionRate = 0.05 });
        var contact = await connector.DescribeObjectAsync("Contact", default);
        var request = new ReadRequest("Contact", [contact.Find("LastName")!]);
        var count = 0;
        string? cursor = null;
        BackfillPage page;
        do
        {
            page = await connector.ReadBackfillPageAsync(request, cursor, default);
            count += page.Records.Count;
            cursor = page.NextCursor;
        }
        while (!page.Done);

        count.ShouldBe(100);
    }

    [Fact]
    public async Task DailyShareSpent_ThrottlesInsteadOfFailing()
    {
        var (_, connector, _) = Connect(new SandboxSeedSpec { Accounts = 3 }, dailyLimit: 10, dailyShare: 0.5);
        var e = await Should.ThrowAsync<SourceThrottledException>(async () =>
        {
            for (var i = 0; i < 20; i++)
            {
                await connector.ListObjectsAsync(default);
            }
        });
        e.Message.ShouldContain("daily API budget");
    }
}
