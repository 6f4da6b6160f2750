using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Options;

namespace Sequin.Proxy;

/// <summary>
/// The TLS certificate of the proxy: from <c>Sequin:Proxy:Tls:CertificatePath</c> (PEM + key, or PFX), otherwise
/// a self-signed ECDSA P-256 certificate for <c>localhost</c>/127.0.0.1 generated once per process (local use).
/// </summary>
internal sealed class CertificateProvider(IOptions<ProxyOptions> options)
{
    private readonly Lazy<X509Certificate2> _certificate = new(() => Load(options.Value.Tls));

    public X509Certificate2 Certificate => _certificate.Value;

    private static X509Certificate2 Load(TlsOptions tls)
    {
        if (!string.IsNullOrEmpty(tls.CertificatePath))
        {
            return string.IsNullOrEmpty(tls.KeyPath)
                ? X509CertificateLoader.LoadPkcs12FromFile(tls.CertificatePath, tls.CertificatePassword)
                : X509Certificate2.CreateFromPemFile(tls.CertificatePath, tls.KeyPath);
        }

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        san.AddIpAddress(System.Net.IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        using var generated = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
        // Round-trip through PKCS#12 so SslStream gets a certificate with an exportable private key on every platform.
        return X509CertificateLoader.LoadPkcs12(generated.Export(X509ContentType.Pkcs12), null);
    }
}
