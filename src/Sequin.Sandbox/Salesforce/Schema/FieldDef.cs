using System.Text.Json;

namespace Sequin.Sandbox.Salesforce.Schema;

/// <summary>
/// One field of an sObject: the describe metadata plus the slot the value lives in. Immutable once
/// the object is built, so the hot query path reads it without locks.
/// </summary>
internal sealed class FieldDef
{
    public required string Name { get; init; }
    public required string Label { get; init; }
    public required FieldType Type { get; init; }
    public int Length { get; init; }
    public int Precision { get; init; }
    public int Scale { get; init; }
    public int Digits { get; init; }
    public bool Nillable { get; init; } = true;
    public bool Createable { get; init; } = true;
    public bool Updateable { get; init; } = true;
    public bool DefaultedOnCreate { get; init; }
    public bool Unique { get; init; }
    public bool ExternalId { get; init; }
    public bool IdLookup { get; init; }
    public bool Calculated { get; init; }
    public bool Custom { get; init; }
    public bool NameField { get; init; }
    public bool Filterable { get; init; } = true;
    public bool Sortable { get; init; } = true;
    public IReadOnlyList<string> ReferenceTo { get; init; } = [];
    public string? RelationshipName { get; init; }
    public IReadOnlyList<string> PicklistValues { get; init; } = [];
    public string? DefaultPicklistValue { get; init; }
    public bool RestrictedPicklist { get; init; }
    public string? CompoundFieldName { get; init; }

    /// <summary>For an address field: the prefix of its components (<c>Mailing</c>, or empty).</summary>
    public string? AddressPrefix { get; init; }

    /// <summary>Index of the value in <see cref="Store.Record.Values"/>; -1 for compound fields.</summary>
    public int Ordinal { get; set; } = -1;

    /// <summary>Component fields of a compound address, resolved when the object is built.</summary>
    public AddressComponents? Address { get; set; }

    public ValueKind Kind => Type.Kind();

    /// <summary>The property name, pre-escaped once for Utf8JsonWriter.</summary>
    public JsonEncodedText JsonName => _jsonName ??= JsonEncodedText.Encode(Name);

    private JsonEncodedText? _jsonName;

    /// <summary>Required on create: what REQUIRED_FIELD_MISSING checks.</summary>
    public bool Required => !Nillable && Createable && !DefaultedOnCreate && Type != FieldType.Boolean;
}

/// <summary>The component slots of a compound address field.</summary>
internal sealed record AddressComponents(
    FieldDef Street, FieldDef City, FieldDef State, FieldDef PostalCode, FieldDef Country,
    FieldDef Latitude, FieldDef Longitude, FieldDef GeocodeAccuracy);
