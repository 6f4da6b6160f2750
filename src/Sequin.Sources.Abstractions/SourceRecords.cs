namespace Sequin.Sources;

/// <summary>
/// One record read from the source. <see cref="Values"/> is aligned with the field list of the request that read
/// it, each value already converted to the CLR type of the field's <see cref="FieldKind"/>:
/// Text → <see cref="string"/>, TextArray → <see cref="string"/>[], Boolean → <see cref="bool"/>,
/// Integer → <see cref="int"/>, BigInt → <see cref="long"/>, Numeric → <see cref="decimal"/>,
/// Date → <see cref="DateOnly"/>, Timestamp → <see cref="DateTime"/> (UTC), Time → <see cref="TimeOnly"/>,
/// Json → <see cref="string"/> (JSON text); null for an empty value.
/// </summary>
/// <param name="Id">Upstream id.</param>
/// <param name="Values">Field values, aligned with the requested fields.</param>
/// <param name="Version">Value of the object's version field (UTC), when it has one.</param>
public sealed record SourceRecord(string Id, object?[] Values, DateTime? Version);

/// <summary>A value that did not fit its declared type: it is stored as null and reported, never fatal.</summary>
/// <param name="RecordId">Upstream id of the record.</param>
/// <param name="Field">Field name.</param>
/// <param name="Value">The raw value as received (truncated to 200 characters).</param>
/// <param name="Expected">The kind it should have had.</param>
public sealed record ValueMisfit(string RecordId, string Field, string Value, FieldKind Expected)
{
    /// <inheritdoc />
    public override string ToString() => $"{Field} of {RecordId}: value '{Value}' does not fit {Expected}; stored null";
}

/// <summary>Which records to read: the object and the fields (the id and version fields are always included).</summary>
/// <param name="Object">Object API name.</param>
/// <param name="Fields">Selected fields, in column order; values come back aligned with this list.</param>
public sealed record ReadRequest(string Object, IReadOnlyList<SourceField> Fields);

/// <summary>
/// A page of a backfill. <see cref="NextCursor"/> is opaque to the engine and is committed together with the
/// page's rows; reading again from it must continue right after this page, also in a new process.
/// </summary>
/// <param name="Records">Records of the page, in the source's backfill order.</param>
/// <param name="NextCursor">Where the next page starts.</param>
/// <param name="Done">No more pages: <see cref="ChangeCursor"/> is set.</param>
/// <param name="ChangeCursor">
/// Cursor for <see cref="ISourceConnector.ReadChangesAsync"/> that covers every change made since the backfill
/// began (the connector picks it when the backfill starts), so nothing changed during the backfill is missed.
/// </param>
/// <param name="Misfits">Values that did not fit their type (stored as null).</param>
public sealed record BackfillPage(IReadOnlyList<SourceRecord> Records, string NextCursor, bool Done, string? ChangeCursor,
    IReadOnlyList<ValueMisfit> Misfits);

/// <summary>A page of changes since a cursor.</summary>
/// <param name="Upserts">Created or updated records (the current state), oldest change first.</param>
/// <param name="Deletes">Ids of deleted records.</param>
/// <param name="NextCursor">Cursor after this page; committed with the page.</param>
/// <param name="HasMore">More changes are ready now: read again without waiting for the poll interval.</param>
/// <param name="Misfits">Values that did not fit their type (stored as null).</param>
public sealed record ChangePage(IReadOnlyList<SourceRecord> Upserts, IReadOnlyList<string> Deletes, string NextCursor, bool HasMore,
    IReadOnlyList<ValueMisfit> Misfits);

/// <summary>Operation of a <see cref="WriteBatch"/>.</summary>
public enum WriteOperation
{
    /// <summary>Create records; the source assigns ids.</summary>
    Create,

    /// <summary>Update records by id (only the given fields change).</summary>
    Update,

    /// <summary>Delete records by id.</summary>
    Delete,
}

/// <summary>One record to write: field values by API name (for a delete, only <see cref="Id"/>).</summary>
/// <param name="Id">Upstream id (null for a create).</param>
/// <param name="Fields">Field API name → value (CLR types as in <see cref="SourceRecord"/>; null clears the field).</param>
public sealed record WriteRecord(string? Id, IReadOnlyDictionary<string, object?> Fields);

/// <summary>
/// A batch of one operation on one object, applied all-or-nothing when the source supports it (Salesforce
/// allOrNone). Larger batches than <see cref="ConnectorLimits.MaxWriteBatch"/> are split by the connector, and then
/// only each chunk is atomic.
/// </summary>
public sealed record WriteBatch(string Object, WriteOperation Operation, IReadOnlyList<WriteRecord> Records);

/// <summary>A source error about one record or field, in the source's own terms.</summary>
/// <param name="Code">Source status code, e.g. <c>REQUIRED_FIELD_MISSING</c>, <c>ALL_OR_NONE_OPERATION_ROLLED_BACK</c>.</param>
/// <param name="Message">Source message.</param>
/// <param name="Fields">Fields the error is about.</param>
public sealed record WriteError(string Code, string Message, IReadOnlyList<string> Fields);

/// <summary>Result of one record of a <see cref="WriteBatch"/>, in input order.</summary>
/// <param name="Id">Upstream id (assigned by the source on create).</param>
/// <param name="Success">Whether the record was written.</param>
/// <param name="Errors">Why not (empty on success).</param>
public sealed record WriteResult(string? Id, bool Success, IReadOnlyList<WriteError> Errors);

/// <summary>
/// Outcome of <see cref="ISourceConnector.WriteAndReadAsync"/>: one <see cref="WriteResult"/> per input record, in
/// input order, and — when every record was written — the written records as the source now holds them
/// (<see cref="Records"/>, parsed as <see cref="ISourceConnector.ReadRecordsAsync"/> parses them). When the write
/// succeeded but the read failed, <see cref="Records"/> is null and <see cref="ReadFailure"/> says why; the write
/// stands either way.
/// </summary>
public sealed record WriteAndReadResult(IReadOnlyList<WriteResult> Results, IReadOnlyList<SourceRecord>? Records, string? ReadFailure);
