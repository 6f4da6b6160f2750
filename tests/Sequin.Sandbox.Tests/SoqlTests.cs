using Sequin.Sandbox.Salesforce.Schema;
using Sequin.Sandbox.Salesforce.Soql;
using Shouldly;

namespace Sequin.Sandbox.Tests;

public sealed class SoqlTests
{
    private static readonly SchemaCatalog Catalog = new([]);

    [Theory]
    [InlineData("SELECT Id FROM Contact")]
    [InlineData("select id, lastname from contact where lastname = 'x' order by lastname desc nulls last limit 10 offset 5")]
    [InlineData("SELECT COUNT() FROM Account")]
    [InlineData("SELECT Id FROM Contact WHERE (LastName = 'a' OR LastName = 'b') AND Email != null")]
    [InlineData("SELECT Id FROM Contact WHERE NOT LastName LIKE 'S%'")]
    [InlineData("SELECT Id FROM Contact WHERE LastName IN ('a', 'b') AND FirstName NOT IN ('c')")]
    [InlineData("SELECT Id FROM Contact WHERE SystemModstamp > 2024-01-01T00:00:00Z AND Birthdate <= 2000-12-31")]
    [InlineData("SELECT Id FROM Contact WHERE SystemModstamp >= 2024-01-01T00:00:00.000+02:00")]
    [InlineData("SELECT Id FROM Opportunity WHERE Amount > 1000.50 AND IsWon = true AND Probability <> -5")]
    [InlineData("SELECT Id, MailingAddress FROM Contact ORDER BY CreatedDate ASC NULLS FIRST, Id")]
    public void Compile_SupportedQuery_Succeeds(string query) =>
        Should.NotThrow(() => SoqlCompiler.Compile(query, Catalog));

    [Theory]
    [InlineData("SELECT Id FRM Contact", 11, "FRM")]
    [InlineData("SELECT Id FROM Contact WHERE", 29, "<EOF>")]
    [InlineData("SELECT Id FROM Contact WHERE LastName = 'a' AND FirstName = 'b' OR Email = null", 65, "OR")]
    [InlineData("SELECT Account.Owner.Name FROM Contact", 21, ".")]
    [InlineData("SELECT COUNT(Id) FROM Contact", 14, "Id")]
    [InlineData("SELECT Id FROM Contact GROUP BY Id", 24, "GROUP")]
    [InlineData("SELECT Id, FROM Contact", 12, "FROM")]
    [InlineData("SELECT Id FROM Contact LIMIT -1", 30, "-1")]
    public void Compile_OutsideSubset_IsMalformedWithPosition(string query, int column, string token)
    {
        var ex = Should.Throw<SoqlException>(() => SoqlCompiler.Compile(query, Catalog));
        ex.ErrorCode.ShouldBe("MALFORMED_QUERY");
        ex.Message.ShouldBe($"\n{query}\n{new string(' ', column - 1)}^\nERROR at Row:1:Column:{column}\nunexpected token: '{token}'");
    }

    [Fact]
    public void Compile_UnknownField_IsInvalidFieldAtItsPosition()
    {
        var ex = Should.Throw<SoqlException>(() => SoqlCompiler.Compile("SELECT Id, Nme FROM Account", Catalog));
        ex.ErrorCode.ShouldBe("INVALID_FIELD");
        ex.Message.ShouldContain("ERROR at Row:1:Column:12\nNo such column 'Nme' on entity 'Account'.");
    }

    [Fact]
    public void Compile_UnknownRelationship_IsInvalidField()
    {
        var (_, org) = TestOrgs.Create();
        var ex = Should.Throw<SoqlException>(() => SoqlCompiler.Compile("SELECT Id, Acount.Name FROM Contact", org.Catalog, org.Table));
        ex.ErrorCode.ShouldBe("INVALID_FIELD");
        ex.Message.ShouldContain("Didn't understand relationship 'Acount' in field path.");
        var leaf = Should.Throw<SoqlException>(() => SoqlCompiler.Compile("SELECT Id, Account.Nme FROM Contact", org.Catalog, org.Table));
        leaf.Message.ShouldContain("ERROR at Row:1:Column:20\nNo such column 'Nme' on entity 'Account'.");
    }

