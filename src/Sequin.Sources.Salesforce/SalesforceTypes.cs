using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Sequin.Sources.Salesforce;

/// <summary>
/// Salesforce describe <c>type</c> → Postgres shape (docs/sync.md "Type mapping"), and the wire formats of
/// values. Unknown types are <see cref="FieldKind.Text"/>: a new Salesforce type never breaks a sync.
/// </summary>
public static class SalesforceTypes
{
    /// <summary>The Postgres shape of a describe <c>type</c>.</summary>
    public static FieldKind KindOf(string describeType) => describeType switch
    {
        "id" or "reference" or "string" or "textarea" or "email" or "phone" or "url" or "picklist" or "combobox"
            or "encryptedstring" or "base64" or "anyType" => FieldKind.Text,
        "multipicklist" => FieldKind.TextArray,
        "boolean" => FieldKind.Boolean,
        "int" => FieldKind.Integer,
        "long" => FieldKind.BigInt,
        "double" or "currency" or "percent" => FieldKind.Numeric,
        "date" => FieldKind.Date,
        "datetime" => FieldKind.Timestamp,
        "time" => FieldKind.Time,
        "address" or "location" or "complexvalue" => FieldKind.Json,
        _ => FieldKind.Text,
    };

    /// <summary>SOQL datetime literal (unquoted, UTC, millisecond precision): <c>2024-01-01T00:00:00.000Z</c>.</summary>
    public static string SoqlDateTime(DateTime utc) => utc.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    /// <summary>Query-string datetime for getUpdated/getDeleted: <c>2024-05-01T00:00:00+00:00</c>.</summary>
    public static string ReplicationDateTime(DateTime utc) => utc.ToString("yyyy-MM-dd'T'HH:mm:ss'+00:00'", CultureInfo.InvariantCulture);

    /// <summary>Parses <c>2024-05-08T21:20:00.000+0000</c> (and ISO 8601 variants) to UTC.</summary>
    public static bool TryParseDateTime(ReadOnlySpan<char> text, out DateTime utc)
    {
        // Fast path: the exact Salesforce form yyyy-MM-ddTHH:mm:ss.fff+0000 (28 chars).
        if (text.Length == 28 && text[10] == 'T' && text[19] == '.' && text[23..].SequenceEqual("+0000")
            && TryDigits(text[..4], out var y) && TryDigits(text.Slice(5, 2), out var mo) && TryDigits(text.Slice(8, 2), out var d)
            && TryDigits(text.Slice(11, 2), out var h) && TryDigits(text.Slice(14, 2), out var mi) && TryDigits(text.Slice(17, 2), out var s)
            && TryDigits(text.Slice(20, 3), out var ms) && mo is >= 1 and <= 12 && d >= 1 && d <= DateTime.DaysInMonth(Math.Max(1, y), mo)
            && h < 24 && mi < 60 && s < 60 && y >= 1)
        {
            utc = new DateTime(y, mo, d, h, mi, s, ms, DateTimeKind.Utc);
            return true;
        }

        var normalized = text.Length > 5 && (text[^5] is '+' or '-') && char.IsDigit(text[^1]) && text[^3] != ':'
            ? string.Concat(text[..^2], ":", text[^2..])
            : text.ToString();
        if (DateTimeOffset.TryParse(normalized, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var dto))
        {
            utc = dto.UtcDateTime;
            return true;
        }

        utc = default;
        return false;
    }

    private static bool TryDigits(ReadOnlySpan<char> text, out int value)
    {
        value = 0;
        foreach (var c in text)
        {
            if (c is < '0' or > '9')
            {
                return false;
            }

            value = (value * 10) + (c - '0');
        }

        return true;
    }

    private static readonly object BoxedTrue = true;
    private static readonly object BoxedFalse = false;

    /// <summary>
    /// Reads the JSON value the reader is on as the CLR type of <paramref name="kind"/> (see <see cref="SourceRecord"/>),
    /// leaving the reader on the value's last token. <paramref name="body"/> is the reader's whole input (raw text of
    /// objects and arrays is sliced from it). Returns false for a misfit (the caller stores null and reports it).
    /// </summary>
    internal static bool TryRead(ref Utf8JsonReader reader, ReadOnlySpan<byte> body, FieldKind kind, out object? result)
    {
        result = null;
        var token = reader.TokenType;
        if (token == JsonTokenType.Null)
        {
            return true;
        }

        if (token is JsonTokenType.StartObject or JsonTokenType.StartArray)
        {
            if (kind is not (FieldKind.Text or FieldKind.Json))
            {
                return false;
            }

            var start = (int)reader.TokenStartIndex;
            reader.Skip();
            result = Encoding.UTF8.GetString(body[start..(int)reader.BytesConsumed]);
            return true;
        }

        switch (kind)
        {
            case FieldKind.Text:
                result = token == JsonTokenType.String ? reader.GetString() : Raw(ref reader, body);
                return true;
            case FieldKind.TextArray:
                if (token != JsonTokenType.String)
                {
                    return false;
                }

                var s = reader.GetString()!;
                result = s.Length == 0 ? Array.Empty<string>() : s.Split(';');
                return true;
            case FieldKind.Boolean:
                if (token is JsonTokenType.True or JsonTokenType.False)
                {
                    result = token == JsonTokenType.True ? BoxedTrue : BoxedFalse;
                    return true;
                }

                if (token == JsonTokenType.String && bool.TryParse(reader.GetString(), out var b))
                {
                    result = b ? BoxedTrue : BoxedFalse;
                    return true;
                }

                return false;
            case FieldKind.Integer:
                if (token == JsonTokenType.Number && reader.TryGetInt32(out var i))
                {
                    result = i;
                    return true;
                }

                if (token == JsonTokenType.Number && reader.TryGetDecimal(out var di) && di == decimal.Truncate(di) && di is >= int.MinValue and <= int.MaxValue)
                {
                    result = (int)di;
                    return true;
                }

                if (token == JsonTokenType.String && int.TryParse(reader.GetString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out i))
                {
                    result = i;
                    return true;
                }

                return false;
            case FieldKind.BigInt:
                if (token == JsonTokenType.Number && reader.TryGetInt64(out var l))
                {
                    result = l;
                    return true;
                }

                if (token == JsonTokenType.String && long.TryParse(reader.GetString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out l))
                {
                    result = l;
                    return true;
                }

                return false;
            case FieldKind.Numeric:
                if (token == JsonTokenType.Number && reader.TryGetDecimal(out var m))
                {
                    result = m;
                    return true;
                }

                if (token == JsonTokenType.String && decimal.TryParse(reader.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out m))
                {
                    result = m;
                    return true;
                }

                return false;
            case FieldKind.Date:
                if (token == JsonTokenType.String && TryReadDate(ref reader, out var date))
                {
                    result = date;
                    return true;
                }

                return false;
            case FieldKind.Timestamp:
                if (token == JsonTokenType.String && TryReadDateTime(ref reader, out var dt))
                {
                    result = dt;
                    return true;
                }

                return false;
            case FieldKind.Time:
                if (token == JsonTokenType.String)
                {
                    var t = reader.GetString()!.TrimEnd('Z');
                    if (TimeOnly.TryParse(t, CultureInfo.InvariantCulture, DateTimeStyles.None, out var time))
                    {
                        result = time;
                        return true;
                    }
                }

                return false;
            default:
                result = Raw(ref reader, body);
                return true;
        }
    }

