using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Sequin.Sandbox.Salesforce.Schema;

namespace Sequin.Sandbox.Salesforce.Http;

/// <summary>
/// describeGlobal and sObject describe bodies (REST API "Describe Global" / "sObject Describe").
/// The schema is immutable, so each body is rendered once per API version and cached as bytes.
/// </summary>
internal static class DescribeWriter
{
    // Keyed weakly by the object definition: each sandbox instance has its own schema, and tests
    // create many sandboxes, so a static dictionary keyed by ObjectDef would never let them go.
    private static readonly ConditionalWeakTable<ObjectDef, ConcurrentDictionary<string, byte[]>> Cache = new();

    public static byte[] Describe(ObjectDef type, string basePath) =>
        Cache.GetOrCreateValue(type).GetOrAdd(basePath, path => Render(type, path));

    private static byte[] Render(ObjectDef type, string basePath)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, SalesforceHttp.WriterOptions))
        {
            w.WriteStartObject();
            WriteObjectProperties(w, type, basePath);
            w.WriteStartArray("childRelationships");
            w.WriteEndArray();
            w.WriteBoolean("compactLayoutable", true);
            w.WriteStartArray("fields");
            foreach (var field in type.Fields)
            {
                WriteField(w, field);
            }
            w.WriteEndArray();
            w.WriteStartArray("recordTypeInfos");
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }

    public static void WriteGlobal(Utf8JsonWriter w, IEnumerable<ObjectDef> objects, string basePath)
    {
        w.WriteStartObject();
        w.WriteString("encoding", "UTF-8");
        w.WriteNumber("maxBatchSize", 200);
        w.WriteStartArray("sobjects");
        foreach (var type in objects.OrderBy(o => o.Name, StringComparer.Ordinal))
        {
            w.WriteStartObject();
            WriteObjectProperties(w, type, basePath);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>The object-level properties shared by describeGlobal entries and describe.</summary>
    public static void WriteObjectProperties(Utf8JsonWriter w, ObjectDef type, string basePath)
    {
        var url = $"{basePath}/sobjects/{type.Name}";
        w.WriteBoolean("activateable", false);
        w.WriteBoolean("createable", type.Createable);
        w.WriteBoolean("custom", type.Custom);
        w.WriteBoolean("customSetting", false);
        w.WriteBoolean("deletable", type.Deletable);
        w.WriteBoolean("deprecatedAndHidden", false);
        w.WriteBoolean("feedEnabled", !type.Custom);
        w.WriteBoolean("hasSubtypes", false);
        w.WriteBoolean("isSubtype", false);
        w.WriteString("keyPrefix", type.KeyPrefix);
        w.WriteString("label", type.Label);
        w.WriteString("labelPlural", type.LabelPlural);
        w.WriteBoolean("layoutable", true);
        w.WriteBoolean("mergeable", type.Name is "Account" or "Contact" or "Lead");
        w.WriteBoolean("mruEnabled", true);
        w.WriteString("name", type.Name);
        w.WriteBoolean("queryable", true);
        w.WriteBoolean("replicateable", true);
        w.WriteBoolean("retrieveable", true);
        w.WriteBoolean("searchable", true);
        w.WriteBoolean("triggerable", true);
        w.WriteBoolean("undeletable", type.Deletable);
        w.WriteBoolean("updateable", true);
        w.WriteStartObject("urls");
        w.WriteString("rowTemplate", url + "/{ID}");
        w.WriteString("defaultValues", url + "/defaultValues?recordTypeId&fields");
        w.WriteString("describe", url + "/describe");
        w.WriteString("sobject", url);
        w.WriteEndObject();
    }

    private static void WriteField(Utf8JsonWriter w, FieldDef f)
    {
        w.WriteStartObject();
        w.WriteBoolean("aggregatable", f.Kind is not ValueKind.None and not ValueKind.Boolean && f.Filterable);
        w.WriteBoolean("autoNumber", false);
        w.WriteNumber("byteLength", f.Kind == ValueKind.String ? f.Length * 3 : 0);
        w.WriteBoolean("calculated", f.Calculated);
        w.WriteBoolean("cascadeDelete", false);
        w.WriteBoolean("caseSensitive", false);
        if (f.CompoundFieldName is null)
        {
            w.WriteNull("compoundFieldName");
        }
        else
        {
            w.WriteString("compoundFieldName", f.CompoundFieldName);
        }
        w.WriteBoolean("createable", f.Createable);
        w.WriteBoolean("custom", f.Custom);
        w.WriteNull("defaultValue");
        w.WriteBoolean("defaultedOnCreate", f.DefaultedOnCreate || f.Kind == ValueKind.Boolean);
        w.WriteBoolean("dependentPicklist", false);
        w.WriteNumber("digits", f.Digits);
        w.WriteBoolean("externalId", f.ExternalId);
        w.WriteBoolean("filterable", f.Filterable);
        w.WriteBoolean("groupable", f.Sortable && f.Kind is ValueKind.String or ValueKind.Boolean or ValueKind.Date or ValueKind.Int);
        w.WriteBoolean("idLookup", f.IdLookup);
        w.WriteString("label", f.Label);
        w.WriteNumber("length", f.Kind == ValueKind.String ? f.Length : 0);
        w.WriteString("name", f.Name);
        w.WriteBoolean("nameField", f.NameField);
        w.WriteBoolean("nillable", f.Nillable);
        w.WriteBoolean("permissionable", f.Nillable && f.Createable);
        w.WriteStartArray("picklistValues");
        foreach (var value in f.PicklistValues)
        {
            w.WriteStartObject();
            w.WriteBoolean("active", true);
            w.WriteBoolean("defaultValue", value == f.DefaultPicklistValue);
            w.WriteString("label", value);
            w.WriteNull("validFor");
            w.WriteString("value", value);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteNumber("precision", f.Precision);
        w.WriteStartArray("referenceTo");
        foreach (var target in f.ReferenceTo)
        {
            w.WriteStringValue(target);
        }
        w.WriteEndArray();
        if (f.RelationshipName is null)
        {
            w.WriteNull("relationshipName");
        }
        else
        {
            w.WriteString("relationshipName", f.RelationshipName);
        }
        w.WriteBoolean("restrictedPicklist", f.RestrictedPicklist);
        w.WriteNumber("scale", f.Scale);
        w.WriteString("soapType", f.Type.SoapType());
        w.WriteBoolean("sortable", f.Sortable);
        w.WriteString("type", f.Type.DescribeName());
        w.WriteBoolean("unique", f.Unique);
        w.WriteBoolean("updateable", f.Updateable);
        w.WriteEndObject();
    }
}
