namespace Sequin.Sandbox.Salesforce.Schema;

/// <summary>
/// An sObject type: describe metadata plus the field catalogue with slot ordinals. Built once per
/// sandbox (standard objects plus the custom objects declared in options) and shared by all orgs; a field
/// type change gives the org a new definition (<see cref="WithField"/>), never edits a shared one.
/// </summary>
internal sealed class ObjectDef
{
    private readonly Dictionary<string, FieldDef> _byName;

    public ObjectDef(string name, string label, string labelPlural, string keyPrefix, bool custom,
        bool createable, bool deletable, IReadOnlyList<FieldDef> fields)
    {
        Name = name;
        Label = label;
        LabelPlural = labelPlural;
        KeyPrefix = keyPrefix;
        Custom = custom;
        Createable = createable;
        Deletable = deletable;
        Fields = fields;
        _byName = new Dictionary<string, FieldDef>(StringComparer.OrdinalIgnoreCase);
        var slot = 0;
        foreach (var field in fields)
        {
            _byName.Add(field.Name, field);
            if (field.Kind != ValueKind.None)
            {
                field.Ordinal = slot++;
            }
        }
        SlotCount = slot;
        foreach (var field in fields)
        {
            if (field.Type == FieldType.Address)
            {
                var p = field.AddressPrefix ?? string.Empty;
                field.Address = new AddressComponents(
                    _byName[p + "Street"], _byName[p + "City"], _byName[p + "State"], _byName[p + "PostalCode"],
                    _byName[p + "Country"], _byName[p + "Latitude"], _byName[p + "Longitude"], _byName[p + "GeocodeAccuracy"]);
            }
        }
        Id = _byName["Id"];
        IsDeleted = _byName.GetValueOrDefault("IsDeleted");
        CreatedDate = _byName["CreatedDate"];
        CreatedById = _byName["CreatedById"];
        LastModifiedDate = _byName["LastModifiedDate"];
        LastModifiedById = _byName["LastModifiedById"];
        SystemModstamp = _byName["SystemModstamp"];
        OwnerId = _byName.GetValueOrDefault("OwnerId");
        NameField = fields.FirstOrDefault(f => f.NameField);
    }

    public string Name { get; }
    public string Label { get; }
    public string LabelPlural { get; }
    public string KeyPrefix { get; }
    public bool Custom { get; }
    public bool Createable { get; }
    public bool Deletable { get; }
    public IReadOnlyList<FieldDef> Fields { get; }
    public int SlotCount { get; }

    public FieldDef Id { get; }
    public FieldDef? IsDeleted { get; }
    public FieldDef CreatedDate { get; }
    public FieldDef CreatedById { get; }
    public FieldDef LastModifiedDate { get; }
    public FieldDef LastModifiedById { get; }
    public FieldDef SystemModstamp { get; }
    public FieldDef? OwnerId { get; }
    public FieldDef? NameField { get; }

    public FieldDef? FindField(string name) => _byName.GetValueOrDefault(name);

    /// <summary>
    /// This object with <paramref name="replacement"/> in place of the field of the same name. The replacement
    /// stores a value too, so every field keeps its slot and records convert slot by slot.
    /// </summary>
    public ObjectDef WithField(FieldDef replacement) => new(Name, Label, LabelPlural, KeyPrefix, Custom, Createable, Deletable,
        [.. Fields.Select(f => f.Name.Equals(replacement.Name, StringComparison.OrdinalIgnoreCase) ? replacement : f)]);

    public FieldDef? FindField(ReadOnlySpan<char> name) =>
        _byName.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(name, out var field) ? field : null;
}
