using Microsoft.AspNetCore.DataProtection;

namespace Sequin.Platform.Security;

/// <summary>
/// Encrypts secrets at rest (upstream OAuth tokens, API keys of sources, destination and backend passwords)
/// with ASP.NET Data Protection (AES-256-CBC + HMACSHA256 by default; keys rotate every 90 days and live in the
/// platform database). Each <c>purpose</c> isolates one kind of secret: a value protected for one purpose cannot
/// be unprotected under another.
/// </summary>
public interface ISecretProtector
{
    /// <summary>Encrypts <paramref name="plaintext"/>; the result is base64url text safe for a text column.</summary>
    string Protect(string purpose, string plaintext);

    /// <summary>Decrypts a value made by <see cref="Protect"/> with the same purpose.</summary>
    /// <exception cref="System.Security.Cryptography.CryptographicException">tampered text, wrong purpose, or unknown key.</exception>
    string Unprotect(string purpose, string protectedText);
}

/// <summary>Well-known purposes of <see cref="ISecretProtector"/>.</summary>
public static class SecretPurposes
{
    public const string SourceCredentials = "source-credentials";
    public const string DestinationPassword = "destination-password";
    public const string BackendPassword = "backend-password";
    public const string ProxyPassword = "proxy-password";
}

internal sealed class DataProtectionSecretProtector(IDataProtectionProvider provider) : ISecretProtector
{
    public string Protect(string purpose, string plaintext) => provider.CreateProtector("Sequin.Secrets", purpose).Protect(plaintext);

    public string Unprotect(string purpose, string protectedText) => provider.CreateProtector("Sequin.Secrets", purpose).Unprotect(protectedText);
}
