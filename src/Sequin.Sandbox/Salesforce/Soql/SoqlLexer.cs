using System.Globalization;

namespace Sequin.Sandbox.Salesforce.Soql;

internal enum TokenKind
{
    Identifier,
    String,
    Number,
    Date,
    DateTime,
    Comma,
    LeftParen,
    RightParen,
    Operator,
    Dot,
    Colon,
    Other,
    End,
}

/// <summary>A token with its start offset in the query text (for error positions).</summary>
internal readonly record struct Token(TokenKind Kind, string Text, int Position, object? Value = null)
{
    public bool IsKeyword(string keyword) =>
        Kind == TokenKind.Identifier && Text.Equals(keyword, StringComparison.OrdinalIgnoreCase);

    /// <summary>How Salesforce names the token in "unexpected token" messages.</summary>
    public string Display => Kind == TokenKind.End ? "<EOF>" : Text;
}

/// <summary>
/// SOQL lexer. Keywords are case-insensitive identifiers; date and datetime literals are unquoted
/// (<c>2024-01-01</c>, <c>2024-01-01T00:00:00Z</c>, <c>2024-01-01T00:00:00.000+02:00</c>); strings use
/// single quotes with backslash escapes (<c>\'</c>, <c>\\</c>, <c>\n</c>, ...), which is how SOQL
/// injection is neutralised: a quote inside a value is data, never syntax.
/// </summary>
internal static class SoqlLexer
{
    public static List<Token> Tokenize(string query)
    {
        var tokens = new List<Token>();
        var i = 0;
        while (true)
        {
            while (i < query.Length && char.IsWhiteSpace(query[i]))
            {
                i++;
            }
            if (i >= query.Length)
            {
                tokens.Add(new Token(TokenKind.End, string.Empty, query.Length));
                return tokens;
            }
            var start = i;
            var c = query[i];
            if (char.IsAsciiLetter(c) || c == '_')
            {
                while (i < query.Length && (char.IsAsciiLetterOrDigit(query[i]) || query[i] == '_'))
                {
                    i++;
                }
                tokens.Add(new Token(TokenKind.Identifier, query[start..i], start));
            }
            else if (char.IsAsciiDigit(c) || (c is '-' or '+' && i + 1 < query.Length && char.IsAsciiDigit(query[i + 1])))
            {
                tokens.Add(ReadNumberOrDate(query, ref i));
            }
            else if (c == '\'')
            {
                tokens.Add(ReadString(query, ref i));
            }
            else
            {
                i++;
                var kind = c switch
                {
                    ',' => TokenKind.Comma,
                    '(' => TokenKind.LeftParen,
                    ')' => TokenKind.RightParen,
                    '.' => TokenKind.Dot,
                    ':' => TokenKind.Colon,
                    '=' => TokenKind.Operator,
                    '<' or '>' or '!' => TokenKind.Operator,
                    _ => TokenKind.Other,
                };
                if (c is '<' or '>' or '!' && i < query.Length && (query[i] == '=' || (c == '<' && query[i] == '>')))
                {
                    i++;
                }
                var text = query[start..i];
                if (text == "!")
                {
                    kind = TokenKind.Other;
                }
                tokens.Add(new Token(kind, text, start));
            }
        }
    }

