using Sequin.Sandbox.Salesforce.Json;

namespace Sequin.Sandbox.Salesforce.Writes;

/// <summary>The outcome of one record write (a SaveResult / DeleteResult in Salesforce terms).</summary>
internal sealed record SaveResult(string? Id, IReadOnlyList<SalesforceError> Errors)
{
    public bool Success => Errors.Count == 0;

    public static SaveResult Ok(string id) => new(id, []);

    public static SaveResult Fail(string? id, params SalesforceError[] errors) => new(id, errors);

    /// <summary>The error every valid record of a failed allOrNone batch carries.</summary>
    public static readonly SalesforceError RolledBack = new("ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "Record rolled back because not all records were valid and the request was using AllOrNone header", []);
}
