namespace Sequin.Sources;

/// <summary>
/// A connection to one source account (a Salesforce org, a HubSpot portal, an Airtable base, a Stripe account).
/// One instance serves one connection; it is safe to call from several syncs at once and owns the connection's
/// rate limiting. See docs/sync.md, "The connector contract", for how each source fits.
/// </summary>
/// <remarks>
/// Errors: <see cref="SourceAuthException"/> when credentials are revoked and cannot be refreshed;
/// <see cref="SourceThrottledException"/> when the connection's budget is spent (pause, do not fail);
/// <see cref="SourceException"/> for everything else (malformed responses, server errors after retries,
/// rejected queries). A page either comes back whole or throws: the engine never sees a partial page.
/// </remarks>
public interface ISourceConnector : IAsyncDisposable
{
    /// <summary>Source kind: <c>salesforce</c>, <c>hubspot</c>, <c>airtable</c>, <c>stripe</c>.</summary>
    string Kind { get; }

    /// <summary>Batch sizes and rate limits of this connection.</summary>
    ConnectorLimits Limits { get; }

    /// <summary>Objects of the account (Salesforce describeGlobal).</summary>
    Task<IReadOnlyList<SourceObjectInfo>> ListObjectsAsync(CancellationToken cancellationToken);

    /// <summary>An object's fields with their types (Salesforce describe).</summary>
    Task<SourceObject> DescribeObjectAsync(string objectName, CancellationToken cancellationToken);

    /// <summary>
    /// Reads the backfill page after <paramref name="cursor"/> (null: the first page). Pages come in a stable order
    /// so that a backfill can resume from the last committed cursor after a crash.
    /// </summary>
    Task<BackfillPage> ReadBackfillPageAsync(ReadRequest request, string? cursor, CancellationToken cancellationToken);

    /// <summary>
    /// Reads changes (upserts and deletes) after <paramref name="cursor"/>. The same change may be delivered more
    /// than once (overlap windows): the engine applies records idempotently and by version.
    /// </summary>
    /// <exception cref="SourceResyncRequiredException">the source's change log no longer covers the cursor.</exception>
    Task<ChangePage> ReadChangesAsync(ReadRequest request, string cursor, CancellationToken cancellationToken);

    /// <summary>
    /// Applies a batch upstream and returns one result per input record, in input order. Split into chunks of
    /// <see cref="ConnectorLimits.MaxWriteBatch"/>; each chunk is all-or-nothing where the source supports it.
    /// </summary>
    Task<IReadOnlyList<WriteResult>> WriteAsync(WriteBatch batch, CancellationToken cancellationToken);

    /// <summary>
    /// Reads the current state of records by id (Salesforce sObject Collections retrieve, <c>POST
    /// composite/sobjects/{Type}</c> with <c>ids</c> and <c>fields</c>), each value parsed exactly as
    /// <see cref="ReadBackfillPageAsync"/> parses it and aligned with <see cref="ReadRequest.Fields"/>. Ids that are
    /// not found (deleted, not readable) are left out; the order of the rest is not guaranteed. The proxy uses it to
    /// write upstream-set values (CreatedDate, SystemModstamp, defaults, formulas) back after a write.
    /// </summary>
    /// <exception cref="NotSupportedException">the connector cannot read records by id.</exception>
    Task<IReadOnlyList<SourceRecord>> ReadRecordsAsync(ReadRequest request, IReadOnlyList<string> ids, CancellationToken cancellationToken) =>
        Task.FromException<IReadOnlyList<SourceRecord>>(new NotSupportedException($"{Kind} connectors cannot read records by id"));

    /// <summary>
    /// Creates or updates a batch (as <see cref="WriteAsync"/>) and reads the written records back (as
    /// <see cref="ReadRecordsAsync"/> with <paramref name="read"/>), in as few requests as the source allows — Salesforce:
    /// ONE Composite request per chunk that chains the sObject Collections save and the retrieve of the same ids, one API
    /// call. The write is what counts: a read that fails after a successful write is reported in
    /// <see cref="WriteAndReadResult.ReadFailure"/>, never by rolling the write back or throwing. Failures of the write
    /// itself throw exactly as <see cref="WriteAsync"/> does. Deletes are refused (nothing to read back).
    /// The default writes, then reads with a second request.
    /// </summary>
    async Task<WriteAndReadResult> WriteAndReadAsync(WriteBatch batch, ReadRequest read, CancellationToken cancellationToken)
    {
        if (batch.Operation == WriteOperation.Delete)
        {
            throw new ArgumentException("a delete has nothing to read back; use WriteAsync", nameof(batch));
        }

        var results = await WriteAsync(batch, cancellationToken);
        if (results.Any(r => !r.Success) || read.Fields.Count == 0)
        {
            return new WriteAndReadResult(results, results.All(r => r.Success) ? [] : null, null);
        }

        try
        {
            var ids = results.Select(r => r.Id).OfType<string>().Distinct(StringComparer.Ordinal).ToList();
            return new WriteAndReadResult(results, await ReadRecordsAsync(read, ids, cancellationToken), null);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return new WriteAndReadResult(results, null, e is OperationCanceledException ? "the read-back did not answer in time" : e.Message);
        }
    }