    private static Token ReadNumberOrDate(string query, ref int i)
    {
        var start = i;
        // yyyy-MM-dd, optionally followed by a time and a zone.
        if (i + 10 <= query.Length && IsDigits(query, i, 4) && query[i + 4] == '-' && IsDigits(query, i + 5, 2)
            && query[i + 7] == '-' && IsDigits(query, i + 8, 2))
        {
            i += 10;
            if (i < query.Length && query[i] == 'T')
            {
                i++;
                while (i < query.Length && (char.IsAsciiDigit(query[i]) || query[i] is ':' or '.' or '+' or '-' or 'Z'))
                {
                    i++;
                }
                var text = query[start..i];
                if (DateTimeOffset.TryParseExact(text, DateTimeFormats, CultureInfo.InvariantCulture,
                        DateTimeStyles.AssumeUniversal, out var dto))
                {
                    return new Token(TokenKind.DateTime, text, start, dto.UtcDateTime);
                }
                return new Token(TokenKind.Other, text, start);
            }
            var dateText = query[start..i];
            return DateOnly.TryParseExact(dateText, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d)
                ? new Token(TokenKind.Date, dateText, start, d)
                : new Token(TokenKind.Other, dateText, start);
        }
        if (query[i] is '-' or '+')
        {
            i++;
        }
        while (i < query.Length && char.IsAsciiDigit(query[i]))
        {
            i++;
        }
        if (i + 1 < query.Length && query[i] == '.' && char.IsAsciiDigit(query[i + 1]))
        {
            i++;
            while (i < query.Length && char.IsAsciiDigit(query[i]))
            {
                i++;
            }
        }
        var number = query[start..i];
        // "12abc" is one bad token in Salesforce's lexer, not a number followed by a name.
        if (i < query.Length && (char.IsAsciiLetter(query[i]) || query[i] == '_'))
        {
            while (i < query.Length && (char.IsAsciiLetterOrDigit(query[i]) || query[i] == '_'))
            {
                i++;
            }
            return new Token(TokenKind.Other, query[start..i], start);
        }
        // A literal beyond decimal's range is one bad token, not a server error.
        return decimal.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
            ? new Token(TokenKind.Number, number, start, value)
            : new Token(TokenKind.Other, number, start);
    }

    private static readonly string[] DateTimeFormats =
    [
        "yyyy-MM-dd'T'HH:mm:ss'Z'", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'",
        "yyyy-MM-dd'T'HH:mm:sszzz", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFzzz",
    ];

    private static bool IsDigits(string s, int at, int count)
    {
        for (var k = 0; k < count; k++)
        {
            if (!char.IsAsciiDigit(s[at + k]))
            {
                return false;
            }
        }
        return true;
    }

    private static Token ReadString(string query, ref int i)
    {
        var start = i;
        i++;
        var value = new System.Text.StringBuilder();
        // Raw form keeps \% and \_ escaped for LIKE patterns; Value holds the unescaped text.
        var raw = new System.Text.StringBuilder();
        while (i < query.Length)
        {
            var c = query[i];
            if (c == '\'')
            {
                i++;
                return new Token(TokenKind.String, query[start..i], start, new SoqlString(value.ToString(), raw.ToString()));
            }
            if (c == '\\')
            {
                if (i + 1 >= query.Length)
                {
                    break;
                }
                var e = query[i + 1];
                char? unescaped = e switch
                {
                    '\'' => '\'',
                    '"' => '"',
                    '\\' => '\\',
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    'b' => '\b',
                    'f' => '\f',
                    _ => null,
                };
                if (unescaped is { } u)
                {
                    value.Append(u);
                    raw.Append(u == '\\' ? "\\\\" : u.ToString());
                    i += 2;
                    continue;
                }
                if (e is '%' or '_')
                {
                    value.Append(e);
                    raw.Append('\\').Append(e);
                    i += 2;
                    continue;
                }
                if (e == 'u' && i + 6 <= query.Length
                    && int.TryParse(query.AsSpan(i + 2, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var code))
                {
                    value.Append((char)code);
                    raw.Append((char)code);
                    i += 6;
                    continue;
                }
                throw SoqlException.At("MALFORMED_QUERY", query, i, "Invalid string literal '" + query[start..Math.Min(query.Length, i + 2)] + "'. Illegal character sequence '\\" + e + "' in string literal.");
            }
            value.Append(c);
            raw.Append(c);
            i++;
        }
        throw SoqlException.At("MALFORMED_QUERY", query, start, "line 1:" + start + " mismatched character '<EOF>' expecting '''");
    }
}

/// <summary>A string literal: the value, and the pattern form that keeps <c>\%</c> and <c>\_</c> escaped for LIKE.</summary>
internal sealed record SoqlString(string Value, string Pattern);
