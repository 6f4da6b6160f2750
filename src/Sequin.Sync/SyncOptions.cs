using Sequin.Sources.Salesforce;

namespace Sequin.Sync;

/// <summary>
/// Configuration section <c>Sequin:Sync</c> (environment <c>SEQUIN__SYNC__...</c>). See docs/sync.md "Configuration".
/// </summary>
public sealed class SyncOptions
{
    public const string Section = "Sequin:Sync";

    /// <summary>Run sync jobs in this host (the worker role). Default true.</summary>
    public bool Worker { get; set; } = true;

    /// <summary>Quartz scheduler name shared by every host of the cluster. Default <c>sequin</c>.</summary>
    public string SchedulerName { get; set; } = "sequin";

    /// <summary>Syncs one host runs at once (each sync is one long-running job). Default 200.</summary>
    public int MaxConcurrentSyncs { get; set; } = 200;

    /// <summary>How often a host checks in to the cluster; a host silent for this plus <see cref="ClusterCheckinMisfireThreshold"/> is taken as dead. Default 1 s.</summary>
    public TimeSpan ClusterCheckinInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Grace after a missed check-in before another host recovers a host's syncs. Default 3 s.</summary>
    public TimeSpan ClusterCheckinMisfireThreshold { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>How often a host reconciles Quartz jobs with the syncs table and recomputes its fair share. Default 2 s.</summary>
    public TimeSpan ReconcileInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How often a sync's job trigger fires when the job is not running (after a pause, an error, a handoff). Default 2 s.</summary>
    public TimeSpan JobRetriggerInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How often a running sync re-describes its objects to pick up upstream schema changes. Default 10 minutes.</summary>
    public TimeSpan SchemaRefreshInterval { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>First wait after a failed page; doubles per consecutive failure up to <see cref="MaxErrorBackoff"/>. Default 1 s.</summary>
    public TimeSpan ErrorBackoff { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest wait after failed pages. Default 60 s.</summary>
    public TimeSpan MaxErrorBackoff { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Key required in the <c>X-Sequin-Admin-Key</c> header by the admin endpoints under <c>/admin/syncs</c>.
    /// Empty (the default) disables them: every call gets 404.
    /// </summary>
    public string? AdminKey { get; set; }

    /// <summary>Salesforce connector defaults (section <c>Sequin:Sync:Salesforce</c>).</summary>
    public SalesforceOptions Salesforce { get; set; } = new();

    /// <summary>Syncs created at start-up when missing (by <see cref="SyncDefinition.Name"/>), until the control plane exists.</summary>
    public IList<SyncDefinition> Syncs { get; } = [];
}

/// <summary>
/// A sync to create: source connection, destination, schema and objects. Used by configuration
/// (<c>Sequin:Sync:Syncs:0:...</c>) and by <c>POST /admin/syncs</c>.
/// </summary>
public sealed class SyncDefinition
{
    /// <summary>Unique name of the sync in its organization.</summary>
    public string Name { get; set; } = "";

    /// <summary>Organization slug; created when missing. Default <c>default</c>.</summary>
    public string Organization { get; set; } = "default";

    /// <summary>Source kind. Only <c>salesforce</c> for now.</summary>
    public string Source { get; set; } = "salesforce";

    /// <summary>
    /// Source credentials: <c>instance_url</c>, <c>access_token</c>, <c>refresh_token</c>, <c>client_id</c>,
    /// <c>client_secret</c>, <c>login_url</c> (token endpoint base; defaults to instance_url). Stored encrypted.
    /// </summary>
    public Dictionary<string, string> Credentials { get; set; } = [];

    /// <summary>Npgsql connection string of the destination database (the password is stored encrypted).</summary>
    public string Destination { get; set; } = "";

    /// <summary>Destination schema. Default: the source kind (<c>salesforce</c>).</summary>
    public string? Schema { get; set; }

    /// <summary>Objects to sync: <c>Contact</c>, or <c>Contact:FirstName,LastName,Email</c> to select fields (all when omitted).</summary>
    public IList<string> Objects { get; set; } = [];

    /// <summary>Poll interval of incremental reads in milliseconds. Default 1000.</summary>
    public int PollIntervalMs { get; set; } = 1000;

    /// <summary>Request budget of the connection per second; null takes the default.</summary>
    public double? RequestsPerSecond { get; set; }

    /// <summary>Share of the org's daily API allocation the connection may use (0..1]; null takes the default.</summary>
    public double? DailyShare { get; set; }
}
