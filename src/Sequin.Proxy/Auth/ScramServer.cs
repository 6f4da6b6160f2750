using System.Security.Cryptography;
using System.Text;

namespace Sequin.Proxy.Auth;

/// <summary>
/// Server side of SCRAM-SHA-256 (RFC 5802 §5, RFC 7677) as Postgres runs it: the user name in the SCRAM
/// message is ignored (the startup user counts). Accepts gs2 flags <c>n</c> (no channel binding) and
/// <c>y</c> (client supports binding but the server did not offer -PLUS: Npgsql's default); refuses <c>p</c>,
/// since SCRAM-SHA-256-PLUS is not offered.
/// </summary>
internal sealed class ScramServer(ScramVerifier verifier)
{
    private string _clientFirstBare = "";
    private string _serverFirst = "";
    private string _gs2Header = "";
    private string _nonce = "";

    /// <summary>Handles client-first-message; returns server-first-message or null when malformed.</summary>
    public string? HandleClientFirst(string message)
    {
        // gs2-header = gs2-cbind-flag "," [authzid] "," ; then client-first-message-bare
        if (message.Length < 3 || (message[0] != 'n' && message[0] != 'y') || message[1] != ',')
        {
            return null;
        }

        var second = message.IndexOf(',', 2);
        if (second < 0)
        {
            return null;
        }

        _gs2Header = message[..(second + 1)];
        _clientFirstBare = message[(second + 1)..];
        string? clientNonce = null;
        foreach (var attr in _clientFirstBare.Split(','))
        {
            if (attr.StartsWith("r=", StringComparison.Ordinal))
            {
                clientNonce = attr[2..];
            }
            else if (attr.StartsWith("m=", StringComparison.Ordinal))
            {
                return null; // mandatory extensions are not supported (RFC 5802 §5.1)
            }
        }

        if (string.IsNullOrEmpty(clientNonce) || clientNonce.Any(c => c is < (char)0x21 or > (char)0x7e or ','))
        {
            return null;
        }

        _nonce = clientNonce + Convert.ToBase64String(RandomNumberGenerator.GetBytes(18));
        _serverFirst = $"r={_nonce},s={Convert.ToBase64String(verifier.Salt)},i={verifier.Iterations}";
        return _serverFirst;
    }

    /// <summary>
    /// Handles client-final-message; returns server-final-message (<c>v=…</c>) when the proof is right, null when
    /// it is wrong or malformed. The comparison is constant-time.
    /// </summary>
    public string? HandleClientFinal(string message)
    {
        var proofIndex = message.LastIndexOf(",p=", StringComparison.Ordinal);
        if (proofIndex < 0)
        {
            return null;
        }

        var withoutProof = message[..proofIndex];
        string? channelBinding = null, nonce = null;
        foreach (var attr in withoutProof.Split(','))
        {
            if (attr.StartsWith("c=", StringComparison.Ordinal))
            {
                channelBinding = attr[2..];
            }
            else if (attr.StartsWith("r=", StringComparison.Ordinal))
            {
                nonce = attr[2..];
            }
        }

        byte[] proof;
        try
        {
            proof = Convert.FromBase64String(message[(proofIndex + 3)..]);
        }
        catch (FormatException)
        {
            return null;
        }

        // c= is base64(gs2-header): "biws" for "n,,", "eSws" for "y,,".
        var expectedBinding = Convert.ToBase64String(Encoding.UTF8.GetBytes(_gs2Header));
        if (channelBinding != expectedBinding || nonce != _nonce || proof.Length != 32)
        {
            return null;
        }

        var authMessage = Encoding.UTF8.GetBytes($"{_clientFirstBare},{_serverFirst},{withoutProof}");
        Span<byte> clientSignature = stackalloc byte[32];
        HMACSHA256.HashData(verifier.StoredKey, authMessage, clientSignature);
        Span<byte> clientKey = stackalloc byte[32];
        for (var i = 0; i < 32; i++)
        {
            clientKey[i] = (byte)(proof[i] ^ clientSignature[i]);
        }

        Span<byte> storedKey = stackalloc byte[32];
        SHA256.HashData(clientKey, storedKey);
        if (!CryptographicOperations.FixedTimeEquals(storedKey, verifier.StoredKey))
        {
            return null;
        }

        var serverSignature = HMACSHA256.HashData(verifier.ServerKey, authMessage);
        return "v=" + Convert.ToBase64String(serverSignature);
    }
}

/// <summary>Client side of SCRAM-SHA-256, used by the proxy to log in to the backend as the backend role.</summary>
internal sealed class ScramClient(string password)
{
    private readonly string _clientNonce = Convert.ToBase64String(RandomNumberGenerator.GetBytes(18));
    private string _clientFirstBare = "";
    private byte[] _serverSignature = [];

    public string ClientFirst()
    {
        _clientFirstBare = $"n=*,r={_clientNonce}";
        return "n,," + _clientFirstBare;
    }

    public string ClientFinal(string serverFirst)
    {
        string? nonce = null, salt = null;
        var iterations = 0;
        foreach (var attr in serverFirst.Split(','))
        {
            if (attr.StartsWith("r=", StringComparison.Ordinal))
            {
                nonce = attr[2..];
            }
            else if (attr.StartsWith("s=", StringComparison.Ordinal))
            {
                salt = attr[2..];
            }
            else if (attr.StartsWith("i=", StringComparison.Ordinal))
            {
                iterations = int.Parse(attr[2..], System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        if (nonce is null || salt is null || iterations <= 0 || !nonce.StartsWith(_clientNonce, StringComparison.Ordinal))
        {
            throw new InvalidOperationException("invalid SCRAM server-first-message from the backend");
        }

        var salted = ScramVerifier.SaltedPassword(password, Convert.FromBase64String(salt), iterations);
        var clientKey = HMACSHA256.HashData(salted, "Client Key"u8);
        var storedKey = SHA256.HashData(clientKey);
        var withoutProof = $"c=biws,r={nonce}";
        var authMessage = Encoding.UTF8.GetBytes($"{_clientFirstBare},{serverFirst},{withoutProof}");
        var clientSignature = HMACSHA256.HashData(storedKey, authMessage);
        for (var i = 0; i < clientKey.Length; i++)
        {
            clientKey[i] ^= clientSignature[i];
        }

        _serverSignature = HMACSHA256.HashData(HMACSHA256.HashData(salted, "Server Key"u8), authMessage);
        return $"{withoutProof},p={Convert.ToBase64String(clientKey)}";
    }

    public bool VerifyServerFinal(string serverFinal) =>
        serverFinal.StartsWith("v=", StringComparison.Ordinal)
        && CryptographicOperations.FixedTimeEquals(Convert.FromBase64String(serverFinal[2..]), _serverSignature);
}
