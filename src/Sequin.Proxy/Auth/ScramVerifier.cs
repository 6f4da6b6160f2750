using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Sequin.Proxy.Auth;

/// <summary>
/// A SCRAM-SHA-256 verifier (RFC 5802 §3, RFC 7677): salt, iteration count, StoredKey = H(ClientKey) and
/// ServerKey. Holds no password. Text form is Postgres's <c>SCRAM-SHA-256$&lt;iter&gt;:&lt;salt&gt;$&lt;StoredKey&gt;:&lt;ServerKey&gt;</c>
/// (base64 parts), the format of <c>pg_authid.rolpassword</c>.
/// </summary>
public sealed record ScramVerifier(byte[] Salt, int Iterations, byte[] StoredKey, byte[] ServerKey)
{
    /// <summary>Postgres's default iteration count (<c>scram_iterations</c>).</summary>
    public const int DefaultIterations = 4096;

    /// <summary>Derives a verifier from a password with a fresh 16-byte salt. The password is not kept.</summary>
    public static ScramVerifier FromPassword(string password, int iterations = DefaultIterations, byte[]? salt = null)
    {
        salt ??= RandomNumberGenerator.GetBytes(16);
        var salted = SaltedPassword(password, salt, iterations);
        var clientKey = HMACSHA256.HashData(salted, "Client Key"u8);
        var serverKey = HMACSHA256.HashData(salted, "Server Key"u8);
        return new ScramVerifier(salt, iterations, SHA256.HashData(clientKey), serverKey);
    }

    /// <summary>Parses Postgres's text form; returns null when <paramref name="text"/> is not one.</summary>
    public static ScramVerifier? TryParse(string text)
    {
        // SCRAM-SHA-256$4096:salt$stored:server
        var parts = text.Split('$');
        if (parts.Length != 3 || parts[0] != "SCRAM-SHA-256")
        {
            return null;
        }

        var a = parts[1].Split(':');
        var b = parts[2].Split(':');
        if (a.Length != 2 || b.Length != 2 || !int.TryParse(a[0], NumberStyles.None, CultureInfo.InvariantCulture, out var iterations))
        {
            return null;
        }

        try
        {
            return new ScramVerifier(Convert.FromBase64String(a[1]), iterations, Convert.FromBase64String(b[0]), Convert.FromBase64String(b[1]));
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"SCRAM-SHA-256${Iterations}:{Convert.ToBase64String(Salt)}${Convert.ToBase64String(StoredKey)}:{Convert.ToBase64String(ServerKey)}";

    internal static byte[] SaltedPassword(string password, byte[] salt, int iterations) =>
        Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, 32);
}
