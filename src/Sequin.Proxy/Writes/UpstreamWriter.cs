using System.Text.Json;

namespace Sequin.Proxy.Writes;

/// <summary>Kind of change captured from a synced table.</summary>
public enum UpstreamOperation
{
    Insert,
    Update,
    Delete,
}

/// <summary>
/// A synced table as the proxy sees it in the catalog (ADR 0007): schema, table, and — from the JSON comments —
/// the source, upstream object and the upstream field of each column (empty when a column has no comment).
/// </summary>
public sealed record SyncedTable(
    uint Oid,
    string Schema,
    string Name,
    string? Source,
    string? ObjectName,
    IReadOnlyDictionary<string, string> ColumnFields)
{
    /// <summary>The sync the table belongs to (<c>sync_id</c> of the table comment), which names the connection to write through.</summary>
    public string? SyncId { get; init; }

    /// <summary>Column name of each attribute number (<c>pg_attribute.attnum</c>), to map RowDescription fields to columns.</summary>
    internal IReadOnlyDictionary<short, string> Attributes { get; init; } = new Dictionary<short, string>();
}

/// <summary>
/// One row Postgres changed: the row before (<see cref="Old"/>, UPDATE/DELETE) and after (<see cref="New"/>,
/// INSERT/UPDATE) as <c>to_jsonb(row)</c> objects keyed by column name. New rows carry the temporary id
/// <c>_sequin_tmp_…</c> until the upstream assigns one.
/// </summary>
public sealed record CapturedRow(JsonElement? Old, JsonElement? New)
{
    /// <summary>The row's <c>id</c> (new row first).</summary>
    public string? Id => (New ?? Old) is { } row && row.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String ? id.GetString() : null;

    /// <summary>Columns whose value differs between <see cref="Old"/> and <see cref="New"/> (all of New for inserts).</summary>
    public IEnumerable<string> ChangedColumns()
    {
        if (New is not { } n)
        {
            yield break;
        }

        foreach (var p in n.EnumerateObject())
        {
            if (Old is not { } o || !o.TryGetProperty(p.Name, out var before) || before.GetRawText() != p.Value.GetRawText())
            {
                yield return p.Name;
            }
        }
    }
}

/// <summary>All rows of one statement for one table and one operation, in capture order.</summary>
public sealed record UpstreamWriteBatch(SyncedTable Table, UpstreamOperation Operation, IReadOnlyList<CapturedRow> Rows);

/// <summary>Result for one row, in batch order: the upstream id (assigned for inserts).</summary>
public sealed record UpstreamRowResult(string Id);

/// <summary>
/// A record as the upstream holds it right after a write, for the write-back (docs/proxy.md "Upstream-set values").
/// <see cref="Columns"/> is a JSON object keyed by synced column name (never <c>id</c>) whose values are what the
/// sync would store, in the form Postgres's <c>jsonb_populate_record</c> turns into the column's type: strings for
/// text, dates (<c>2024-05-01</c>), timestamps (ISO 8601 with offset) and times; numbers; booleans; arrays for
/// <c>text[]</c>; any JSON for <c>jsonb</c>; null. Columns left out are not written.
/// </summary>
public sealed record UpstreamRecord(string Id, JsonElement Columns);

/// <summary>Cause of a rejection; decides the SQLSTATE (docs/proxy.md has the table).</summary>
public enum UpstreamErrorKind
{
    /// <summary>23514 check_violation: a validation rule or invalid value (Salesforce FIELD_CUSTOM_VALIDATION_EXCEPTION, INVALID_EMAIL_ADDRESS).</summary>
    Validation,

    /// <summary>23502 not_null_violation: REQUIRED_FIELD_MISSING.</summary>
    RequiredField,

    /// <summary>23505 unique_violation: DUPLICATE_VALUE.</summary>
    Duplicate,

    /// <summary>22001 string_data_right_truncation: STRING_TOO_LONG.</summary>
    TooLong,

    /// <summary>54000 program_limit_exceeded: more rows than one API request takes.</summary>
    BatchLimit,

    /// <summary>08006 connection_failure: the API could not be reached or answered 5xx.</summary>
    Unavailable,

    /// <summary>57014 query_canceled: the API did not answer in time.</summary>
    Timeout,

    /// <summary>42501 insufficient_privilege: INSUFFICIENT_ACCESS_OR_READONLY, expired token.</summary>
    Permission,

    /// <summary>XX000: anything else the upstream said no to.</summary>
    Other,
}

/// <summary>
/// The upstream refused the batch (allOrNone: nothing was applied). <see cref="Column"/> is the synced column the
/// error is about (mapped back from the upstream field) and <see cref="Value"/> its offending value, when known.
/// </summary>
public sealed record UpstreamRejection(
    UpstreamErrorKind Kind,
    string Code,
    string Message,
    string? Column = null,
    string? Value = null,
    int? RowIndex = null,
    string? Detail = null);

