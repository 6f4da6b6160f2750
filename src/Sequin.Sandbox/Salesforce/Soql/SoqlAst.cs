namespace Sequin.Sandbox.Salesforce.Soql;

/// <summary>A parsed <c>SELECT</c> of the supported SOQL subset, before binding to a schema.</summary>
internal sealed record SelectStatement(
    IReadOnlyList<NameRef> Fields,
    bool IsCount,
    NameRef From,
    Condition? Where,
    IReadOnlyList<OrderItem> OrderBy,
    int? Limit,
    int? Offset);

/// <summary>
/// A field or object name with its offset in the query (for error positions). For a parent
/// relationship path (<c>Account.Name</c>), <see cref="Relationship"/> is <c>Account</c> and
/// <see cref="Name"/> is <c>Name</c>; <see cref="NamePosition"/> is where the field name starts.
/// </summary>
internal sealed record NameRef(string Name, int Position, string? Relationship = null, int NamePosition = -1)
{
    public string Text => Relationship is null ? Name : $"{Relationship}.{Name}";
}

internal sealed record OrderItem(NameRef Field, bool Descending, bool NullsFirst);

internal abstract record Condition;

internal sealed record AndCondition(IReadOnlyList<Condition> Operands) : Condition;

internal sealed record OrCondition(IReadOnlyList<Condition> Operands) : Condition;

internal sealed record NotCondition(Condition Operand) : Condition;

/// <summary><c>field op value</c>, where op is one of <c>= != &lt;&gt; &lt; &gt; &lt;= &gt;= LIKE</c>.</summary>
internal sealed record Comparison(NameRef Field, string Operator, Token Value) : Condition;

/// <summary><c>field [NOT] IN (v1, v2, ...)</c>.</summary>
internal sealed record InCondition(NameRef Field, bool Negated, IReadOnlyList<Token> Values) : Condition;
