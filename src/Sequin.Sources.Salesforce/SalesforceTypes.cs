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

    /// <summary>
    /// Converts a JSON value to the CLR type of <paramref name="kind"/> (see <see cref="SourceRecord"/>).
    /// Returns false for a misfit (the caller stores null and reports it).
    /// </summary>
    internal static bool TryConvert(JsonElement value, FieldKind kind, out object? result)
    {
        result = null;
        if (value.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined)
        {
            return true;
        }

        switch (kind)
        {
            case FieldKind.Text:
                result = value.ValueKind switch
                {
                    JsonValueKind.String => value.GetString(),
                    _ => value.GetRawText(),
                };
                return true;
            case FieldKind.TextArray:
                if (value.ValueKind != JsonValueKind.String)
                {
                    return false;
                }

                var s = value.GetString()!;
                result = s.Length == 0 ? Array.Empty<string>() : s.Split(';');
                return true;
            case FieldKind.Boolean:
                if (value.ValueKind is JsonValueKind.True or JsonValueKind.False)
                {
                    result = value.GetBoolean();
                    return true;
                }

                if (value.ValueKind == JsonValueKind.String && bool.TryParse(value.GetString(), out var b))
                {
                    result = b;
                    return true;
                }

                return false;
            case FieldKind.Integer:
                if (value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var i))
                {
                    result = i;
                    return true;
                }

                if (value.ValueKind == JsonValueKind.Number && value.TryGetDecimal(out var di) && di == decimal.Truncate(di) && di is >= int.MinValue and <= int.MaxValue)
                {
                    result = (int)di;
                    return true;
                }

                if (value.ValueKind == JsonValueKind.String && int.TryParse(value.GetString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out i))
                {
                    result = i;
                    return true;
                }

                return false;
            case FieldKind.BigInt:
                if (value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var l))
                {
                    result = l;
                    return true;
                }

                if (value.ValueKind == JsonValueKind.String && long.TryParse(value.GetString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out l))
                {
                    result = l;
                    return true;
                }

                return false;
            case FieldKind.Numeric:
                if (value.ValueKind == JsonValueKind.Number && value.TryGetDecimal(out var m))
                {
                    result = m;
                    return true;
                }

                if (value.ValueKind == JsonValueKind.String && decimal.TryParse(value.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out m))
                {
                    result = m;
                    return true;
                }

                return false;
            case FieldKind.Date:
                if (value.ValueKind == JsonValueKind.String
                    && DateOnly.TryParseExact(value.GetString(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
                {
                    result = date;
                    return true;
                }

                return false;
            case FieldKind.Timestamp:
                if (value.ValueKind == JsonValueKind.String && TryParseDateTime(value.GetString(), out var dt))
                {
                    result = dt;
                    return true;
                }

                return false;
            case FieldKind.Time:
                if (value.ValueKind == JsonValueKind.String)
                {
                    var t = value.GetString()!.TrimEnd('Z');
                    if (TimeOnly.TryParse(t, CultureInfo.InvariantCulture, DateTimeStyles.None, out var time))
                    {
                        result = time;
                        return true;
                    }
                }

                return false;
            case FieldKind.Json:
                result = value.GetRawText();
                return true;
            default:
                result = value.GetRawText();
                return true;
        }
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
