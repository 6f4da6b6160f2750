namespace Sequin.Sandbox.Salesforce.Schema;

/// <summary>
/// A small DSL for declaring sObjects with realistic describe metadata. System fields (Id, IsDeleted,
/// audit fields, SystemModstamp, OwnerId) are added the way Salesforce adds them.
/// </summary>
internal sealed class ObjectBuilder
{
    private readonly List<FieldDef> _fields = [];
    private readonly string _name;
    private readonly string _label;
    private readonly string _labelPlural;
    private readonly string _keyPrefix;
    private readonly bool _custom;
    private bool _createable = true;
    private bool _deletable = true;

    public ObjectBuilder(string name, string label, string labelPlural, string keyPrefix, bool custom = false,
        bool hasIsDeleted = true)
    {
        _name = name;
        _label = label;
        _labelPlural = labelPlural;
        _keyPrefix = keyPrefix;
        _custom = custom;
        Add(new FieldDef
        {
            Name = "Id", Label = $"{label} ID", Type = FieldType.Id, Length = 18, Nillable = false,
            Createable = false, Updateable = false, DefaultedOnCreate = true, IdLookup = true,
        });
        if (hasIsDeleted)
        {
            Add(new FieldDef
            {
                Name = "IsDeleted", Label = "Deleted", Type = FieldType.Boolean, Nillable = false,
                Createable = false, Updateable = false, DefaultedOnCreate = true,
            });
        }
    }

    public ObjectBuilder NotDeletable()
    {
        _deletable = false;
        return this;
    }

    public ObjectBuilder NotCreateable()
    {
        _createable = false;
        return this;
    }

    /// <summary>Lets configuration append custom (<c>__c</c>) fields before the audit fields.</summary>
    public ObjectBuilder Extend(Action<ObjectBuilder>? extend)
    {
        extend?.Invoke(this);
        return this;
    }

    public ObjectBuilder Add(FieldDef field)
    {
        _fields.Add(field);
        return this;
    }

    public ObjectBuilder Text(string name, string label, int length, bool required = false, bool nameField = false,
        FieldType type = FieldType.String, bool unique = false, bool externalId = false, bool custom = false) =>
        Add(new FieldDef
        {
            Name = name, Label = label, Type = type, Length = length, Nillable = !required, NameField = nameField,
            IdLookup = nameField || unique || externalId || type == FieldType.Email, Unique = unique,
            ExternalId = externalId, Custom = custom,
            Filterable = type != FieldType.TextArea || length <= 255, Sortable = type != FieldType.TextArea || length <= 255,
        });

    /// <summary>A compound-name field such as Contact.Name: read-only, assembled from its parts.</summary>
    public ObjectBuilder ComputedName(string label, int length) =>
        Add(new FieldDef
        {
            Name = "Name", Label = label, Type = FieldType.String, Length = length, Nillable = true,
            Createable = false, Updateable = false, NameField = true, IdLookup = true,
        });

    public ObjectBuilder Picklist(string name, string label, string[] values, bool required = false,
        string? defaultValue = null, bool restricted = true, bool multi = false, bool custom = false) =>
        Add(new FieldDef
        {
            Name = name, Label = label, Type = multi ? FieldType.MultiPicklist : FieldType.Picklist,
            Length = multi ? 4099 : 255, Nillable = !required, DefaultedOnCreate = defaultValue is not null,
            PicklistValues = values, DefaultPicklistValue = defaultValue, RestrictedPicklist = restricted,
            Custom = custom,
        });

    public ObjectBuilder Boolean(string name, string label, bool createable = true, bool custom = false) =>
        Add(new FieldDef
        {
            Name = name, Label = label, Type = FieldType.Boolean, Nillable = false, DefaultedOnCreate = true,
            Createable = createable, Updateable = createable, Custom = custom,
        });

    public ObjectBuilder Number(string name, string label, FieldType type, int precision, int scale,
        bool createable = true, bool required = false, bool custom = false) =>
        Add(new FieldDef
        {
            Name = name, Label = label, Type = type, Precision = type == FieldType.Int ? 0 : precision,
            Scale = type == FieldType.Int ? 0 : scale, Digits = type == FieldType.Int ? precision : 0,
            Createable = createable, Updateable = createable, Nillable = !required, Custom = custom,
        });

    public ObjectBuilder Date(string name, string label, bool createable = true, bool required = false,
        FieldType type = FieldType.Date, bool custom = false) =>
        Add(new FieldDef
        {
            Name = name, Label = label, Type = type, Createable = createable, Updateable = createable,
            Nillable = !required, Custom = custom,
        });

