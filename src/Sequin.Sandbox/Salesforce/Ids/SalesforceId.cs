namespace Sequin.Sandbox.Salesforce.Ids;

/// <summary>
/// Salesforce record ids: 15 case-sensitive characters (3-character key prefix, 12 base-62
/// characters) plus, in the 18-character form, a 3-character suffix that encodes the case of the
/// first 15 so the id survives case-insensitive systems.
/// </summary>
/// <remarks>
/// Suffix algorithm (documented by Salesforce, e.g. the "Casesafe ID" knowledge article): split the
/// 15 characters into three chunks of 5; for each chunk build a 5-bit number whose bit i is set when
/// character i is an upper-case letter A-Z; map the number through "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345".
/// </remarks>
internal static class SalesforceId
{
    private const string SuffixAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
    private const string Base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    /// <summary>Builds an 18-character id from a key prefix, a 2-character pod and a counter.</summary>
    public static string Create(string keyPrefix, string pod, long counter)
    {
        Span<char> id = stackalloc char[18];
        keyPrefix.AsSpan().CopyTo(id);
        pod.AsSpan().CopyTo(id[3..]);
        // 10 base-62 digits, most significant first, so that ids sort in creation order.
        var n = counter;
        for (var i = 14; i >= 5; i--)
        {
            id[i] = Base62[(int)(n % 62)];
            n /= 62;
        }
        WriteSuffix(id[..15], id[15..]);
        return new string(id);
    }

    /// <summary>The 3-character case-safe suffix of a 15-character id.</summary>
    public static string Suffix(ReadOnlySpan<char> id15)
    {
        Span<char> suffix = stackalloc char[3];
        WriteSuffix(id15, suffix);
        return new string(suffix);
    }

    private static void WriteSuffix(ReadOnlySpan<char> id15, Span<char> destination)
    {
        for (var chunk = 0; chunk < 3; chunk++)
        {
            var bits = 0;
            for (var i = 0; i < 5; i++)
            {
                var c = id15[(chunk * 5) + i];
                if (c is >= 'A' and <= 'Z')
                {
                    bits |= 1 << i;
                }
            }
            destination[chunk] = SuffixAlphabet[bits];
        }
    }

    /// <summary>
    /// Normalises a 15- or 18-character id to its canonical 18-character form. An 18-character id is
    /// case-insensitive: its suffix restores the case of the first 15 characters. Returns false when
    /// the text is not a well-formed id (length, alphabet, or a suffix that matches no casing).
    /// </summary>
    public static bool TryNormalize(ReadOnlySpan<char> text, out string id18)
    {
        id18 = string.Empty;
        if (text.Length is not (15 or 18))
        {
            return false;
        }
        foreach (var c in text)
        {
            if (!char.IsAsciiLetterOrDigit(c))
            {
                return false;
            }
        }
        Span<char> id = stackalloc char[18];
        text[..15].CopyTo(id);
        if (text.Length == 18)
        {
            for (var chunk = 0; chunk < 3; chunk++)
            {
                var bits = SuffixAlphabet.IndexOf(char.ToUpperInvariant(text[15 + chunk]));
                if (bits < 0)
                {
                    return false;
                }
                for (var i = 0; i < 5; i++)
                {
                    ref var c = ref id[(chunk * 5) + i];
                    var upper = (bits & (1 << i)) != 0;
                    if (char.IsAsciiLetter(c))
                    {
                        c = upper ? char.ToUpperInvariant(c) : char.ToLowerInvariant(c);
                    }
                    else if (upper)
                    {
                        // The suffix claims an upper-case letter where there is a digit.
                        return false;
                    }
                }
            }
        }
        WriteSuffix(id[..15], id[15..]);
        id18 = new string(id);
        return true;
    }

    /// <summary>Encodes a small number as <paramref name="width"/> base-62 characters.</summary>
    public static string ToBase62(long value, int width)
    {
        Span<char> chars = stackalloc char[width];
        for (var i = width - 1; i >= 0; i--)
        {
            chars[i] = Base62[(int)(value % 62)];
            value /= 62;
        }
        return new string(chars);
    }
}
