using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.WebUtilities;

namespace Sequin.ControlPlane.Auth;

/// <summary>
/// API key format: <c>sqn_</c> + 8 lowercase hex characters (the public prefix id) + <c>_</c> + 43 base64url
/// characters (32 random bytes). Example: <c>sqn_3f9a1c2e_Qm9...</c>. The recognisable <c>sqn_</c> prefix lets
/// secret scanners and log readers spot a key; only the prefix and the SHA-256 of the whole key are stored.
/// </summary>
internal static class ApiKeySecret
{
    public const string Marker = "sqn_";

    /// <summary>Makes a new key; returns the full key (shown once) and its stored prefix.</summary>
    public static (string Key, string Prefix) Generate()
    {
        var id = Convert.ToHexString(RandomNumberGenerator.GetBytes(4)).ToLowerInvariant();
        var secret = WebEncoders.Base64UrlEncode(RandomNumberGenerator.GetBytes(32));
        var prefix = Marker + id;
        return ($"{prefix}_{secret}", prefix);
    }

    /// <summary>Splits a presented key into its prefix; false when it is not shaped like a Sequin key.</summary>
    public static bool TryParse(string key, out string prefix)
    {
        prefix = "";
        if (key.Length != Marker.Length + 8 + 1 + 43 || !key.StartsWith(Marker, StringComparison.Ordinal) || key[Marker.Length + 8] != '_')
        {
            return false;
        }

        prefix = key[..(Marker.Length + 8)];
        return true;
    }

    public static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));

    /// <summary>Compares in constant time so the check leaks nothing about the stored hash.</summary>
    public static bool Matches(string key, byte[] storedHash) => CryptographicOperations.FixedTimeEquals(Hash(key), storedHash);
}
