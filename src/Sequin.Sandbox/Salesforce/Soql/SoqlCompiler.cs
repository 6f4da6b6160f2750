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
    public required ProjectionItem[] Projection { get; init; }
    public required bool IsCount { get; init; }
    public Func<Record, bool>? Filter { get; init; }
    /// <summary>ORDER BY keys, most significant first; empty for creation (= id) order.</summary>
    public OrderKey[] Order { get; init; } = [];
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
        if (Order.Length > 0)
        {
            rows = Sort(rows);
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

    /// <summary>
    /// Sorts by pre-extracted keys: each key is read once per row (a parent lookup for
    /// <c>Account.Name</c> is not repeated n log n times). Ties fall back to scan order, which is id
    /// order, so the unstable sort gives a deterministic result and paging never repeats a row.
    /// </summary>
    private List<Record> Sort(List<Record> rows)
    {
        var keys = new object?[Order.Length][];
        for (var k = 0; k < Order.Length; k++)
        {
            var get = Order[k].Get;
            var column = keys[k] = new object?[rows.Count];
            for (var i = 0; i < rows.Count; i++)
            {
                column[i] = get(rows[i]);
            }
        }
        // Rows usually come in modstamp order already (Salesforce serves ORDER BY SystemModstamp from an index):
        // one pass that finds them in order spares the n log n sort.
        var comparer = new KeyComparer(Order, keys);
        var inOrder = true;
        for (var i = 1; i < rows.Count && inOrder; i++)
        {
            inOrder = comparer.Compare(i - 1, i) <= 0;
        }
        if (inOrder)
        {
            return rows;
        }
        var index = new int[rows.Count];
        for (var i = 0; i < index.Length; i++)
        {
            index[i] = i;
        }
        Array.Sort(index, comparer);
        var sorted = new List<Record>(rows.Count);
        foreach (var i in index)
        {
            sorted.Add(rows[i]);
        }
        return sorted;
    }

    private sealed class KeyComparer(OrderKey[] order, object?[][] keys) : IComparer<int>
    {
        public int Compare(int x, int y)
        {
            for (var k = 0; k < order.Length; k++)
            {
                var a = keys[k][x];
                var b = keys[k][y];
                if (a is null || b is null)
                {
                    if (a is null && b is null)
                    {
                        continue;
                    }
                    // Null placement is absolute: NULLS FIRST puts nulls first whatever the direction.
                    return (a is null) == order[k].NullsFirst ? -1 : 1;
                }
                var c = SoqlCompiler.Compare(order[k].Field, a, b);
                if (c != 0)
                {
                    return order[k].Descending ? -c : c;
                }
            }
            return x.CompareTo(y);
        }
    }
}

/// <summary>One ORDER BY key: the field (for its comparison rules) and how to read it from a row.</summary>
internal sealed record OrderKey(FieldDef Field, Func<Record, object?> Get, bool Descending, bool NullsFirst);

