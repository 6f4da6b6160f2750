using Sequin.Sandbox.Salesforce.Schema;
using Sequin.Sandbox.Salesforce.Soql;

namespace Sequin.Sandbox.Salesforce.Store;

/// <summary>
/// The result of a query kept for <c>nextRecordsUrl</c> locators. Rows are immutable record
/// versions captured when the query ran, so paging sees one consistent result even while writers
/// continue (Salesforce cursors behave the same way).
/// </summary>
internal sealed class QueryCursor(string id, ObjectDef type, Record[] rows, ProjectionItem[] projection, DateTime createdAt)
{
    /// <summary>Salesforce drops idle query cursors after 15 minutes.</summary>
    public static readonly TimeSpan IdleLifetime = TimeSpan.FromMinutes(15);

    public string Id { get; } = id;
    public ObjectDef Type { get; } = type;
    public Record[] Rows { get; } = rows;
    public ProjectionItem[] Projection { get; } = projection;
    public DateTime LastUsed { get; set; } = createdAt;
}