    /// <summary>The value's JSON text as received (strings with their quotes).</summary>
    private static string Raw(ref Utf8JsonReader reader, ReadOnlySpan<byte> body) =>
        Encoding.UTF8.GetString(body[(int)reader.TokenStartIndex..(int)reader.BytesConsumed]);

    /// <summary>A JSON string as a Salesforce datetime (see <see cref="TryParseDateTime(ReadOnlySpan{char}, out DateTime)"/>), from UTF-8.</summary>
    internal static bool TryReadDateTime(ref Utf8JsonReader reader, out DateTime utc)
    {
        if (!reader.ValueIsEscaped && !reader.HasValueSequence && TryParseDateTimeUtf8(reader.ValueSpan, out utc))
        {
            return true;
        }

        return TryParseDateTime(reader.GetString(), out utc);
    }

    /// <summary>The exact Salesforce form <c>yyyy-MM-ddTHH:mm:ss.fff+0000</c> in UTF-8 (false for anything else).</summary>
    private static bool TryParseDateTimeUtf8(ReadOnlySpan<byte> text, out DateTime utc)
    {
        if (text.Length == 28 && text[10] == 'T' && text[19] == '.' && text[23..].SequenceEqual("+0000"u8)
            && TryDigits(text[..4], out var y) && TryDigits(text.Slice(5, 2), out var mo) && TryDigits(text.Slice(8, 2), out var d)
            && TryDigits(text.Slice(11, 2), out var h) && TryDigits(text.Slice(14, 2), out var mi) && TryDigits(text.Slice(17, 2), out var s)
            && TryDigits(text.Slice(20, 3), out var ms) && text[4] == '-' && text[7] == '-' && text[13] == ':' && text[16] == ':'
            && mo is >= 1 and <= 12 && y >= 1 && d >= 1 && d <= DateTime.DaysInMonth(y, mo) && h < 24 && mi < 60 && s < 60)
        {
            utc = new DateTime(y, mo, d, h, mi, s, ms, DateTimeKind.Utc);
            return true;
        }

        utc = default;
        return false;
    }

    /// <summary>A JSON string as <c>yyyy-MM-dd</c>.</summary>
    private static bool TryReadDate(ref Utf8JsonReader reader, out DateOnly date)
    {
        if (!reader.ValueIsEscaped && !reader.HasValueSequence)
        {
            var text = reader.ValueSpan;
            if (text.Length == 10 && text[4] == '-' && text[7] == '-' && TryDigits(text[..4], out var y) && TryDigits(text.Slice(5, 2), out var mo)
                && TryDigits(text.Slice(8, 2), out var d))
            {
                if (y >= 1 && mo is >= 1 and <= 12 && d >= 1 && d <= DateTime.DaysInMonth(y, mo))
                {
                    date = new DateOnly(y, mo, d);
                    return true;
                }

                date = default;
                return false;
            }
        }

        return DateOnly.TryParseExact(reader.GetString(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out date);
    }

    private static bool TryDigits(ReadOnlySpan<byte> text, out int value)
    {
        value = 0;
        foreach (var c in text)
        {
            if (c is < (byte)'0' or > (byte)'9')
            {
                return false;
            }

            value = (value * 10) + (c - '0');
        }

        return true;
    }

    internal static string Truncate(string text) => text.Length <= 200 ? text : string.Concat(text.AsSpan(0, 200), "…");

    /// <summary>Escapes a SOQL string literal (single quotes and backslashes).</summary>
    internal static string SoqlString(string value)
    {
        var sb = new StringBuilder(value.Length + 2).Append('\'');
        foreach (var c in value)
        {
            if (c is '\'' or '\\')
            {
                sb.Append('\\');
            }

            sb.Append(c);
        }

        return sb.Append('\'').ToString();
    }
}