    [Fact]
    public void Execute_ParentRelationshipInWhereAndOrderBy_JoinsTheParent()
    {
        var (_, org) = TestOrgs.Create(new SandboxSeedSpec { Accounts = 10, ContactsPerAccount = 3 });
        var account = org.Table(org.Catalog.Account).Snapshot().ToArray().First()!;
        var name = (string)account.Get(org.Catalog.Account.FindField("Name")!)!;
        var query = SoqlCompiler.Compile($"SELECT Id, Account.Name, Owner.Email FROM Contact WHERE Account.Name = '{name}' ORDER BY Account.Name, Id", org.Catalog, org.Table);
        var rows = query.Execute(org.Table(org.Catalog.Contact), false);
        rows.Length.ShouldBe(3);
        rows.ShouldAllBe(r => (string)r.Get(org.Catalog.Contact.FindField("AccountId")!)! == account.Id);
        query.Projection.Length.ShouldBe(3);
        query.Projection[1].Parent!.Fields.Single().Name.ShouldBe("Name");
    }

    [Fact]
    public void Compile_UnknownObject_IsInvalidType() =>
        Should.Throw<SoqlException>(() => SoqlCompiler.Compile("SELECT Id FROM Foo", Catalog)).ErrorCode.ShouldBe("INVALID_TYPE");

    [Theory]
    [InlineData("SELECT Id FROM Contact WHERE LastName = 5", "must be of type string and should be enclosed in quotes")]
    [InlineData("SELECT Id FROM Contact WHERE CreatedDate > 2024-01-01", "must be of type dateTime")]
    [InlineData("SELECT Id FROM Opportunity WHERE Amount = '5'", "must be of type double")]
    [InlineData("SELECT Id FROM Contact WHERE MailingAddress = null", "can not be filtered")]
    [InlineData("SELECT Id FROM Contact ORDER BY Description", "can not be sorted")]
    public void Compile_WrongValueType_IsInvalidField(string query, string reason)
    {
        var ex = Should.Throw<SoqlException>(() => SoqlCompiler.Compile(query, Catalog));
        ex.ErrorCode.ShouldBe("INVALID_FIELD");
        ex.Message.ShouldContain(reason);
    }

    [Fact]
    public void Compile_BadIdLiteral_IsInvalidQueryFilterOperator() =>
        Should.Throw<SoqlException>(() => SoqlCompiler.Compile("SELECT Id FROM Contact WHERE Id = 'nope'", Catalog))
            .ErrorCode.ShouldBe("INVALID_QUERY_FILTER_OPERATOR");

    [Fact]
    public void Compile_OffsetAbove2000_IsNumberOutsideValidRange() =>
        Should.Throw<SoqlException>(() => SoqlCompiler.Compile("SELECT Id FROM Contact OFFSET 2001", Catalog))
            .ErrorCode.ShouldBe("NUMBER_OUTSIDE_VALID_RANGE");

    [Fact]
    public void Compile_MultiLineQuery_ReportsRowAndColumn()
    {
        var ex = Should.Throw<SoqlException>(() => SoqlCompiler.Compile("SELECT Id\nFROM Contact\nWHERE ??", Catalog));
        ex.Message.ShouldContain("ERROR at Row:3:Column:7");
    }

