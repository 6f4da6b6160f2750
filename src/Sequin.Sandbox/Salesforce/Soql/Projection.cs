using System.Text;
using System.Text.Json;
using Sequin.Sandbox.Salesforce.Json;
using Sequin.Sandbox.Salesforce.Schema;
using Sequin.Sandbox.Salesforce.Store;

namespace Sequin.Sandbox.Salesforce.Soql;

/// <summary>
/// A selected column in SELECT order: a field of the queried object, or (when <see cref="Parent"/> is
/// set) the group of fields read through one parent relationship, written as a nested record.
/// </summary>
internal sealed record ProjectionItem(FieldDef Field, ParentProjection? Parent = null);

/// <summary>
/// Fields of a parent record reached through a reference (<c>Account.Name</c> from Contact). Salesforce
/// writes them as <c>"Account":{"attributes":{...},"Name":"..."}</c>, or <c>"Account":null</c>.
/// </summary>
internal sealed class ParentProjection(FieldDef reference, ObjectDef target)
{
    public FieldDef Reference { get; } = reference;
    public ObjectDef Target { get; } = target;
    public JsonEncodedText Name { get; } = JsonEncodedText.Encode(reference.RelationshipName!);
    public JsonEncodedText TypeName { get; } = JsonEncodedText.Encode(target.Name);
    public List<FieldDef> Fields { get; } = [];
}

/// <summary>Writes query rows for one page: pre-computes URL prefixes so rows allocate nothing.</summary>
internal sealed class QueryRowWriter
{
    private readonly ProjectionItem[] _items;
    private readonly FieldDef[]? _directOnly;
    private readonly byte[] _urlPrefix;
    private readonly JsonEncodedText _typeName;
    private readonly Func<ObjectDef, Table> _tables;
    private readonly Dictionary<ParentProjection, byte[]> _parentPrefixes = [];

    public QueryRowWriter(ObjectDef type, ProjectionItem[] items, string basePath, Func<ObjectDef, Table> tables)
    {
        _items = items;
        _tables = tables;
        _urlPrefix = Encoding.UTF8.GetBytes($"{basePath}/sobjects/{type.Name}/");
        _typeName = JsonEncodedText.Encode(type.Name);
        // The common case (no relationship) takes the flat fast path.
        _directOnly = items.All(i => i.Parent is null) ? [.. items.Select(i => i.Field)] : null;
        foreach (var parent in items.Select(i => i.Parent).OfType<ParentProjection>())
        {
            _parentPrefixes[parent] = Encoding.UTF8.GetBytes($"{basePath}/sobjects/{parent.Target.Name}/");
        }
    }

    public void Write(Utf8JsonWriter writer, Record record)
    {
        if (_directOnly is not null)
        {
            RecordJsonWriter.Write(writer, record, _directOnly, _urlPrefix, _typeName);
            return;
        }
        RecordJsonWriter.WriteStart(writer, record, _urlPrefix, _typeName);
        foreach (var item in _items)
        {
            if (item.Parent is not { } parent)
            {
                RecordJsonWriter.WriteField(writer, record, item.Field);
                continue;
            }
            var parentRecord = record.Values[parent.Reference.Ordinal] is string id ? _tables(parent.Target).Find(id) : null;
            if (parentRecord is null || parentRecord.IsDeleted)
            {
                writer.WriteNull(parent.Name);
                continue;
            }
            writer.WritePropertyName(parent.Name);
            RecordJsonWriter.Write(writer, parentRecord, parent.Fields, _parentPrefixes[parent], parent.TypeName);
        }
        writer.WriteEndObject();
    }
}