    /// <summary>
    /// About how many records <paramref name="objectName"/> has now (Salesforce <c>SELECT COUNT()</c>), for backfill
    /// progress; null when the source cannot tell cheaply. Never required for correctness.
    /// </summary>
    Task<long?> EstimateCountAsync(string objectName, CancellationToken cancellationToken) => Task.FromResult<long?>(null);

    /// <summary>The account's API usage as the source last reported it (Salesforce <c>Sforce-Limit-Info</c>); null before the first call or when the source does not report it.</summary>
    ApiUsage? Usage => null;

    /// <summary>Refreshes the access token now (also done automatically on an expired session).</summary>
    /// <exception cref="SourceAuthException">the refresh token was revoked: the user must reconnect.</exception>
    Task RefreshCredentialsAsync(CancellationToken cancellationToken);
}

/// <summary>Requests used of the account's daily API allocation (Salesforce: <c>api-usage=Used/Max</c>).</summary>
public sealed record ApiUsage(long Used, long Max);

/// <summary>Batch sizes and rate limits a connector declares.</summary>
/// <param name="MaxWriteBatch">Records per write request (Salesforce 200, HubSpot 100, Airtable 10).</param>
/// <param name="MaxPageSize">Records per read page the source may return (Salesforce 2000).</param>
/// <param name="RequestsPerSecond">This connection's request budget per second.</param>
/// <param name="DailyShare">Share of the account's daily API allocation this connection may use, in (0, 1].</param>
public sealed record ConnectorLimits(int MaxWriteBatch, int MaxPageSize, double RequestsPerSecond, double DailyShare);

/// <summary>
/// Secrets and settings of a connection. <see cref="Values"/> holds source-specific entries (Salesforce:
/// <c>instance_url</c>, <c>access_token</c>, <c>refresh_token</c>, <c>client_id</c>, <c>client_secret</c>,
/// <c>login_url</c>). Stored encrypted by the platform.
/// </summary>
public sealed record SourceCredentials(IReadOnlyDictionary<string, string> Values)
{
    /// <summary>The value of <paramref name="key"/>, or null.</summary>
    public string? Get(string key) => Values.TryGetValue(key, out var v) ? v : null;

    /// <summary>A copy with <paramref name="key"/> set.</summary>
    public SourceCredentials With(string key, string value) => new(new Dictionary<string, string>(Values) { [key] = value });
}

/// <summary>Persists refreshed credentials (the platform encrypts them). Called after every successful refresh.</summary>
public interface ICredentialSink
{
    /// <summary>Stores the new credentials of the connection.</summary>
    Task SaveAsync(SourceCredentials credentials, CancellationToken cancellationToken);
}

/// <summary>Creates connectors of one kind.</summary>
public interface ISourceConnectorFactory
{
    /// <summary>Source kind served (<c>salesforce</c>).</summary>
    string Kind { get; }

    /// <summary>Batch sizes and the default per-connection budget of this kind.</summary>
    ConnectorLimits DefaultLimits { get; }

    /// <summary>A connector for one connection.</summary>
    /// <param name="credentials">Decrypted credentials.</param>
    /// <param name="sink">Where refreshed credentials go.</param>
    /// <param name="limits">Overrides of the default budget; null keeps the defaults.</param>
    /// <param name="connectionId">
    /// The connection the connector serves. Every connector created for one connection (one per sync, the proxy's
    /// writer, the control plane's discovery) shares that connection's request budget, so the configured
    /// requests/second and daily share hold for the connection as a whole. Null: a budget of the connector's own.
    /// </param>
    ISourceConnector Create(SourceCredentials credentials, ICredentialSink sink, ConnectorLimits? limits = null, Guid? connectionId = null);
}
