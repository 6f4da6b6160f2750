using System.Security.Cryptography;
using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.XmlEncryption;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Sequin.Platform.Security;

/// <summary>
/// Configuration section <c>Sequin:Secrets</c>: the master key that encrypts the Data Protection key ring
/// before it is stored in the platform database, so a copy of the database alone does not reveal secrets.
/// </summary>
public sealed class SecretsOptions
{
    public const string Section = "Sequin:Secrets";

    /// <summary>Base64 of 32 random bytes (<c>SEQUIN__SECRETS__MASTERKEY</c>). Takes precedence over the file.</summary>
    public string? MasterKey { get; set; }

    /// <summary>File holding the base64 master key; created (mode 0600) when missing. Default <c>.sequin/master.key</c>.
    /// Every host sharing a platform database must use the same key.</summary>
    public string MasterKeyFile { get; set; } = ".sequin/master.key";

    internal byte[] LoadKey()
    {
        var text = MasterKey;
        if (string.IsNullOrWhiteSpace(text))
        {
            var path = Path.GetFullPath(MasterKeyFile);
            if (!File.Exists(path))
            {
                // Written to a private temp file and moved into place without overwriting: two hosts starting
                // together never read a half-written key, and the first one's key wins.
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                var temp = $"{path}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
                File.WriteAllText(temp, Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));
                if (!OperatingSystem.IsWindows())
                {
                    File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
                }

                try
                {
                    File.Move(temp, path, overwrite: false);
                }
                catch (IOException) when (File.Exists(path))
                {
                    File.Delete(temp);
                }
            }

            text = File.ReadAllText(path).Trim();
        }

        try
        {
            var key = Convert.FromBase64String(text);
            return key.Length == 32 ? key : throw new FormatException();
        }
        catch (FormatException)
        {
            throw new InvalidOperationException(
                "Sequin:Secrets:MasterKey (SEQUIN__SECRETS__MASTERKEY) must be the base64 of 32 bytes, e.g. from: openssl rand -base64 32");
        }
    }
}

/// <summary>Encrypts each key-ring element with AES-256-GCM under the master key (nonce and tag stored alongside).</summary>
internal sealed class MasterKeyXmlEncryptor(byte[] key) : IXmlEncryptor
{
    public EncryptedXmlInfo Encrypt(XElement plaintextElement)
    {
        var plaintext = System.Text.Encoding.UTF8.GetBytes(plaintextElement.ToString(SaveOptions.DisableFormatting));
        var nonce = RandomNumberGenerator.GetBytes(12);
        var ciphertext = new byte[plaintext.Length];
        var tag = new byte[16];
        using (var aes = new AesGcm(key, tag.Length))
        {
            aes.Encrypt(nonce, plaintext, ciphertext, tag);
        }

        var element = new XElement("encryptedKey",
            new XComment(" Encrypted with the Sequin master key (AES-256-GCM) "),
            new XElement("nonce", Convert.ToBase64String(nonce)),
            new XElement("tag", Convert.ToBase64String(tag)),
            new XElement("value", Convert.ToBase64String(ciphertext)));
        return new EncryptedXmlInfo(element, typeof(MasterKeyXmlDecryptor));
    }
}

/// <summary>Counterpart of <see cref="MasterKeyXmlEncryptor"/>; created by Data Protection through the service provider.</summary>
internal sealed class MasterKeyXmlDecryptor(IServiceProvider services) : IXmlDecryptor
{
    private readonly byte[] _key = services.GetRequiredService<IOptions<SecretsOptions>>().Value.LoadKey();

    public XElement Decrypt(XElement encryptedElement)
    {
        var nonce = Convert.FromBase64String((string)encryptedElement.Element("nonce")!);
        var tag = Convert.FromBase64String((string)encryptedElement.Element("tag")!);
        var ciphertext = Convert.FromBase64String((string)encryptedElement.Element("value")!);
        var plaintext = new byte[ciphertext.Length];
        using (var aes = new AesGcm(_key, tag.Length))
        {
            aes.Decrypt(nonce, ciphertext, tag, plaintext);
        }

        return XElement.Parse(System.Text.Encoding.UTF8.GetString(plaintext));
    }
}
