using Sequin.Sandbox.Salesforce.Schema;

namespace Sequin.Sandbox.Salesforce.Store;

/// <summary>
/// One version of a record. Immutable: a write replaces the whole instance, so a query that captured
/// a reference keeps a consistent row while writers move on (the same idea as an MVCC tuple).
/// Values are boxed per slot (<see cref="FieldDef.Ordinal"/>): string, bool, int, double,
/// <see cref="DateOnly"/> or UTC <see cref="DateTime"/> at millisecond precision.
/// </summary>
internal sealed class Record(ObjectDef type, object?[] values, bool isDeleted, DateTime? deletedDate)
{
    public ObjectDef Type { get; } = type;

    public object?[] Values { get; } = values;

    public bool IsDeleted { get; } = isDeleted;

    /// <summary>When the record went to the recycle bin (the getDeleted <c>deletedDate</c>).</summary>
    public DateTime? DeletedDate { get; } = deletedDate;

    public string Id => (string)Values[0]!;

    public DateTime SystemModstamp => (DateTime)Values[Type.SystemModstamp.Ordinal]!;

    public object? Get(FieldDef field) => field.Ordinal >= 0 ? Values[field.Ordinal] : null;
}
