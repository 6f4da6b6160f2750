using System.Security.Cryptography;
using System.Text;

namespace Sequin.Sync;

/// <summary>
/// Names of synced tables and columns (ADR 0007): snake_case of the upstream name, lower case, at most 63 bytes.
/// <c>Contact</c> → <c>contact</c>, <c>OpportunityLineItem</c> → <c>opportunity_line_item</c>, <c>FirstName</c> →
/// <c>first_name</c>, <c>Invoice__c</c> → <c>invoice__c</c>, <c>HTMLBody</c> → <c>html_body</c>.
/// </summary>
public static class Naming
{
    /// <summary>snake_case of an upstream name.</summary>
    public static string SnakeCase(string name)
    {
        var sb = new StringBuilder(name.Length + 8);
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (char.IsUpper(c))
            {
                var prev = i > 0 ? name[i - 1] : '_';
                var next = i + 1 < name.Length ? name[i + 1] : '_';
                if (i > 0 && prev != '_' && (char.IsLower(prev) || char.IsDigit(prev) || (char.IsUpper(prev) && char.IsLower(next))))
                {
                    sb.Append('_');
                }

                sb.Append(char.ToLowerInvariant(c));
            }
            else if (char.IsAsciiLetterOrDigit(c) || c == '_')
            {
                sb.Append(char.ToLowerInvariant(c));
            }
            else
            {
                sb.Append('_');
            }
        }

        var result = sb.ToString();
        if (result.Length == 0 || char.IsDigit(result[0]))
        {
            result = "_" + result;
        }

        return Limit(result);
    }

    /// <summary>Cuts a name to 63 bytes, keeping it unique with a short hash suffix.</summary>
    public static string Limit(string name)
    {
        if (name.Length <= 63)
        {
            return name;
        }

        var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(name)))[..8].ToLowerInvariant();
        return name[..54] + "_" + hash;
    }

    /// <summary>A double-quoted SQL identifier.</summary>
    public static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    /// <summary><c>"schema"."table"</c>.</summary>
    public static string Qualified(string schema, string table) => Quote(schema) + "." + Quote(table);
}
