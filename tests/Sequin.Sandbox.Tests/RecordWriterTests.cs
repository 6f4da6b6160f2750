using System.Text.Json;
using Sequin.Sandbox.Salesforce.Writes;
using Shouldly;

namespace Sequin.Sandbox.Tests;

public sealed class RecordWriterTests
{
    private static SaveResult Create(Salesforce.Store.Org org, string type, string json) =>
        RecordWriter.Save(org, [new WriteRequest(org.Catalog.Find(type), null, JsonDocument.Parse(json).RootElement)], true, org.UserId)[0];

    [Theory]
    [InlineData("""{"FirstName":"A"}""", "REQUIRED_FIELD_MISSING", "Required fields are missing: [LastName]", "LastName")]
    [InlineData("""{"LastName":"A","Email":"pauldune.co"}""", "INVALID_EMAIL_ADDRESS", "Email: invalid email address: pauldune.co", "Email")]
    [InlineData("""{"LastName":"A","LeadSource":"Carrier pigeon"}""", "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "Lead Source: bad value for restricted picklist field: Carrier pigeon", "LeadSource")]
    [InlineData("""{"LastName":"A","CreatedDate":"2024-01-01T00:00:00Z"}""", "INVALID_FIELD_FOR_INSERT_UPDATE", null, "CreatedDate")]
    [InlineData("""{"LastName":"A","AccountId":"003000000000000AAA"}""", "MALFORMED_ID", "Account ID: id value of incorrect type: 003000000000000AAA", "AccountId")]
    public void Save_InvalidContact_FailsWithSalesforceError(string json, string code, string? message, string field)
    {
        var (_, org) = TestOrgs.Create();
        var result = Create(org, "Contact", json);
        result.Success.ShouldBeFalse();
        result.Errors[0].ErrorCode.ShouldBe(code);
        if (message is not null)
        {
            result.Errors[0].Message.ShouldBe(message);
        }
        result.Errors[0].Fields!.ShouldBe([field]);
        org.Table(org.Catalog.Contact).LiveCount.ShouldBe(0);
    }

    [Fact]
    public void Save_TooLongValue_IsStringTooLong()
    {
        var (_, org) = TestOrgs.Create();
        var result = Create(org, "Contact", $$"""{"LastName":"{{new string('x', 81)}}"}""");
        result.Errors[0].ErrorCode.ShouldBe("STRING_TOO_LONG");
        result.Errors[0].Message.ShouldEndWith("(max length=80)");
    }

    [Fact]
    public void Save_UnknownFieldOrId_IsInvalidField()
    {
        var (_, org) = TestOrgs.Create();
        Create(org, "Contact", """{"LastName":"A","Nope__c":1}""").Errors[0].ErrorCode.ShouldBe("INVALID_FIELD");
        Create(org, "Contact", """{"LastName":"A","Id":"003000000000000AAA"}""").Errors[0].Message.ShouldBe("cannot specify Id in an insert call");
    }

    [Fact]
    public void Save_ValidationRuleMatches_IsFieldCustomValidationException()
    {
        var (sandbox, org) = TestOrgs.Create();
        sandbox.SetValidationRules(org.Id,
        [
            new SandboxValidationRule
            {
                Object = "Contact", Name = "No test people", Field = "LastName", ErrorMessage = "Test people are not allowed",
                Condition = new SandboxRuleCondition
                {
                    Any = [new() { Field = "LastName", Operator = "equals", Value = "test" }, new() { Field = "Title", Operator = "matches", Value = "QA.*" }],
                },
            },
        ]);
        var result = Create(org, "Contact", """{"LastName":"Test"}""");
        result.Errors.Single().ShouldBe(new Salesforce.Json.SalesforceError("FIELD_CUSTOM_VALIDATION_EXCEPTION", "Test people are not allowed", ["LastName"]), new ErrorComparer());
        Create(org, "Contact", """{"LastName":"Real","Title":"QA lead"}""").Success.ShouldBeFalse();
        Create(org, "Contact", """{"LastName":"Real","Title":"Engineer"}""").Success.ShouldBeTrue();
    }

    [Fact]
    public void Save_AllOrNoneWithOneBadRecord_AppliesNothing()
    {
        var (_, org) = TestOrgs.Create();
        var type = org.Catalog.Contact;
        var results = RecordWriter.Save(org,
        [
            new WriteRequest(type, null, JsonDocument.Parse("""{"LastName":"Good"}""").RootElement),
            new WriteRequest(type, null, JsonDocument.Parse("""{"LastName":"Bad","Email":"x"}""").RootElement),
        ], allOrNone: true, org.UserId);
        results[0].Errors[0].ErrorCode.ShouldBe("ALL_OR_NONE_OPERATION_ROLLED_BACK");
        results[1].Errors[0].ErrorCode.ShouldBe("INVALID_EMAIL_ADDRESS");
        org.Table(type).LiveCount.ShouldBe(0);
    }

    [Fact]
    public void Delete_Twice_IsEntityIsDeleted()
    {
        var (_, org) = TestOrgs.Create();
        var id = Create(org, "Contact", """{"LastName":"A"}""").Id!;
        RecordWriter.Delete(org, [id], true, org.UserId)[0].Success.ShouldBeTrue();
        RecordWriter.Delete(org, [id], true, org.UserId)[0].Errors[0].ErrorCode.ShouldBe("ENTITY_IS_DELETED");
        RecordWriter.Delete(org, ["bogus"], true, org.UserId)[0].Errors[0].ErrorCode.ShouldBe("MALFORMED_ID");
    }

    [Fact]
    public async Task UpdateValues_ParallelWriters_NeverLoseAnUpdateAndStampsStrictlyIncrease()
    {
        var (_, org) = TestOrgs.Create();
        var type = org.Catalog.Account;
        var employees = type.FindField("NumberOfEmployees")!;
        var stampSlot = type.SystemModstamp.Ordinal;
        var id = Create(org, "Account", """{"Name":"Counter","NumberOfEmployees":0}""").Id!;
        const int writers = 8;
        const int increments = 250;
        var versions = new System.Collections.Concurrent.ConcurrentBag<(DateTime Before, DateTime After)>();
        await Task.WhenAll(Enumerable.Range(0, writers).Select(_ => Task.Run(() =>
        {
            for (var i = 0; i < increments; i++)
            {
                var before = default(DateTime);
                var next = RecordWriter.UpdateValues(org, org.Table(type).Find(id)!, values =>
                {
                    before = (DateTime)values[stampSlot]!;
                    values[employees.Ordinal] = (int)values[employees.Ordinal]! + 1;
                });
                versions.Add((before, next!.SystemModstamp));
            }
        })));
        org.Table(type).Find(id)!.Get(employees).ShouldBe(writers * increments);
        // Every version is stamped after the version it replaced, so all stamps of the record differ.
        versions.ShouldAllBe(v => v.After > v.Before);
        versions.Select(v => v.After).Distinct().Count().ShouldBe(writers * increments);
    }

    [Fact]
    public async Task Save_ParallelCreatesAcrossObjects_StampsFollowCommitOrder()
    {
        var (_, org) = TestOrgs.Create();
        await Task.WhenAll(Enumerable.Range(0, 4).Select(w => Task.Run(() =>
        {
            for (var i = 0; i < 100; i++)
            {
                Create(org, w % 2 == 0 ? "Account" : "Lead", w % 2 == 0 ? $$"""{"Name":"A{{i}}"}""" : $$"""{"LastName":"L{{i}}","Company":"C"}""")
                    .Success.ShouldBeTrue();
            }
        })));
        foreach (var type in new[] { org.Catalog.Account, org.Catalog.Lead })
        {
            // Within a table, creation (= id) order and stamp order agree: stamps never go backwards.
            var stamps = org.Table(type).Snapshot().ToArray().Select(r => r!.SystemModstamp).ToList();
            stamps.ShouldBe(stamps.Order().ToList());
            org.Table(type).LiveCount.ShouldBe(200);
        }
    }

    [Fact]
    public void NextStamp_SameMillisecond_StrictlyIncreasesPerRecordAndNeverDecreasesGlobally()
    {
        var time = new ManualTime(new DateTimeOffset(2024, 5, 8, 21, 20, 0, TimeSpan.Zero));
        var (_, org) = TestOrgs.Create(time: time);
        var type = org.Catalog.Account;
        var id = Create(org, "Account", """{"Name":"A"}""").Id!;
        var previous = org.Table(type).Find(id)!.SystemModstamp;
        for (var i = 0; i < 5; i++)
        {
            // The clock stands still: the stamp must still move forward for the record.
            RecordWriter.UpdateValues(org, org.Table(type).Find(id)!, v => v[type.FindField("Name")!.Ordinal] = $"A{i}").ShouldNotBeNull();
            var stamp = org.Table(type).Find(id)!.SystemModstamp;
            stamp.ShouldBeGreaterThan(previous);
            previous = stamp;
        }
        var other = Create(org, "Account", """{"Name":"B"}""").Id!;
        org.Table(type).Find(other)!.SystemModstamp.ShouldBeGreaterThanOrEqualTo(previous);
    }

    [Fact]
    public void Seed_SameRandomSeed_IsDeterministic()
    {
        var spec = new SandboxSeedSpec { Accounts = 50, ContactsPerAccount = 3, OpportunitiesPerAccount = 1, Leads = 10, RandomSeed = 7 };
        var (_, a) = TestOrgs.Create(spec);
        var (_, b) = TestOrgs.Create(spec);
        var nameA = a.Table(a.Catalog.Contact).Snapshot().ToArray().Select(r => r!.Get(a.Catalog.Contact.FindField("Email")!)).ToList();
        var nameB = b.Table(b.Catalog.Contact).Snapshot().ToArray().Select(r => r!.Get(b.Catalog.Contact.FindField("Email")!)).ToList();
        nameA.ShouldBe(nameB);
        a.Table(a.Catalog.Contact).LiveCount.ShouldBe(150);
    }

    [Fact]
    public void Seed_QuarterMillionRecords_TakesSeconds()
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var (_, org) = TestOrgs.Create(new SandboxSeedSpec { Accounts = 25_000, ContactsPerAccount = 8, OpportunitiesPerAccount = 2 });
        watch.Stop();
        org.Table(org.Catalog.Contact).LiveCount.ShouldBe(200_000);
        // 250k records; the 1M-record figure is in docs/sandbox.md. Generous bound for a shared 2-core box.
        watch.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(15));
    }