/// <summary>Either per-row results (accepted) or a rejection.</summary>
public sealed record UpstreamWriteResult(IReadOnlyList<UpstreamRowResult>? Rows, UpstreamRejection? Rejection)
{
    public static UpstreamWriteResult Accepted(IReadOnlyList<UpstreamRowResult> rows) => new(rows, null);

    public static UpstreamWriteResult Rejected(UpstreamRejection rejection) => new(null, rejection);
}

/// <summary>
/// The proxy's seam to the connectors: applies one statement's captured rows of one table and operation
/// upstream, all or nothing (Salesforce: <c>composite/sobjects</c> with allOrNone). Implemented by an adapter over
/// the sync engine's connector write; tests use an in-memory writer.
/// </summary>
public interface IUpstreamWriter
{
    /// <summary>Display name of the source, used in error messages: <c>[Salesforce] validation error: …</c>.</summary>
    string SourceDisplayName(SyncedTable table);

    /// <summary>Most rows one request may carry for this table (Salesforce: 200); larger batches are refused before any call.</summary>
    int MaxBatchSize(SyncedTable table);

    /// <summary>Applies the batch; returns one result per row in order, or a rejection. Throws only on cancellation.</summary>
    Task<UpstreamWriteResult> ApplyAsync(UpstreamWriteBatch batch, CancellationToken cancellationToken);

    /// <summary>
    /// Reads records of <paramref name="table"/> just written by <see cref="ApplyAsync"/> back from the upstream (one
    /// request for up to the batch size; Salesforce sObject Collections retrieve), with every synced column's value as
    /// the sync would store it. Ids not found are left out. Any exception means "no values": the proxy then commits
    /// what it has and warns (the upstream write already persisted).
    /// </summary>
    Task<IReadOnlyList<UpstreamRecord>> ReadBackAsync(SyncedTable table, IReadOnlyList<string> ids, CancellationToken cancellationToken);

    /// <summary>
    /// <see cref="ApplyAsync"/> and <see cref="ReadBackAsync"/> of the written rows together, for inserts and updates —
    /// one upstream request where the source allows it (Salesforce: one Composite request, ADR 0013). A read-back that
    /// fails after an accepted write is reported in <see cref="UpstreamWriteAndRead.ReadBackFailure"/>, never as a
    /// rejection: the write persisted. Throws only on cancellation of the write. The default calls the two in turn.
    /// </summary>
    async Task<UpstreamWriteAndRead> ApplyAndReadBackAsync(UpstreamWriteBatch batch, CancellationToken cancellationToken)
    {
        var write = await ApplyAsync(batch, cancellationToken);
        if (write.Rejection is not null || batch.Operation == UpstreamOperation.Delete || write.Rows is not { Count: > 0 } rows)
        {
            return new UpstreamWriteAndRead(write, []);
        }

        try
        {
            var ids = rows.Select(r => r.Id).Distinct(StringComparer.Ordinal).ToList();
            return new UpstreamWriteAndRead(write, await ReadBackAsync(batch.Table, ids, cancellationToken));
        }
        catch (Exception e)
        {
            // The write persisted whatever happens here (a timeout included): keep its result, report the read.
            return new UpstreamWriteAndRead(write, [], e is OperationCanceledException ? "no answer in time" : e.Message);
        }
    }
}

/// <summary>
/// Outcome of <see cref="IUpstreamWriter.ApplyAndReadBackAsync"/>: the write's result and, when it was accepted, the
/// records read back (empty when nothing could be read) or why they could not be (<see cref="ReadBackFailure"/>).
/// </summary>
public sealed record UpstreamWriteAndRead(UpstreamWriteResult Write, IReadOnlyList<UpstreamRecord> Records, string? ReadBackFailure = null);

/// <summary>Default writer until a connector adapter is registered: every write is refused with 08006.</summary>
internal sealed class UnconfiguredUpstreamWriter : IUpstreamWriter
{
    public string SourceDisplayName(SyncedTable table) => table.Source is { Length: > 0 } s ? char.ToUpperInvariant(s[0]) + s[1..] : "Sequin";

    public int MaxBatchSize(SyncedTable table) => 200;

    public Task<UpstreamWriteResult> ApplyAsync(UpstreamWriteBatch batch, CancellationToken cancellationToken) =>
        Task.FromResult(UpstreamWriteResult.Rejected(new UpstreamRejection(UpstreamErrorKind.Unavailable, "NO_CONNECTOR",
            "no connector is configured for writes to this table")));

    public Task<IReadOnlyList<UpstreamRecord>> ReadBackAsync(SyncedTable table, IReadOnlyList<string> ids, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<UpstreamRecord>>([]);
}
