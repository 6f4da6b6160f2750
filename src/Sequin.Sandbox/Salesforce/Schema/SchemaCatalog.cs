using Sequin.Sandbox.Salesforce.Ids;

namespace Sequin.Sandbox.Salesforce.Schema;

/// <summary>
/// Every sObject type of the sandbox, by name (case-insensitive) and by key prefix. Built once from
/// the standard objects and <see cref="SalesforceSandboxOptions.CustomObjects"/>; an org whose schema
/// changes (a field's type) gets its own copy from <see cref="With"/>.
/// </summary>
internal sealed class SchemaCatalog
{
    private readonly Dictionary<string, ObjectDef> _byName = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, ObjectDef> _byPrefix = new(StringComparer.Ordinal);

    public SchemaCatalog(IEnumerable<SandboxCustomObject> customObjects)
    {
        var custom = customObjects.ToList();
        Action<ObjectBuilder>? ExtensionFor(string standard)
        {
            var extra = custom.Where(c => c.Name.Equals(standard, StringComparison.OrdinalIgnoreCase)).ToList();
            return extra.Count == 0 ? null : b => extra.ForEach(c => AddCustomFields(b, c));
        }
        Add(StandardObjects.Account(ExtensionFor("Account")));
        Add(StandardObjects.Contact(ExtensionFor("Contact")));
        Add(StandardObjects.Opportunity(ExtensionFor("Opportunity")));
        Add(StandardObjects.Lead(ExtensionFor("Lead")));
        Add(StandardObjects.User(ExtensionFor("User")));
        var next = 1;
        foreach (var declaration in custom.Where(c => !_byName.ContainsKey(c.Name)))
        {
            if (!declaration.Name.EndsWith("__c", StringComparison.Ordinal))
            {
                throw new InvalidOperationException(
                    $"Custom object '{declaration.Name}' must end in __c (or name a standard object to extend).");
            }
            var label = declaration.Label ?? declaration.Name[..^3].Replace('_', ' ');
            // Custom object key prefixes are a01, a02, ... in creation order, as in a fresh org.
            var prefix = "a" + SalesforceId.ToBase62(next++, 2);
            var builder = new ObjectBuilder(declaration.Name, label, declaration.LabelPlural ?? label + "s", prefix, custom: true)
                .Text("Name", $"{label} Name", 80, nameField: true);
            AddCustomFields(builder, declaration);
            Add(builder.Build());
        }
    }

    private SchemaCatalog()
    {
    }

    /// <summary>A copy of this catalogue with <paramref name="changed"/> in place of the object of the same name.</summary>
    public SchemaCatalog With(ObjectDef changed)
    {
        var copy = new SchemaCatalog();
        foreach (var def in _byName.Values)
        {
            copy.Add(def.Name.Equals(changed.Name, StringComparison.OrdinalIgnoreCase) ? changed : def);
        }
        return copy;
    }

    public IReadOnlyCollection<ObjectDef> Objects => _byName.Values;

    public ObjectDef? Find(string name) => _byName.GetValueOrDefault(name);

    public ObjectDef? FindByPrefix(ReadOnlySpan<char> id) =>
        id.Length >= 3 ? _byPrefix.GetValueOrDefault(new string(id[..3])) : null;

    public ObjectDef Account => _byName["Account"];
    public ObjectDef Contact => _byName["Contact"];
    public ObjectDef Opportunity => _byName["Opportunity"];
    public ObjectDef Lead => _byName["Lead"];
    public ObjectDef User => _byName["User"];

    private void Add(ObjectDef def)
    {
        _byName.Add(def.Name, def);
        _byPrefix.Add(def.KeyPrefix, def);
    }

    private static void AddCustomFields(ObjectBuilder builder, SandboxCustomObject declaration)
    {
        foreach (var f in declaration.Fields)
        {
            if (!f.Name.EndsWith("__c", StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"Custom field '{declaration.Name}.{f.Name}' must end in __c.");
            }
            if (!FieldTypeExtensions.TryParseDescribeName(f.Type, out var type) || type is FieldType.Id or FieldType.Address)
            {
                throw new InvalidOperationException($"Custom field '{declaration.Name}.{f.Name}' has an unsupported type '{f.Type}'.");
            }
            var label = f.Label ?? f.Name[..^3].Replace('_', ' ');
            switch (type)
            {
                case FieldType.Picklist or FieldType.MultiPicklist:
                    builder.Picklist(f.Name, label, [.. f.PicklistValues], f.Required, restricted: f.RestrictedPicklist,
                        multi: type == FieldType.MultiPicklist, custom: true);
                    break;
                case FieldType.Boolean:
                    builder.Boolean(f.Name, label, custom: true);
                    break;
                case FieldType.Int or FieldType.Double or FieldType.Currency or FieldType.Percent:
                    builder.Number(f.Name, label, type, f.Precision, f.Scale, required: f.Required, custom: true);
                    break;
                case FieldType.Date or FieldType.DateTime:
                    builder.Date(f.Name, label, required: f.Required, type: type, custom: true);
                    break;
                case FieldType.Reference:
                    builder.Reference(f.Name, label, f.ReferenceTo ?? throw new InvalidOperationException(
                        $"Custom field '{declaration.Name}.{f.Name}' needs ReferenceTo."), f.Name[..^3] + "__r", required: f.Required, custom: true);
                    break;
                default:
                    builder.Text(f.Name, label, f.Length, f.Required, type: type, unique: f.ExternalId,
                        externalId: f.ExternalId, custom: true);
                    break;
            }
        }
    }
}
