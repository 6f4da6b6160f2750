using System.Text;
using System.Text.RegularExpressions;
using Sequin.Sandbox.Salesforce.Ids;
using Sequin.Sandbox.Salesforce.Schema;
using Sequin.Sandbox.Salesforce.Store;

namespace Sequin.Sandbox.Salesforce.Soql;

/// <summary>A query bound to a schema: the projection, a compiled filter and ordering.</summary>
internal sealed class CompiledQuery
{
    public required ObjectDef Type { get; init; }
    public required FieldDef[] Projection { get; init; }
    public required bool IsCount { get; init; }
    public Func<Record, bool>? Filter { get; init; }
    public IComparer<Record>? Order { get; init; }
    public int? Limit { get; init; }
    public int? Offset { get; init; }

    /// <summary>
    /// Runs the query over a lock-free snapshot of the table. <paramref name="includeDeleted"/> is the
    /// queryAll switch. Rows are immutable versions, so the result stays consistent while it is paged.
    /// </summary>
    public Record[] Execute(Table table, bool includeDeleted)
    {
        var rows = new List<Record>();
        var filter = Filter;
        foreach (var record in table.Snapshot().Span)
        {
            if (record is null || (record.IsDeleted && !includeDeleted))
            {
                continue;
            }
            if (filter is null || filter(record))
            {
                rows.Add(record);
            }
        }
        if (Order is not null)
        {
            rows.Sort(Order);
        }
        IEnumerable<Record> result = rows;
        if (Offset is { } offset)
        {
            result = result.Skip(offset);
        }
        if (Limit is { } limit)
        {
            result = result.Take(limit);
        }
        return Offset is null && Limit is null ? [.. rows] : [.. result];
    }
}

/// <summary>
/// Binds a parsed statement to the schema and compiles WHERE and ORDER BY to delegates. Rejects
/// unknown objects (INVALID_TYPE), unknown or unfilterable fields (INVALID_FIELD), and values of the
/// wrong type with Salesforce's messages and positions.
/// </summary>
internal static class SoqlCompiler
{
    public static CompiledQuery Compile(string query, SchemaCatalog catalog)
    {
        var statement = SoqlParser.Parse(query);
        var type = catalog.Find(statement.From.Name) ?? throw SoqlException.At("INVALID_TYPE", query, statement.From.Position,
            $"sObject type '{statement.From.Name}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.");
        var projection = new List<FieldDef>();
        foreach (var name in statement.Fields)
        {
            var field = Resolve(query, type, name);
            if (projection.Contains(field))
            {
                throw SoqlException.At("MALFORMED_QUERY", query, name.Position, $"duplicate field selected: {field.Name}");
            }
            projection.Add(field);
        }
        var filter = statement.Where is null ? null : CompileCondition(query, type, statement.Where);
        IComparer<Record>? order = null;
        if (statement.OrderBy.Count > 0)
        {
            var keys = statement.OrderBy.Select(o =>
            {
                var field = Resolve(query, type, o.Field);
                if (!field.Sortable)
                {
                    throw SoqlException.At("INVALID_FIELD", query, o.Field.Position, $"field '{field.Name}' can not be sorted in a query call");
                }
                return (field, o.Descending, o.NullsFirst);
            }).ToArray();
            order = new RecordComparer(keys);
        }
        return new CompiledQuery
        {
            Type = type,
            Projection = [.. projection],
            IsCount = statement.IsCount,
            Filter = filter,
            Order = order,
            Limit = statement.Limit,
            Offset = statement.Offset,
        };
    }

    private static FieldDef Resolve(string query, ObjectDef type, NameRef name) =>
        type.FindField(name.Name) ?? throw SoqlException.At("INVALID_FIELD", query, name.Position,
            $"No such column '{name.Name}' on entity '{type.Name}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.");

