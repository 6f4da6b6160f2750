namespace Sequin.Sandbox;

/// <summary>
/// Configuration of the Salesforce emulator. Bind it from the <c>Sandbox:Salesforce</c> configuration
/// section or set it in code through <see cref="SalesforceSandboxExtensions.AddSalesforceSandbox"/>.
/// </summary>
public sealed class SalesforceSandboxOptions
{
    /// <summary>
    /// Absolute external base URL of the emulator including the mount prefix, for example
    /// <c>http://127.0.0.1:8080/sandbox/salesforce</c>. It is the <c>instance_url</c> of token responses
    /// and the OAuth login URL. When null, it is derived from each request (scheme, host, PathBase, prefix).
    /// </summary>
    public string? PublicBaseUrl { get; set; }

    /// <summary>
    /// When non-empty, every admin call under <c>/_sandbox/</c> must send the header
    /// <c>X-Sandbox-Admin-Key</c> with this value (compared in constant time); otherwise 401.
    /// </summary>
    public string? AdminKey { get; set; }

    /// <summary>
    /// When non-empty, the token endpoint requires this <c>client_secret</c> (400 <c>invalid_client</c>
    /// otherwise). Any <c>client_id</c> is accepted.
    /// </summary>
    public string? ClientSecret { get; set; }

    /// <summary>Default access-token lifetime in seconds for new orgs (Salesforce's session timeout; default 2 hours).</summary>
    public int AccessTokenLifetimeSeconds { get; set; } = 7200;

    /// <summary>Default daily API request allocation for new orgs (Enterprise Edition: 100,000 + 1,000 per licence).</summary>
    public int DefaultDailyApiLimit { get; set; } = 100_000;

    /// <summary>Largest request body accepted, in bytes (default 50 MB); larger bodies get 413.</summary>
    public long MaxRequestBodyBytes { get; set; } = 50L * 1024 * 1024;

    /// <summary>How long timeouts injected by <see cref="SandboxFaults.TimeoutRate"/> hang at most, in seconds.</summary>
    public int InjectedTimeoutSeconds { get; set; } = 120;

    /// <summary>Orgs created at start-up, for the demo and for standalone runs.</summary>
    public IList<SandboxOrgSpec> Orgs { get; } = [];

    /// <summary>
    /// Custom objects (<c>Name</c> ending in <c>__c</c>) and custom fields on standard objects
    /// (<c>Name</c> = <c>Account</c>, <c>Contact</c>, ...). Shared by every org of this sandbox.
    /// </summary>
    public IList<SandboxCustomObject> CustomObjects { get; } = [];
}

/// <summary>An org to create: <c>{"name":"acme","seed":{...},"dailyApiLimit":100000}</c>.</summary>
public sealed class SandboxOrgSpec
{
    /// <summary>Display name, also usable as <c>login_hint</c> on the consent page.</summary>
    public string Name { get; set; } = "sandbox";

    /// <summary>What to generate; null seeds nothing but the org's users.</summary>
    public SandboxSeedSpec? Seed { get; set; }

    /// <summary>Daily API request allocation; null takes <see cref="SalesforceSandboxOptions.DefaultDailyApiLimit"/>.</summary>
    public int? DailyApiLimit { get; set; }
}

/// <summary>
/// Deterministic seed data: the same spec and <see cref="RandomSeed"/> always give the same records
/// (ids, names, values); only the timestamps follow the clock.
/// </summary>
public sealed class SandboxSeedSpec
{
    /// <summary>Number of accounts.</summary>
    public int Accounts { get; set; }

    /// <summary>Contacts created under each account.</summary>
    public int ContactsPerAccount { get; set; }

    /// <summary>Opportunities created under each account.</summary>
    public int OpportunitiesPerAccount { get; set; }

    /// <summary>Number of leads.</summary>
    public int Leads { get; set; }

    /// <summary>Users besides the integration user that owns the API session (owners of the records).</summary>
    public int Users { get; set; } = 4;

    /// <summary>Records created for every custom object declared in options.</summary>
    public int CustomObjectRecords { get; set; }

    /// <summary>Seed of the pseudo-random generator.</summary>
    public int RandomSeed { get; set; } = 42;
}

/// <summary>A custom object, or extra custom fields on a standard object.</summary>
public sealed class SandboxCustomObject
{
    /// <summary>API name: <c>Invoice__c</c>, or a standard object name to add fields to it.</summary>
    public string Name { get; set; } = string.Empty;

    /// <summary>Singular label; defaults to the name without <c>__c</c>.</summary>
    public string? Label { get; set; }

    /// <summary>Plural label; defaults to the label plus "s".</summary>
    public string? LabelPlural { get; set; }

    /// <summary>The custom fields; every name must end in <c>__c</c>.</summary>
    public IList<SandboxCustomField> Fields { get; } = [];
}

/// <summary>A custom field declaration.</summary>
public sealed class SandboxCustomField
{
    /// <summary>API name ending in <c>__c</c>.</summary>
    public string Name { get; set; } = string.Empty;

    /// <summary>Label; defaults to the name without <c>__c</c>.</summary>
    public string? Label { get; set; }

    /// <summary>
    /// Describe type: <c>string</c>, <c>textarea</c>, <c>email</c>, <c>phone</c>, <c>url</c>, <c>picklist</c>,
    /// <c>multipicklist</c>, <c>boolean</c>, <c>int</c>, <c>double</c>, <c>currency</c>, <c>percent</c>,
    /// <c>date</c>, <c>datetime</c> or <c>reference</c>.
    /// </summary>
    public string Type { get; set; } = "string";

    /// <summary>Maximum length in characters for text types (default 255).</summary>
    public int Length { get; set; } = 255;

    /// <summary>Total digits for number types (default 18).</summary>
    public int Precision { get; set; } = 18;

    /// <summary>Digits after the decimal point for number types (default 0).</summary>
    public int Scale { get; set; }

    /// <summary>Required on create (REQUIRED_FIELD_MISSING when absent).</summary>
    public bool Required { get; set; }

    /// <summary>Picklist values, for picklist and multipicklist.</summary>
    public IList<string> PicklistValues { get; } = [];

    /// <summary>Reject values outside <see cref="PicklistValues"/> (INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST).</summary>
    public bool RestrictedPicklist { get; set; } = true;

    /// <summary>Target object of a reference field.</summary>
    public string? ReferenceTo { get; set; }

    /// <summary>Marks the field as an external id (also unique).</summary>
    public bool ExternalId { get; set; }
}