    [Fact]
    public void Execute_Filters_AreCaseInsensitiveAndHonourNullsAndLike()
    {
        var (_, org) = TestOrgs.Create(new SandboxSeedSpec { Accounts = 20, ContactsPerAccount = 5 });
        var table = org.Table(org.Catalog.Contact);
        var all = SoqlCompiler.Compile("SELECT Id, LastName FROM Contact", org.Catalog).Execute(table, false);
        var smiths = SoqlCompiler.Compile("SELECT Id FROM Contact WHERE LastName = 'SMITH'", org.Catalog).Execute(table, false);
        smiths.Length.ShouldBe(all.Count(r => string.Equals((string?)r.Get(org.Catalog.Contact.FindField("LastName")!), "Smith", StringComparison.Ordinal)));
        var like = SoqlCompiler.Compile("SELECT Id FROM Contact WHERE LastName LIKE 's_ith%'", org.Catalog).Execute(table, false);
        like.Length.ShouldBe(smiths.Length);
        var notNull = SoqlCompiler.Compile("SELECT Id FROM Contact WHERE Title != null", org.Catalog).Execute(table, false);
        var isNull = SoqlCompiler.Compile("SELECT Id FROM Contact WHERE Title = null", org.Catalog).Execute(table, false);
        (notNull.Length + isNull.Length).ShouldBe(all.Length);
    }

    [Fact]
    public void Execute_OrderLimitOffset_PagesDeterministically()
    {
        var (_, org) = TestOrgs.Create(new SandboxSeedSpec { Accounts = 30, ContactsPerAccount = 2 });
        var table = org.Table(org.Catalog.Contact);
        var sorted = SoqlCompiler.Compile("SELECT Id FROM Contact ORDER BY LastName DESC, FirstName", org.Catalog).Execute(table, false);
        var page = SoqlCompiler.Compile("SELECT Id FROM Contact ORDER BY LastName DESC, FirstName LIMIT 10 OFFSET 5", org.Catalog).Execute(table, false);
        page.Select(r => r.Id).ShouldBe(sorted.Skip(5).Take(10).Select(r => r.Id));
    }

    [Theory]
    [InlineData("smith", "Smith", true)]
    [InlineData("sm%", "Smith", true)]
    [InlineData("%ITH", "Smith", true)]
    [InlineData("%mit%", "Smith", true)]
    [InlineData("s_ith", "Smith", true)]
    [InlineData("s%h", "Smith", true)]
    [InlineData("%", "", true)]
    [InlineData("50\\%", "50%", true)]
    [InlineData("50\\%", "500", false)]
    [InlineData("a\\_b", "axb", false)]
    [InlineData("sm%", "Jones", false)]
    public void LikeMatcher_Pattern_MatchesLikeSoql(string pattern, string value, bool expected) =>
        SoqlCompiler.LikeMatcher(pattern)(value).ShouldBe(expected);

    [Fact]
    public void Execute_NullsFirstAndLast_PlaceNullsAbsolutely()
    {
        var (_, org) = TestOrgs.Create(new SandboxSeedSpec { Accounts = 20, ContactsPerAccount = 3 });
        var table = org.Table(org.Catalog.Contact);
        var title = org.Catalog.Contact.FindField("Title")!;
        var first = SoqlCompiler.Compile("SELECT Id FROM Contact ORDER BY Title DESC NULLS FIRST", org.Catalog).Execute(table, false);
        var last = SoqlCompiler.Compile("SELECT Id FROM Contact ORDER BY Title NULLS LAST", org.Catalog).Execute(table, false);
        var nulls = first.Count(r => r.Get(title) is null);
        nulls.ShouldBeGreaterThan(0);
        first.Take(nulls).ShouldAllBe(r => r.Get(title) == null);
        last.Skip(last.Length - nulls).ShouldAllBe(r => r.Get(title) == null);
        var titles = last.Take(last.Length - nulls).Select(r => (string)r.Get(title)!).ToList();
        titles.ShouldBe(titles.Order(StringComparer.OrdinalIgnoreCase).ToList());
    }

    [Fact]
    public void Execute_InjectionInStringValue_IsData()
    {
        var (_, org) = TestOrgs.Create(new SandboxSeedSpec { Accounts = 5, ContactsPerAccount = 2 });
        var rows = SoqlCompiler.Compile(@"SELECT Id FROM Contact WHERE LastName = 'x\' OR LastName != \'x'", org.Catalog)
            .Execute(org.Table(org.Catalog.Contact), false);
        rows.ShouldBeEmpty();
    }
}
