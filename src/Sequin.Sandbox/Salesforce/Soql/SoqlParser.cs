using System.Globalization;

namespace Sequin.Sandbox.Salesforce.Soql;

/// <summary>
/// Recursive-descent parser for the SOQL subset:
/// <code>
/// SELECT (COUNT() | path [, path]*) FROM object        -- path := field | relationship.field (one level)
///   [WHERE condition] [ORDER BY field [ASC|DESC] [NULLS FIRST|LAST] [, ...]] [LIMIT n] [OFFSET n]
/// condition := term (AND term)* | term (OR term)*     -- mixing AND and OR needs parentheses, as in SOQL
/// term      := NOT term | '(' condition ')' | field op value | field [NOT] IN (value, ...) | field LIKE 'pattern'
/// </code>
/// Anything else fails with MALFORMED_QUERY at the first token outside the grammar, which is what
/// Salesforce does too, so a client never gets a silently different answer.
/// </summary>
internal sealed class SoqlParser
{
    private readonly string _query;
    private readonly List<Token> _tokens;
    private int _next;

    private SoqlParser(string query)
    {
        _query = query;
        _tokens = SoqlLexer.Tokenize(query);
    }

    public static SelectStatement Parse(string query) => new SoqlParser(query).ParseSelect();

    private Token Peek => _tokens[_next];

    private Token Take() => _tokens[_next++];

    private SoqlException Unexpected(Token token) =>
        SoqlException.At("MALFORMED_QUERY", _query, token.Position, $"unexpected token: '{token.Display}'");

    private void ExpectKeyword(string keyword)
    {
        if (!Peek.IsKeyword(keyword))
        {
            throw Unexpected(Peek);
        }
        _next++;
    }

    private void Expect(TokenKind kind)
    {
        if (Peek.Kind != kind)
        {
            throw Unexpected(Peek);
        }
        _next++;
    }

    private static readonly HashSet<string> Reserved = new(StringComparer.OrdinalIgnoreCase)
    {
        "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "ORDER", "BY", "LIMIT", "OFFSET", "ASC", "DESC",
        "NULLS", "FIRST", "LAST", "NULL", "TRUE", "FALSE", "GROUP", "HAVING", "WITH", "FOR", "USING", "INCLUDES",
        "EXCLUDES", "TYPEOF",
    };

    private NameRef ExpectName()
    {
        var token = Peek;
        if (token.Kind != TokenKind.Identifier || Reserved.Contains(token.Text))
        {
            throw Unexpected(token);
        }
        _next++;
        // Aggregates and functions (COUNT(Id), FIELDS(ALL), toLabel(x)) are outside the subset.
        if (Peek.Kind is TokenKind.Dot or TokenKind.LeftParen)
        {
            throw Unexpected(Peek);
        }
        return new NameRef(token.Text, token.Position);
    }

    /// <summary>A field, or a one-level parent relationship path such as <c>Account.Name</c>.</summary>
    private NameRef ExpectFieldPath()
    {
        var token = Peek;
        if (token.Kind != TokenKind.Identifier || Reserved.Contains(token.Text))
        {
            throw Unexpected(token);
        }
        _next++;
        if (Peek.Kind == TokenKind.Dot)
        {
            _next++;
            var field = Peek;
            if (field.Kind != TokenKind.Identifier)
            {
                throw Unexpected(field);
            }
            _next++;
            // Deeper paths (Account.Owner.Name) are outside the subset.
            if (Peek.Kind is TokenKind.Dot or TokenKind.LeftParen)
            {
                throw Unexpected(Peek);
            }
            return new NameRef(field.Text, token.Position, token.Text, field.Position);
        }
        if (Peek.Kind == TokenKind.LeftParen)
        {
            throw Unexpected(Peek);
        }
        return new NameRef(token.Text, token.Position);
    }