    private sealed class ErrorComparer : IEqualityComparer<Salesforce.Json.SalesforceError>
    {
        public bool Equals(Salesforce.Json.SalesforceError? x, Salesforce.Json.SalesforceError? y) =>
            x!.ErrorCode == y!.ErrorCode && x.Message == y.Message && x.Fields!.SequenceEqual(y.Fields!);

        public int GetHashCode(Salesforce.Json.SalesforceError obj) => obj.ErrorCode.GetHashCode(StringComparison.Ordinal);
    }
}

public sealed class CustomObjectTests
{
    private static (SalesforceSandbox, Salesforce.Store.Org) CreateWithCustomObjects() => TestOrgs.Create(
        new SandboxSeedSpec { CustomObjectRecords = 10 },
        o =>
        {
            var invoice = new SandboxCustomObject { Name = "Invoice__c", Label = "Invoice" };
            invoice.Fields.Add(new SandboxCustomField { Name = "Amount__c", Type = "currency", Precision = 16, Scale = 2, Required = true });
            var status = new SandboxCustomField { Name = "Status__c", Type = "picklist" };
            status.PicklistValues.Add("Draft");
            status.PicklistValues.Add("Paid");
            invoice.Fields.Add(status);
            invoice.Fields.Add(new SandboxCustomField { Name = "Account__c", Type = "reference", ReferenceTo = "Account" });
            invoice.Fields.Add(new SandboxCustomField { Name = "Number__c", Type = "string", Length = 20, ExternalId = true });
            o.CustomObjects.Add(invoice);
            var contact = new SandboxCustomObject { Name = "Contact" };
            contact.Fields.Add(new SandboxCustomField { Name = "Shoe_Size__c", Type = "double" });
            o.CustomObjects.Add(contact);
        });

