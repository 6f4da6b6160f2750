namespace Sequin.Sources.Salesforce;

/// <summary>
/// Connector settings shared by every Salesforce connection of a host (configuration section
/// <c>Sequin:Sync:Salesforce</c>). Per-connection budgets can be overridden with <see cref="ConnectorLimits"/>.
/// </summary>
public sealed class SalesforceOptions
{
    /// <summary>REST API version, without the <c>v</c>. Default <c>62.0</c>.</summary>
    public string ApiVersion { get; set; } = "62.0";

    /// <summary>Default budget: requests per second per connection. Default 10.</summary>
    public double RequestsPerSecond { get; set; } = 10;

    /// <summary>
    /// Default budget: share of the org's daily API allocation (read from <c>Sforce-Limit-Info</c>) above which
    /// this connection pauses until the usage drops. Default 0.5 (half of the org's allocation).
    /// </summary>
    public double DailyShare { get; set; } = 0.5;

    /// <summary>Records per query page requested with <c>Sforce-Query-Options: batchSize=N</c> (200..2000). Default 2000.</summary>
    public int QueryBatchSize { get; set; } = 2000;

    /// <summary>
    /// How far behind the cursor an incremental read starts (Salesforce reads are eventually consistent, a
    /// transaction may commit with a SystemModstamp older than one already read). Default 5 s.
    /// </summary>
    public TimeSpan OverlapWindow { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// When the last successful change read is older than this, the delete log (getDeleted) is checked for
    /// coverage before reading on; a gap means a full resync. Default 1 hour.
    /// </summary>
    public TimeSpan DeleteLogCheckAfter { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Timeout of one HTTP request. Default 60 s.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Attempts of a retryable request (503, 500, REQUEST_LIMIT_EXCEEDED, timeouts, dropped connections). Default 6.</summary>
    public int MaxAttempts { get; set; } = 6;

    /// <summary>First backoff delay; doubles per attempt with full jitter. Default 500 ms.</summary>
    public TimeSpan BackoffBase { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Largest backoff delay. Default 30 s.</summary>
    public TimeSpan BackoffMax { get; set; } = TimeSpan.FromSeconds(30);
}