    private static Func<Record, bool> CompileCondition(string query, ObjectDef type, Condition condition)
    {
        switch (condition)
        {
            case AndCondition and:
            {
                var parts = and.Operands.Select(o => CompileCondition(query, type, o)).ToArray();
                return r =>
                {
                    foreach (var p in parts)
                    {
                        if (!p(r))
                        {
                            return false;
                        }
                    }
                    return true;
                };
            }
            case OrCondition or:
            {
                var parts = or.Operands.Select(o => CompileCondition(query, type, o)).ToArray();
                return r =>
                {
                    foreach (var p in parts)
                    {
                        if (p(r))
                        {
                            return true;
                        }
                    }
                    return false;
                };
            }
            case NotCondition not:
            {
                var inner = CompileCondition(query, type, not.Operand);
                return r => !inner(r);
            }
            case InCondition @in:
            {
                var field = FilterField(query, type, @in.Field);
                var values = @in.Values.Select(v => Literal(query, field, v)).ToArray();
                var negated = @in.Negated;
                return r =>
                {
                    var actual = r.Get(field);
                    foreach (var v in values)
                    {
                        if (ValuesEqual(field, actual, v))
                        {
                            return !negated;
                        }
                    }
                    return negated;
                };
            }
            case Comparison { Operator: "LIKE" } like:
            {
                var field = FilterField(query, type, like.Field);
                if (field.Kind != ValueKind.String)
                {
                    throw SoqlException.At("INVALID_FIELD", query, like.Value.Position,
                        $"invalid operator on {field.Type.DescribeName()} field: LIKE");
                }
                var regex = LikeToRegex(((SoqlString)like.Value.Value!).Pattern);
                return r => r.Get(field) is string s && regex.IsMatch(s);
            }
            case Comparison cmp:
            {
                var field = FilterField(query, type, cmp.Field);
                var value = Literal(query, field, cmp.Value);
                if (field.Kind == ValueKind.Boolean && cmp.Operator is not ("=" or "!="))
                {
                    throw SoqlException.At("INVALID_FIELD", query, cmp.Value.Position, $"invalid operator on boolean field: {cmp.Operator}");
                }
                return cmp.Operator switch
                {
                    "=" => r => ValuesEqual(field, r.Get(field), value),
                    "!=" => r => !ValuesEqual(field, r.Get(field), value),
                    "<" => r => Order(field, r.Get(field), value) is < 0,
                    "<=" => r => Order(field, r.Get(field), value) is <= 0,
                    ">" => r => Order(field, r.Get(field), value) is > 0,
                    ">=" => r => Order(field, r.Get(field), value) is >= 0,
                    _ => throw SoqlException.At("MALFORMED_QUERY", query, cmp.Value.Position, $"unexpected token: '{cmp.Operator}'"),
                };
            }
            default:
                throw new InvalidOperationException("Unknown condition.");
        }
    }

    private static FieldDef FilterField(string query, ObjectDef type, NameRef name)
    {
        var field = Resolve(query, type, name);
        if (!field.Filterable || field.Kind == ValueKind.None)
        {
            throw SoqlException.At("INVALID_FIELD", query, name.Position, $"field '{field.Name}' can not be filtered in a query call");
        }
        return field;
    }