/// <summary>
/// Binds a parsed statement to the schema and compiles WHERE and ORDER BY to delegates. Rejects
/// unknown objects (INVALID_TYPE), unknown or unfilterable fields (INVALID_FIELD), and values of the
/// wrong type with Salesforce's messages and positions.
/// </summary>
internal static class SoqlCompiler
{
    /// <summary>
    /// <paramref name="tables"/> gives access to parent tables for relationship paths
    /// (<c>Account.Name</c>); without it, such paths are rejected.
    /// </summary>
    public static CompiledQuery Compile(string query, SchemaCatalog catalog, Func<ObjectDef, Table>? tables = null)
    {
        var statement = SoqlParser.Parse(query);
        var type = catalog.Find(statement.From.Name) ?? throw SoqlException.At("INVALID_TYPE", query, statement.From.Position,
            $"sObject type '{statement.From.Name}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.");
        var binder = new Binder(query, type, catalog, tables);
        var projection = new List<ProjectionItem>();
        var parents = new Dictionary<FieldDef, ParentProjection>();
        var seen = new HashSet<(FieldDef?, FieldDef)>();
        foreach (var name in statement.Fields)
        {
            var path = binder.Resolve(name);
            if (!seen.Add((path.Reference, path.Leaf)))
            {
                throw SoqlException.At("MALFORMED_QUERY", query, name.Position, $"duplicate field selected: {name.Text}");
            }
            if (path.Reference is null)
            {
                projection.Add(new ProjectionItem(path.Leaf));
                continue;
            }
            if (!parents.TryGetValue(path.Reference, out var parent))
            {
                parent = new ParentProjection(path.Reference, path.Target!);
                parents.Add(path.Reference, parent);
                projection.Add(new ProjectionItem(path.Reference, parent));
            }
            parent.Fields.Add(path.Leaf);
        }
        var filter = statement.Where is null ? null : CompileCondition(binder, statement.Where);
        var order = statement.OrderBy.Select(o =>
        {
            var path = binder.Resolve(o.Field);
            if (!path.Leaf.Sortable || path.Leaf.Kind == ValueKind.None)
            {
                throw SoqlException.At("INVALID_FIELD", query, o.Field.Position, $"field '{path.Leaf.Name}' can not be sorted in a query call");
            }
            return new OrderKey(path.Leaf, path.Getter, o.Descending, o.NullsFirst);
        }).ToArray();
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

    /// <summary>A resolved field path: the leaf field, how to read it, and the reference it goes through.</summary>
    internal sealed record FieldPath(FieldDef Leaf, Func<Record, object?> Getter, FieldDef? Reference = null, ObjectDef? Target = null);

    /// <summary>Resolves names against the queried object and, one level up, its parents.</summary>
    private sealed class Binder(string query, ObjectDef type, SchemaCatalog catalog, Func<ObjectDef, Table>? tables)
    {
        public string Query => query;

        public FieldPath Resolve(NameRef name)
        {
            if (name.Relationship is null)
            {
                var field = Field(type, name.Name, name.Position);
                var slot = field.Ordinal;
                return new FieldPath(field, slot < 0 ? static _ => null : r => r.Values[slot]);
            }
            var reference = type.Fields.FirstOrDefault(f => f.Type == FieldType.Reference
                && string.Equals(f.RelationshipName, name.Relationship, StringComparison.OrdinalIgnoreCase));
            var target = reference?.ReferenceTo.Select(catalog.Find).FirstOrDefault(t => t is not null);
            if (reference is null || target is null || tables is null)
            {
                throw SoqlException.At("INVALID_FIELD", query, name.Position,
                    $"Didn't understand relationship '{name.Relationship}' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.");
            }
            var leaf = Field(target, name.Name, name.NamePosition);
            var referenceSlot = reference.Ordinal;
            var leafSlot = leaf.Ordinal;
            var parentTable = tables(target);
            // Parent values are read at evaluation time, like a join on the current parent version.
            return new FieldPath(leaf, r => r.Values[referenceSlot] is string id && leafSlot >= 0
                && parentTable.Find(id) is { IsDeleted: false } parent ? parent.Values[leafSlot] : null, reference, target);
        }

        private FieldDef Field(ObjectDef owner, string name, int position) =>
            owner.FindField(name) ?? throw SoqlException.At("INVALID_FIELD", query, position,
                $"No such column '{name}' on entity '{owner.Name}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.");
    }

    private static Func<Record, bool> CompileCondition(Binder binder, Condition condition)
    {
        var query = binder.Query;
        switch (condition)
        {
            case AndCondition and:
            {
                var parts = and.Operands.Select(o => CompileCondition(binder, o)).ToArray();
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
                var parts = or.Operands.Select(o => CompileCondition(binder, o)).ToArray();
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
                var inner = CompileCondition(binder, not.Operand);
                return r => !inner(r);
            }
            case InCondition @in:
            {
                var (field, get) = FilterField(binder, @in.Field);
                var values = @in.Values.Select(v => Literal(query, field, v)).ToArray();
                var negated = @in.Negated;
                return r =>
                {
                    var actual = get(r);
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
                var (field, get) = FilterField(binder, like.Field);
                if (field.Kind != ValueKind.String)
                {
                    throw SoqlException.At("INVALID_FIELD", query, like.Value.Position,
                        $"invalid operator on {field.Type.DescribeName()} field: LIKE");
                }
                var match = LikeMatcher(((SoqlString)like.Value.Value!).Pattern);
                return r => get(r) is string s && match(s);
            }
            case Comparison cmp:
            {
                var (field, get) = FilterField(binder, cmp.Field);
                var value = Literal(query, field, cmp.Value);
                if (field.Kind == ValueKind.Boolean && cmp.Operator is not ("=" or "!="))
                {
                    throw SoqlException.At("INVALID_FIELD", query, cmp.Value.Position, $"invalid operator on boolean field: {cmp.Operator}");
                }
                return cmp.Operator switch
                {
                    "=" => r => ValuesEqual(field, get(r), value),
                    "!=" => r => !ValuesEqual(field, get(r), value),
                    "<" => r => Order(field, get(r), value) is < 0,
                    "<=" => r => Order(field, get(r), value) is <= 0,
                    ">" => r => Order(field, get(r), value) is > 0,
                    ">=" => r => Order(field, get(r), value) is >= 0,
                    _ => throw SoqlException.At("MALFORMED_QUERY", query, cmp.Value.Position, $"unexpected token: '{cmp.Operator}'"),
                };
            }
            default:
                throw new InvalidOperationException("Unknown condition.");
        }
    }

    private static (FieldDef Field, Func<Record, object?> Get) FilterField(Binder binder, NameRef name)
    {
        var path = binder.Resolve(name);
        if (!path.Leaf.Filterable || path.Leaf.Kind == ValueKind.None)
        {
            throw SoqlException.At("INVALID_FIELD", binder.Query, name.Position, $"field '{path.Leaf.Name}' can not be filtered in a query call");
        }
        return (path.Leaf, path.Getter);
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

    /// <summary>
    /// A LIKE predicate. The usual shapes (<c>'abc'</c>, <c>'abc%'</c>, <c>'%abc'</c>, <c>'%abc%'</c>) use span
    /// comparisons; anything else (<c>_</c>, inner <c>%</c>, escapes) a regular expression.
    /// </summary>
    internal static Func<string, bool> LikeMatcher(string pattern)
    {
        var leading = pattern.StartsWith('%');
        var trailing = pattern.Length > 1 && pattern.EndsWith('%') && !pattern.EndsWith("\\%", StringComparison.Ordinal);
        var core = pattern[(leading ? 1 : 0)..(pattern.Length - (trailing ? 1 : 0))];
        if (pattern != "%" && core.IndexOfAny(['%', '_', '\\']) < 0)
        {
            return (leading, trailing) switch
            {
                (false, false) => s => s.Equals(core, StringComparison.OrdinalIgnoreCase),
                (false, true) => s => s.StartsWith(core, StringComparison.OrdinalIgnoreCase),
                (true, false) => s => s.EndsWith(core, StringComparison.OrdinalIgnoreCase),
                (true, true) => s => s.Contains(core, StringComparison.OrdinalIgnoreCase),
            };
        }
        var regex = LikeToRegex(pattern);
        return regex.IsMatch;
    }

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
}
