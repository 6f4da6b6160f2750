namespace Sequin.ControlPlane.Connections;

/// <summary>
/// OAuth settings of Salesforce connections (section <c>Sequin:Sources:Salesforce</c>). The connected app's
/// <see cref="ClientId"/>/<see cref="ClientSecret"/> and the login URLs users may choose from. The server only ever
/// talks to these URLs (never to a URL a request supplies).
/// </summary>
public sealed class SalesforceSourceOptions
{
    public const string Section = "Sequin:Sources:Salesforce";

    /// <summary>The value of <see cref="Environments"/> that means "the sandbox embedded in this host".</summary>
    public const string Embedded = "embedded";

    /// <summary>Connected app consumer key. Default <c>sequin</c> (what the sandbox accepts).</summary>
    public string ClientId { get; set; } = "sequin";

    /// <summary>Connected app consumer secret; empty for the sandbox.</summary>
    public string? ClientSecret { get; set; }

    /// <summary>
    /// Environment name → login URL. Default: <c>sandbox</c> → the embedded emulator, <c>production</c> →
    /// https://login.salesforce.com, <c>test</c> → https://test.salesforce.com.
    /// </summary>
    public Dictionary<string, string> Environments { get; set; } = new(StringComparer.OrdinalIgnoreCase)
    {
        ["sandbox"] = Embedded,
        ["production"] = "https://login.salesforce.com",
        ["test"] = "https://test.salesforce.com",
    };

    /// <summary>Environment used when a request names none. Default <c>sandbox</c>.</summary>
    public string DefaultEnvironment { get; set; } = "sandbox";

    /// <summary>OAuth scopes requested. Default <c>api refresh_token</c>.</summary>
    public string Scope { get; set; } = "api refresh_token";
}