    /// <summary>Converts a literal to the field's stored representation, or rejects it like Salesforce.</summary>
    private static object? Literal(string query, FieldDef field, Token token)
    {
        if (token.IsKeyword("NULL"))
        {
            return null;
        }
        SoqlException Mismatch(string expected, bool quoted) => SoqlException.At("INVALID_FIELD", query, token.Position,
            $"value of filter criterion for field '{field.Name}' must be of type {expected} and should {(quoted ? "" : "not ")}be enclosed in quotes");
        switch (field.Kind)
        {
            case ValueKind.String:
                if (token.Kind != TokenKind.String)
                {
                    throw Mismatch("string", quoted: true);
                }
                var text = ((SoqlString)token.Value!).Value;
                if (field.Type is FieldType.Id or FieldType.Reference)
                {
                    if (!SalesforceId.TryNormalize(text, out var id))
                    {
                        throw SoqlException.At("INVALID_QUERY_FILTER_OPERATOR", query, token.Position, $"invalid ID field: {text}");
                    }
                    return id;
                }
                return text;
            case ValueKind.Boolean:
                if (token.IsKeyword("TRUE"))
                {
                    return true;
                }
                if (token.IsKeyword("FALSE"))
                {
                    return false;
                }
                throw Mismatch("boolean", quoted: false);
            case ValueKind.Int or ValueKind.Double:
                if (token.Kind != TokenKind.Number)
                {
                    throw Mismatch(field.Kind == ValueKind.Int ? "int" : "double", quoted: false);
                }
                return (double)(decimal)token.Value!;
            case ValueKind.Date:
                return token.Kind == TokenKind.Date ? token.Value : throw Mismatch("date", quoted: false);
            case ValueKind.DateTime:
                return token.Kind == TokenKind.DateTime ? token.Value : throw Mismatch("dateTime", quoted: false);
            default:
                throw Mismatch(field.Type.DescribeName(), quoted: false);
        }
    }

    private static bool ValuesEqual(FieldDef field, object? actual, object? literal)
    {
        if (actual is null || literal is null)
        {
            return actual is null && literal is null;
        }
        return Order(field, actual, literal) == 0;
    }

    /// <summary>Three-way comparison of a stored value with a literal; null when either is null.</summary>
    private static int? Order(FieldDef field, object? actual, object? literal)
    {
        if (actual is null || literal is null)
        {
            return null;
        }
        return Compare(field, actual, literal);
    }

    internal static int Compare(FieldDef field, object a, object b) => (a, b) switch
    {
        // Ids compare exactly (both are canonical 18-character ids); other text is case-insensitive in SOQL.
        (string x, string y) when field.Type is FieldType.Id or FieldType.Reference => string.CompareOrdinal(x, y),
        (string x, string y) => string.Compare(x, y, StringComparison.OrdinalIgnoreCase),
        (bool x, bool y) => x.CompareTo(y),
        (int x, double y) => ((double)x).CompareTo(y),
        (int x, int y) => x.CompareTo(y),
        (double x, double y) => x.CompareTo(y),
        (DateOnly x, DateOnly y) => x.CompareTo(y),
        (DateTime x, DateTime y) => x.CompareTo(y),
        _ => 0,
    };

    /// <summary>SOQL LIKE: <c>%</c> any run, <c>_</c> one character, <c>\%</c> and <c>\_</c> literal; case-insensitive.</summary>
    internal static Regex LikeToRegex(string pattern)
    {
        var sb = new StringBuilder("^");
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            if (c == '\\' && i + 1 < pattern.Length)
            {
                sb.Append(Regex.Escape(pattern[++i].ToString()));
            }
            else if (c == '%')
            {
                sb.Append(".*");
            }
            else if (c == '_')
            {
                sb.Append('.');
            }
            else
            {
                sb.Append(Regex.Escape(c.ToString()));
            }
        }
        sb.Append('$');
        return new Regex(sb.ToString(), RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.Singleline,
            TimeSpan.FromSeconds(1));
    }

    private sealed class RecordComparer((FieldDef Field, bool Descending, bool NullsFirst)[] keys) : IComparer<Record>
    {
        public int Compare(Record? x, Record? y)
        {
            foreach (var (field, descending, nullsFirst) in keys)
            {
                var a = x!.Get(field);
                var b = y!.Get(field);
                int c;
                if (a is null || b is null)
                {
                    if (a is null && b is null)
                    {
                        continue;
                    }
                    // Null placement is absolute: NULLS FIRST puts nulls first whatever the direction.
                    return (a is null) == nullsFirst ? -1 : 1;
                }
                c = SoqlCompiler.Compare(field, a, b);
                if (c != 0)
                {
                    return descending ? -c : c;
                }
            }
            // Ties break by id (creation order), which keeps paging deterministic.
            return string.CompareOrdinal(x!.Id, y!.Id);
        }
    }
}
