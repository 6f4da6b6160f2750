using System.Globalization;

namespace Sequin.Sandbox.Salesforce.Json;

/// <summary>Salesforce's wire formats for dates and datetimes.</summary>
internal static class SalesforceFormat
{
    /// <summary>Length of <c>2024-05-08T21:20:00.000+0000</c>.</summary>
    public const int DateTimeLength = 28;

    /// <summary>Writes <c>yyyy-MM-ddTHH:mm:ss.fff+0000</c> (UTC) as UTF-8 without allocating.</summary>
    public static void WriteDateTime(DateTime value, Span<byte> destination)
    {
        Digits(value.Year, 4, destination);
        destination[4] = (byte)'-';
        Digits(value.Month, 2, destination[5..]);
        destination[7] = (byte)'-';
        Digits(value.Day, 2, destination[8..]);
        destination[10] = (byte)'T';
        Digits(value.Hour, 2, destination[11..]);
        destination[13] = (byte)':';
        Digits(value.Minute, 2, destination[14..]);
        destination[16] = (byte)':';
        Digits(value.Second, 2, destination[17..]);
        destination[19] = (byte)'.';
        Digits(value.Millisecond, 3, destination[20..]);
        "+0000"u8.CopyTo(destination[23..]);
    }

    public static void WriteDate(DateOnly value, Span<byte> destination)
    {
        Digits(value.Year, 4, destination);
        destination[4] = (byte)'-';
        Digits(value.Month, 2, destination[5..]);
        destination[7] = (byte)'-';
        Digits(value.Day, 2, destination[8..]);
    }

    private static void Digits(int value, int width, Span<byte> destination)
    {
        for (var i = width - 1; i >= 0; i--)
        {
            destination[i] = (byte)('0' + (value % 10));
            value /= 10;
        }
    }

    public static string DateTimeText(DateTime value)
    {
        Span<byte> bytes = stackalloc byte[DateTimeLength];
        WriteDateTime(value, bytes);
        return System.Text.Encoding.ASCII.GetString(bytes);
    }

    public static string DateText(DateOnly value) => value.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    /// <summary>
    /// Parses the datetime forms Salesforce accepts in JSON and query strings: ISO 8601 with
    /// <c>Z</c>, <c>+hh:mm</c> or <c>+hhmm</c>, with or without fractional seconds. Result is UTC, ms precision.
    /// </summary>
    public static bool TryParseDateTime(string text, out DateTime value)
    {
        value = default;
        var normalized = text;
        // "+0000" (no colon) is what Salesforce itself emits; DateTimeOffset wants "+00:00".
        if (normalized.Length >= 5 && normalized[^5] is '+' or '-' && char.IsAsciiDigit(normalized[^1]) && normalized[^3] != ':')
        {
            normalized = normalized[..^2] + ":" + normalized[^2..];
        }
        if (!DateTimeOffset.TryParse(normalized, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var dto)
            || !normalized.Contains('T', StringComparison.Ordinal))
        {
            return false;
        }
        var utc = dto.UtcDateTime;
        value = new DateTime(utc.Ticks - (utc.Ticks % TimeSpan.TicksPerMillisecond), DateTimeKind.Utc);
        return true;
    }

    public static bool TryParseDate(string text, out DateOnly value) =>
        DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out value);
}
