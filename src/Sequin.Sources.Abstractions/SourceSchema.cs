namespace Sequin.Sources;

/// <summary>
/// The Postgres shape a source field is stored as. Every connector maps its own field types onto these
/// (Salesforce: docs/sync.md "Type mapping"); anything a connector does not recognise is <see cref="Text"/>,
/// never an error.
/// </summary>
public enum FieldKind
{
    /// <summary><c>text</c>: ids, references, the string family, unknown types.</summary>
    Text,

    /// <summary><c>text[]</c>: multi-select values (Salesforce multipicklist, split on <c>;</c>).</summary>
    TextArray,

    /// <summary><c>boolean</c>.</summary>
    Boolean,

    /// <summary><c>integer</c> (32-bit).</summary>
    Integer,

    /// <summary><c>bigint</c> (64-bit).</summary>
    BigInt,

    /// <summary><c>numeric</c>: doubles, currency, percent — exact decimal text from the wire, no float rounding.</summary>
    Numeric,

    /// <summary><c>date</c>.</summary>
    Date,

    /// <summary><c>timestamptz</c> (UTC).</summary>
    Timestamp,

    /// <summary><c>time</c> (without time zone).</summary>
    Time,

    /// <summary><c>jsonb</c>: compound values (address, location) and anything structured.</summary>
    Json,
}

/// <summary>An object (table) the source offers, from the source's catalog (Salesforce describeGlobal).</summary>
/// <param name="Name">API name, e.g. <c>Contact</c>, <c>OpportunityLineItem</c>, <c>Invoice__c</c>.</param>
/// <param name="Label">Human label.</param>
/// <param name="Syncable">Whether the connector can backfill and follow it (Salesforce: queryable and replicateable).</param>
/// <param name="Writable">Whether the connector can create/update/delete its records.</param>
public sealed record SourceObjectInfo(string Name, string Label, bool Syncable, bool Writable);

/// <summary>One field of an object, from the source's describe call.</summary>
/// <param name="Name">API name, e.g. <c>FirstName</c>, <c>AccountId</c>.</param>
/// <param name="SourceType">The source's own type name (Salesforce describe <c>type</c>: <c>string</c>, <c>reference</c>, ...).</param>
/// <param name="Kind">Postgres shape the value is stored as.</param>
/// <param name="IsReference">A reference to another object's id: gets an index, never a foreign key.</param>
/// <param name="Createable">Accepted on create.</param>
/// <param name="Updateable">Accepted on update.</param>
public sealed record SourceField(string Name, string SourceType, FieldKind Kind, bool IsReference, bool Createable, bool Updateable);

/// <summary>An object with its fields (Salesforce describe).</summary>
/// <param name="Name">API name.</param>
/// <param name="IdField">Field holding the upstream id (<c>Id</c>); stored in the <c>id</c> column.</param>
/// <param name="VersionField">
/// Field that moves on every change of a record (Salesforce <c>SystemModstamp</c>), or null when the source has
/// none. The sync engine always selects it and never lets an older version overwrite a newer one.
/// </param>
/// <param name="Fields">Every field the connector can read, in the source's order.</param>
public sealed record SourceObject(string Name, string IdField, string? VersionField, IReadOnlyList<SourceField> Fields)
{
    /// <summary>The field named <paramref name="name"/> (case-insensitive), or null.</summary>
    public SourceField? Find(string name) => Fields.FirstOrDefault(f => string.Equals(f.Name, name, StringComparison.OrdinalIgnoreCase));
}