    [Fact]
    public void Catalog_DeclaredCustomObject_HasPrefixAndFields()
    {
        var (sandbox, org) = CreateWithCustomObjects();
        var invoice = org.Catalog.Find("invoice__c")!;
        invoice.KeyPrefix.ShouldBe("a01");
        invoice.Custom.ShouldBeTrue();
        invoice.FindField("Amount__c")!.Required.ShouldBeTrue();
        invoice.FindField("Account__c")!.RelationshipName.ShouldBe("Account__r");
        org.Catalog.Contact.FindField("Shoe_Size__c")!.Custom.ShouldBeTrue();
        sandbox.CountRecords(org.Id, "Invoice__c").ShouldBe(10);
    }

    [Fact]
    public void Save_CustomObject_ValidatesLikeStandardObjects()
    {
        var (_, org) = CreateWithCustomObjects();
        var type = org.Catalog.Find("Invoice__c");
        SaveResult Save(string json) =>
            RecordWriter.Save(org, [new WriteRequest(type, null, JsonDocument.Parse(json).RootElement)], true, org.UserId)[0];
        Save("""{"Name":"INV-1"}""").Errors[0].ErrorCode.ShouldBe("REQUIRED_FIELD_MISSING");
        Save("""{"Amount__c":10,"Status__c":"Lost"}""").Errors[0].ErrorCode.ShouldBe("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST");
        Save("""{"Amount__c":10,"Number__c":"N-1"}""").Success.ShouldBeTrue();
        Save("""{"Amount__c":10,"Number__c":"n-1"}""").Errors[0].ErrorCode.ShouldBe("DUPLICATE_VALUE");
    }

    [Fact]
    public void Catalog_CustomObjectWithoutSuffix_Throws() =>
        Should.Throw<InvalidOperationException>(() => TestOrgs.Create(configure: o => o.CustomObjects.Add(new SandboxCustomObject { Name = "Invoice" })));
}
