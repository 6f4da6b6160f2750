using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using Sequin.Sources;
using Sequin.Sources.Salesforce;
using Sequin.Sync.Provisioning;
using Shouldly;

namespace Sequin.Sync.Tests;

/// <summary>Compares a synced table with the upstream object, row by row and field by field.</summary>
internal static class Upstream
{
    /// <summary>Differences between the table and the upstream object, over every field or the <paramref name="fields"/> synced.</summary>
    public static async Task<(int Rows, List<string> Differences)> CompareAsync(Dictionary<string, string> credentials, string destination,
        string objectName, string schema = "salesforce", int maxDifferences = 20, IReadOnlyCollection<string>? fields = null)
    {
        using var factory = new SalesforceConnectorFactory(Options.Create(new SalesforceOptions { RequestsPerSecond = 1000 }), TimeProvider.System,
            NullLoggerFactory.Instance);
        await using var connector = factory.Create(new SourceCredentials(credentials), new MemorySink(),
            factory.DefaultLimits with { RequestsPerSecond = 1000, DailyShare = 1 });
        var describe = await connector.DescribeObjectAsync(objectName, default);
        var model = TableModel.Build(schema, Naming.SnakeCase(objectName), "salesforce", Guid.Empty, describe, fields);
        var upstream = new Dictionary<string, SourceRecord>(StringComparer.Ordinal);
        string? cursor = null;
        BackfillPage page;
        do
        {
            page = await connector.ReadBackfillPageAsync(new ReadRequest(objectName, model.Fields), cursor, default);
            foreach (var r in page.Records)
            {
                upstream[r.Id] = r;
            }

            cursor = page.NextCursor;
        }
        while (!page.Done);

        var differences = new List<string>();
        await using var connection = new NpgsqlConnection(destination);
        await connection.OpenAsync();
        var columns = string.Join(", ", model.Columns.Select(c => Naming.Quote(c.Name)));
        await using var cmd = new NpgsqlCommand($"select id, {columns} from {model.Qualified}", connection);
        await using var reader = await cmd.ExecuteReaderAsync();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var rows = 0;
        while (await reader.ReadAsync())
        {
            rows++;
            var id = reader.GetString(0);
            seen.Add(id);
            if (!upstream.TryGetValue(id, out var record))
            {
                Add(differences, maxDifferences, $"{objectName} {id}: in Postgres but not upstream");
                continue;
            }

            for (var i = 0; i < model.Columns.Count; i++)
            {
                var column = model.Columns[i];
                var expected = Canonical(record.Values[i], column.Field.Kind);
                var actual = reader.IsDBNull(i + 1) ? "∅" : Canonical(ReadTyped(reader, i + 1, column.Field.Kind), column.Field.Kind);
                if (expected != actual)
                {
                    Add(differences, maxDifferences, $"{objectName} {id}.{column.Field.Name}: upstream '{expected}' vs postgres '{actual}'");
                }
            }
        }

        foreach (var id in upstream.Keys.Where(k => !seen.Contains(k)))
        {
            Add(differences, maxDifferences, $"{objectName} {id}: upstream but not in Postgres");
        }

        return (rows, differences);
    }

    public static async Task AssertEqualAsync(Dictionary<string, string> credentials, string destination, string objectName, int? expectedRows = null)
    {
        var (rows, differences) = await CompareAsync(credentials, destination, objectName);
        differences.ShouldBeEmpty();
        if (expectedRows is { } n)
        {
            rows.ShouldBe(n);
        }
    }

    private static void Add(List<string> list, int max, string difference)
    {
        if (list.Count < max)
        {
            list.Add(difference);
        }
    }

    private static object ReadTyped(NpgsqlDataReader reader, int ordinal, FieldKind kind) => kind switch
    {
        FieldKind.Date => reader.GetFieldValue<DateOnly>(ordinal),
        FieldKind.Time => reader.GetFieldValue<TimeOnly>(ordinal),
        FieldKind.Timestamp => reader.GetFieldValue<DateTime>(ordinal),
        FieldKind.TextArray => reader.GetFieldValue<string[]>(ordinal),
        _ => reader.GetValue(ordinal),
    };

    private static string Canonical(object? value, FieldKind kind) => value switch
    {
        null => "∅",
        string[] a => string.Join("\u0001", a),
        DateTime d => d.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture),
        DateOnly d => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        TimeOnly t => t.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture),
        decimal m => m.ToString("G29", CultureInfo.InvariantCulture),
        string s when kind == FieldKind.Json => JsonNode.Parse(s) is { } node ? Sorted(node)?.ToJsonString() ?? "null" : "null",
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "∅",
    };

    private static JsonNode? Sorted(JsonNode? node) => node switch
    {
        JsonObject o => new JsonObject(o.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => KeyValuePair.Create(p.Key, Sorted(p.Value?.DeepClone())))),
        JsonArray a => new JsonArray([.. a.Select(x => Sorted(x?.DeepClone()))]),
        _ => node?.DeepClone(),
    };
}