    private SelectStatement ParseSelect()
    {
        ExpectKeyword("SELECT");
        var fields = new List<NameRef>();
        var isCount = false;
        if (Peek.IsKeyword("COUNT") && _tokens[_next + 1].Kind == TokenKind.LeftParen)
        {
            _next += 2;
            // COUNT(field) is an aggregate query (AggregateResult), outside the subset.
            Expect(TokenKind.RightParen);
            isCount = true;
        }
        else
        {
            fields.Add(ExpectFieldPath());
            while (Peek.Kind == TokenKind.Comma)
            {
                _next++;
                fields.Add(ExpectFieldPath());
            }
        }
        ExpectKeyword("FROM");
        var from = ExpectName();
        Condition? where = null;
        if (Peek.IsKeyword("WHERE"))
        {
            _next++;
            where = ParseCondition();
        }
        var orderBy = new List<OrderItem>();
        if (Peek.IsKeyword("ORDER"))
        {
            _next++;
            ExpectKeyword("BY");
            do
            {
                if (orderBy.Count > 0)
                {
                    _next++;
                }
                var field = ExpectFieldPath();
                var descending = false;
                if (Peek.IsKeyword("ASC"))
                {
                    _next++;
                }
                else if (Peek.IsKeyword("DESC"))
                {
                    _next++;
                    descending = true;
                }
                // SOQL puts nulls first in ascending order and last in descending order by default.
                var nullsFirst = !descending;
                if (Peek.IsKeyword("NULLS"))
                {
                    _next++;
                    if (Peek.IsKeyword("FIRST"))
                    {
                        nullsFirst = true;
                    }
                    else if (Peek.IsKeyword("LAST"))
                    {
                        nullsFirst = false;
                    }
                    else
                    {
                        throw Unexpected(Peek);
                    }
                    _next++;
                }
                orderBy.Add(new OrderItem(field, descending, nullsFirst));
            }
            while (Peek.Kind == TokenKind.Comma);
        }
        int? limit = null;
        if (Peek.IsKeyword("LIMIT"))
        {
            _next++;
            limit = ExpectNonNegativeInteger();
        }
        int? offset = null;
        if (Peek.IsKeyword("OFFSET"))
        {
            _next++;
            offset = ExpectNonNegativeInteger();
            if (offset > 2000)
            {
                throw new SoqlException("NUMBER_OUTSIDE_VALID_RANGE", "Maximum SOQL offset allowed is 2000");
            }
        }
        if (Peek.Kind != TokenKind.End)
        {
            throw Unexpected(Peek);
        }
        return new SelectStatement(fields, isCount, from, where, orderBy, limit, offset);
    }

    private int ExpectNonNegativeInteger()
    {
        var token = Peek;
        if (token.Kind != TokenKind.Number || token.Text.Contains('.', StringComparison.Ordinal) || token.Text.StartsWith('-')
            || !int.TryParse(token.Text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n))
        {
            throw Unexpected(token);
        }
        _next++;
        return n;
    }

    private Condition ParseCondition()
    {
        var first = ParseTerm();
        if (!Peek.IsKeyword("AND") && !Peek.IsKeyword("OR"))
        {
            return first;
        }
        var op = Peek.Text.ToUpperInvariant();
        var operands = new List<Condition> { first };
        while (Peek.IsKeyword("AND") || Peek.IsKeyword("OR"))
        {
            if (!Peek.Text.Equals(op, StringComparison.OrdinalIgnoreCase))
            {
                // "a AND b OR c" is ambiguous in SOQL and rejected at the second operator.
                throw Unexpected(Peek);
            }
            _next++;
            operands.Add(ParseTerm());
        }
        return op == "AND" ? new AndCondition(operands) : new OrCondition(operands);
    }

    private Condition ParseTerm()
    {
        if (Peek.IsKeyword("NOT"))
        {
            _next++;
            return new NotCondition(ParseTerm());
        }
        if (Peek.Kind == TokenKind.LeftParen)
        {
            _next++;
            var inner = ParseCondition();
            Expect(TokenKind.RightParen);
            return inner;
        }
        var field = ExpectFieldPath();
        var token = Peek;
        if (token.IsKeyword("NOT"))
        {
            _next++;
            ExpectKeyword("IN");
            return new InCondition(field, true, ParseValueList());
        }
        if (token.IsKeyword("IN"))
        {
            _next++;
            return new InCondition(field, false, ParseValueList());
        }
        if (token.IsKeyword("LIKE"))
        {
            _next++;
            var pattern = Peek;
            if (pattern.Kind != TokenKind.String)
            {
                throw Unexpected(pattern);
            }
            _next++;
            return new Comparison(field, "LIKE", pattern);
        }
        if (token.Kind != TokenKind.Operator)
        {
            throw Unexpected(token);
        }
        _next++;
        var op = token.Text == "<>" ? "!=" : token.Text;
        return new Comparison(field, op, ParseValue());
    }

    private List<Token> ParseValueList()
    {
        Expect(TokenKind.LeftParen);
        var values = new List<Token> { ParseValue() };
        while (Peek.Kind == TokenKind.Comma)
        {
            _next++;
            values.Add(ParseValue());
        }
        Expect(TokenKind.RightParen);
        return values;
    }

    private Token ParseValue()
    {
        var token = Peek;
        if (token.Kind is TokenKind.String or TokenKind.Number or TokenKind.Date or TokenKind.DateTime
            || token.IsKeyword("NULL") || token.IsKeyword("TRUE") || token.IsKeyword("FALSE"))
        {
            _next++;
            return token;
        }
        throw Unexpected(token);
    }
}
