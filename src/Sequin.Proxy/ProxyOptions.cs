namespace Sequin.Proxy;

/// <summary>Configuration of the proxy, section <c>Sequin:Proxy</c> (see docs/proxy.md).</summary>
public sealed class ProxyOptions
{
    public const string Section = "Sequin:Proxy";

    /// <summary>Whether the host runs the proxy at all.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Listen address (IP literal). Default loopback only.</summary>
    public string Host { get; set; } = "127.0.0.1";

    /// <summary>Listen port; 0 picks a free port (tests).</summary>
    public int Port { get; set; } = 7432;

    /// <summary>Client connections beyond this count are refused with SQLSTATE 53300.</summary>
    public int MaxConnections { get; set; } = 2000;

    /// <summary>
    /// Threads of the proxy's own socket engine (Linux), each an epoll loop that serves its share of sessions; 0
    /// picks one per core (ADR 0014: in two A/Bs on the 2-core host, two engines were at or above PgBouncer's TPS in every
    /// mode and one was not, for ≈ 3 µs more CPU per transaction). -1 turns the engine off: sessions use .NET's sockets.
    /// </summary>
    public int IoThreads { get; set; }

    /// <summary>Default destination server for credentials that do not name one.</summary>
    public BackendOptions Backend { get; set; } = new();

    public TlsOptions Tls { get; set; } = new();

    /// <summary>Credentials known from configuration (in addition to the platform's <c>proxy_credentials</c>).</summary>
    public List<CredentialOptions> Credentials { get; set; } = [];

    /// <summary>Whether credentials are also read from the platform database's <c>proxy_credentials</c>.</summary>
    public bool UsePlatformCredentials { get; set; } = true;

    /// <summary>Seconds a client may take from connect to the end of authentication.</summary>
    public int AuthenticationTimeoutSeconds { get; set; } = 30;

    /// <summary>Seconds one upstream (API) write may take before the statement fails with 57014.</summary>
    public int UpstreamTimeoutSeconds { get; set; } = 60;

    /// <summary>
    /// Largest Query/Parse message inspected for writes, in bytes. Larger ones pass through unclassified: a write
    /// to a synced table inside them is refused by the capture trigger (fail-safe), never applied unseen.
    /// </summary>
    public int MaxInspectedMessageBytes { get; set; } = 4 * 1024 * 1024;
}

/// <summary>Where the destination Postgres server is.</summary>
public sealed class BackendOptions
{
    public string Host { get; set; } = "127.0.0.1";

    public int Port { get; set; } = 5432;
}

/// <summary>TLS of client connections (SSLRequest).</summary>
public sealed class TlsOptions
{
    /// <summary>Whether SSLRequest is accepted ('S'); when false it is answered 'N'.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Refuse clients that do not negotiate TLS (SQLSTATE 28000).</summary>
    public bool Required { get; set; }

    /// <summary>PEM certificate (with <see cref="KeyPath"/>) or PFX file; empty → a self-signed one is generated.</summary>
    public string? CertificatePath { get; set; }

    /// <summary>PEM private key of <see cref="CertificatePath"/>.</summary>
    public string? KeyPath { get; set; }

    /// <summary>PFX password.</summary>
    public string? CertificatePassword { get; set; }
}

/// <summary>
/// One proxy credential from configuration: the client-facing user and SCRAM verifier, and where it routes —
/// destination database and the role the proxy logs in as (never SET ROLE: a client could RESET it).
/// </summary>
public sealed class CredentialOptions
{
    public string Username { get; set; } = "";

    /// <summary>SCRAM verifier in Postgres's text form (<c>SCRAM-SHA-256$4096:…</c>). Preferred.</summary>
    public string? Verifier { get; set; }

    /// <summary>Development convenience: a password, turned into a verifier at load and not kept.</summary>
    public string? Password { get; set; }

    public string Database { get; set; } = "";

    public string BackendRole { get; set; } = "";

    public string? BackendPassword { get; set; }

    public string? BackendHost { get; set; }

    public int? BackendPort { get; set; }
}