    public ObjectBuilder Reference(string name, string label, string target, string? relationshipName,
        bool createable = true, bool updateable = true, bool required = false, bool custom = false) =>
        Add(new FieldDef
        {
            Name = name, Label = label, Type = FieldType.Reference, Length = 18, ReferenceTo = [target],
            RelationshipName = relationshipName, Createable = createable, Updateable = updateable,
            Nillable = !required, Custom = custom,
        });

    /// <summary>
    /// A compound address: the component fields (Street, City, ...) plus the read-only
    /// <c>{Prefix}Address</c> field of type address that clients receive as one JSON object.
    /// </summary>
    public ObjectBuilder Address(string prefix, string labelPrefix)
    {
        var compound = prefix + "Address";
        string L(string s) => labelPrefix.Length == 0 ? s : $"{labelPrefix} {s}";
        Add(new FieldDef { Name = prefix + "Street", Label = L("Street"), Type = FieldType.TextArea, Length = 255, CompoundFieldName = compound });
        Add(new FieldDef { Name = prefix + "City", Label = L("City"), Type = FieldType.String, Length = 40, CompoundFieldName = compound });
        Add(new FieldDef { Name = prefix + "State", Label = L("State/Province"), Type = FieldType.String, Length = 80, CompoundFieldName = compound });
        Add(new FieldDef { Name = prefix + "PostalCode", Label = L("Zip/Postal Code"), Type = FieldType.String, Length = 20, CompoundFieldName = compound });
        Add(new FieldDef { Name = prefix + "Country", Label = L("Country"), Type = FieldType.String, Length = 80, CompoundFieldName = compound });
        Add(new FieldDef { Name = prefix + "Latitude", Label = L("Latitude"), Type = FieldType.Double, Precision = 18, Scale = 15, CompoundFieldName = compound });
        Add(new FieldDef { Name = prefix + "Longitude", Label = L("Longitude"), Type = FieldType.Double, Precision = 18, Scale = 15, CompoundFieldName = compound });
        Add(new FieldDef
        {
            Name = prefix + "GeocodeAccuracy", Label = L("Geocode Accuracy"), Type = FieldType.Picklist, Length = 40,
            PicklistValues = ["Address", "NearAddress", "Block", "Street", "ExtendedZip", "Zip", "Neighborhood", "City", "County", "State", "Unknown"],
            RestrictedPicklist = true, CompoundFieldName = compound,
        });
        return Add(new FieldDef
        {
            Name = compound, Label = L("Address"), Type = FieldType.Address, Createable = false, Updateable = false,
            Filterable = false, Sortable = false, AddressPrefix = prefix,
        });
    }

    /// <summary>Appends the audit fields, SystemModstamp and (optionally) OwnerId, then builds.</summary>
    public ObjectDef Build(bool hasOwner = true)
    {
        if (hasOwner)
        {
            Reference("OwnerId", "Owner ID", "User", "Owner");
            // OwnerId defaults to the running user, so it is not required on create.
            var owner = _fields[^1];
            _fields[^1] = new FieldDef
            {
                Name = owner.Name, Label = owner.Label, Type = owner.Type, Length = 18, ReferenceTo = owner.ReferenceTo,
                RelationshipName = owner.RelationshipName, Nillable = false, DefaultedOnCreate = true,
            };
        }
        Add(new FieldDef { Name = "CreatedDate", Label = "Created Date", Type = FieldType.DateTime, Nillable = false, Createable = false, Updateable = false, DefaultedOnCreate = true });
        Add(new FieldDef { Name = "CreatedById", Label = "Created By ID", Type = FieldType.Reference, Length = 18, ReferenceTo = ["User"], RelationshipName = "CreatedBy", Nillable = false, Createable = false, Updateable = false, DefaultedOnCreate = true });
        Add(new FieldDef { Name = "LastModifiedDate", Label = "Last Modified Date", Type = FieldType.DateTime, Nillable = false, Createable = false, Updateable = false, DefaultedOnCreate = true });
        Add(new FieldDef { Name = "LastModifiedById", Label = "Last Modified By ID", Type = FieldType.Reference, Length = 18, ReferenceTo = ["User"], RelationshipName = "LastModifiedBy", Nillable = false, Createable = false, Updateable = false, DefaultedOnCreate = true });
        Add(new FieldDef { Name = "SystemModstamp", Label = "System Modstamp", Type = FieldType.DateTime, Nillable = false, Createable = false, Updateable = false, DefaultedOnCreate = true });
        return new ObjectDef(_name, _label, _labelPlural, _keyPrefix, _custom, _createable, _deletable, _fields);
    }
}
