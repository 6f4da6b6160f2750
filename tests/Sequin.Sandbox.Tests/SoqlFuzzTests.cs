using Sequin.Sandbox.Salesforce.Soql;
using Shouldly;

namespace Sequin.Sandbox.Tests;

/// <summary>
/// Mutated queries must either run or fail with a Salesforce error: never an unexpected exception
/// (which would be a 500) and never a wrong answer type. Deterministic seed, so failures reproduce.
/// </summary>
public sealed class SoqlFuzzTests
{
    private static readonly string[] Seeds =
    [
        "SELECT Id, Name, Account.Name FROM Contact WHERE (LastName = 'a\\'b' OR Email != null) AND CreatedDate > 2024-01-01T00:00:00Z ORDER BY Name DESC NULLS LAST LIMIT 10 OFFSET 2",
        "SELECT COUNT() FROM Opportunity WHERE Amount >= 100.5 AND StageName IN ('Prospecting', 'Closed Won') AND CloseDate < 2025-12-31",
        "SELECT Id FROM Lead WHERE NOT (Company LIKE '%Acme\\%%' AND IsConverted = false)",
    ];

    private static readonly string[] Fragments =
        ["'", "\\", "(", ")", ",", ".", "=", "!=", "<", ">=", "NOT", "AND", "OR", "IN", "LIKE", "null", "2024-13-45", "2024-01-01T25:00:00Z", "1e999", "-", "\n", " ", "FROM", "SELECT", "''", "\\u00e9", "\\x"];

    [Fact]
    public void Compile_MutatedQueries_ThrowOnlySoqlException()
    {
        var (_, org) = TestOrgs.Create(new SandboxSeedSpec { Accounts = 3, ContactsPerAccount = 2, OpportunitiesPerAccount = 1, Leads = 3 });
        var rng = new Random(20241122);
        for (var i = 0; i < 3000; i++)
        {
            var query = Seeds[rng.Next(Seeds.Length)];
            var mutations = 1 + rng.Next(3);
            for (var m = 0; m < mutations; m++)
            {
                var at = rng.Next(query.Length + 1);
                query = rng.Next(3) switch
                {
                    0 => query.Insert(at, Fragments[rng.Next(Fragments.Length)]),
                    1 when at < query.Length => query.Remove(at, Math.Min(query.Length - at, 1 + rng.Next(4))),
                    _ => query[..at],
                };
            }
            try
            {
                var compiled = SoqlCompiler.Compile(query, org.Catalog, org.Table);
                compiled.Execute(org.Table(compiled.Type), includeDeleted: true);
            }
            catch (SoqlException ex)
            {
                ex.ErrorCode.ShouldNotBeNullOrEmpty();
            }
            catch (Exception ex)
            {
                throw new ShouldAssertException($"Query {query} threw {ex}");
            }
        }
    }
}
