using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Sequin.Sandbox.Salesforce.Ids;
using Sequin.Sandbox.Salesforce.Json;
using Sequin.Sandbox.Salesforce.Schema;
using Sequin.Sandbox.Salesforce.Store;

namespace Sequin.Sandbox.Salesforce.Writes;

/// <summary>One requested change: a create (no id) or an update of <see cref="Id"/>, with the JSON fields.</summary>
internal sealed record WriteRequest(ObjectDef? Type, string? Id, JsonElement Fields);

/// <summary>
/// Validates and applies writes to one org the way Salesforce does: unknown fields, read-only fields,
/// value types, required fields, lengths, restricted picklists, email format, reference ids and the
/// org's validation rules, with Salesforce's error codes and messages. All writes of an org run under
/// its write gate, so parallel writers never lose an update and allOrNone batches are atomic.
/// </summary>
internal static partial class RecordWriter
{
    /// <summary>
    /// The undo log of the composite request running in this async flow (null outside one): every commit below records
    /// the version it replaced, so a composite with allOrNone can roll back all its subrequests.
    /// </summary>
    public static readonly AsyncLocal<UndoLog?> CurrentUndo = new();

    [GeneratedRegex(@"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")]
    private static partial Regex EmailPattern();

    /// <summary>Creates and updates in input order; with allOrNone nothing is applied unless all succeed.</summary>
    public static SaveResult[] Save(Org org, IReadOnlyList<WriteRequest> requests, bool allOrNone, string userId)
    {
        var results = new SaveResult[requests.Count];
        lock (org.WriteGate)
        {
            var prepared = new (ObjectDef? Type, Record? Current, object?[]? Values)[requests.Count];
            for (var i = 0; i < requests.Count; i++)
            {
                var (type, current, values, result) = Prepare(org, requests[i]);
                prepared[i] = (type, current, values);
                results[i] = result;
                if (!allOrNone && result.Success)
                {
                    results[i] = Commit(org, type!, current, values!, userId, systemOnly: false);
                }
            }
            if (!allOrNone)
            {
                return results;
            }
            if (results.Any(r => !r.Success))
            {
                return [.. results.Select(r => r.Success ? SaveResult.Fail(r.Id, SaveResult.RolledBack) : r)];
            }
            for (var i = 0; i < requests.Count; i++)
            {
                results[i] = Commit(org, prepared[i].Type!, prepared[i].Current, prepared[i].Values!, userId, systemOnly: false);
            }
        }
        return results;
    }

    /// <summary>Soft-deletes records (to the recycle bin) in input order, allOrNone as for saves.</summary>
    public static SaveResult[] Delete(Org org, IReadOnlyList<string> ids, bool allOrNone, string userId)
    {
        var results = new SaveResult[ids.Count];
        lock (org.WriteGate)
        {
            var found = new Record?[ids.Count];
            for (var i = 0; i < ids.Count; i++)
            {
                var (record, error) = Lookup(org, null, ids[i]);
                found[i] = record;
                results[i] = error is null ? SaveResult.Ok(record!.Id) : SaveResult.Fail(record?.Id ?? ids[i], error);
                if (error is null && !record!.Type.Deletable)
                {
                    results[i] = SaveResult.Fail(record.Id, new SalesforceError("INVALID_TYPE_FOR_OPERATION", "entity type cannot be deleted", []));
                }
                if (!allOrNone && results[i].Success)
                {
                    results[i] = SoftDelete(org, record!, userId);
                }
            }
            if (!allOrNone)
            {
                return results;
            }
            if (results.Any(r => !r.Success))
            {
                return [.. results.Select(r => r.Success ? SaveResult.Fail(r.Id, SaveResult.RolledBack) : r)];
            }
            for (var i = 0; i < ids.Count; i++)
            {
                results[i] = SoftDelete(org, found[i]!, userId);
            }
        }
        return results;
    }

    /// <summary>
    /// A "system" update (no user-visible change, e.g. a recalculation): only SystemModstamp moves.
    /// This is why sync engines must use SystemModstamp rather than LastModifiedDate as the cursor.
    /// </summary>
    public static void Touch(Org org, Record record)
    {
        lock (org.WriteGate)
        {
            var current = org.Table(record.Type).Find(record.Id);
            if (current is null || current.IsDeleted)
            {
                return;
            }
            Commit(org, current.Type, current, (object?[])current.Values.Clone(), org.UserId, systemOnly: true);
        }
    }

    /// <summary>Inserts generated values (seed-quality data from the live-activity mutator).</summary>
    public static Record InsertValues(Org org, ObjectDef type, object?[] values)
    {
        lock (org.WriteGate)
        {
            var id = Commit(org, type, null, values, org.UserId, systemOnly: false).Id!;
            return org.Table(type).Find(id)!;
        }
    }

    /// <summary>
    /// Applies a generated change to the current version of a live record (read-modify-write under the
    /// write gate). Returns the new version, or null when the record is gone.
    /// </summary>
    public static Record? UpdateValues(Org org, Record record, Action<object?[]> change)
    {
        lock (org.WriteGate)
        {
            var current = org.Table(record.Type).Find(record.Id);
            if (current is null || current.IsDeleted)
            {
                return null;
            }
            var values = (object?[])current.Values.Clone();
            change(values);
            Derive(current.Type, values, null);
            Commit(org, current.Type, current, values, org.UserId, systemOnly: false);
            return org.Table(record.Type).Find(record.Id);
        }
    }

    /// <summary>Finds a live record by id for update/delete; the error is what Salesforce returns otherwise.</summary>
    public static (Record? Record, SalesforceError? Error) Lookup(Org org, ObjectDef? expected, string? rawId)
    {
        if (rawId is null || !SalesforceId.TryNormalize(rawId, out var id))
        {
            return (null, new SalesforceError("MALFORMED_ID", $"{expected?.Label ?? "Record"} ID: id value of incorrect type: {rawId}", ["Id"]));
        }
        var type = org.Catalog.FindByPrefix(id);
        if (type is null || (expected is not null && !string.Equals(type.Name, expected.Name, StringComparison.Ordinal)))
        {
            return (null, new SalesforceError("MALFORMED_ID", $"{expected?.Label ?? "Record"} ID: id value of incorrect type: {rawId}", ["Id"]));
        }
        var record = org.Table(type).Find(id);
        if (record is null)
        {
            return (null, new SalesforceError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", []));
        }
        if (record.IsDeleted)
        {
            return (record, new SalesforceError("ENTITY_IS_DELETED", "entity is deleted", []));
        }
        return (record, null);
    }

    private static (ObjectDef? Type, Record? Current, object?[]? Values, SaveResult Result) Prepare(Org org, WriteRequest request)
    {
        Record? current = null;
        // The current definition: the request may have been parsed against one from before a field type change.
        var type = request.Type is { } requested ? org.Catalog.Find(requested.Name) : null;
        if (request.Id is not null)
        {
            var (record, error) = Lookup(org, type, request.Id);
            if (error is not null)
            {
                return (null, null, null, SaveResult.Fail(record?.Id ?? request.Id, error));
            }
            current = record!;
            type = current.Type;
        }
        if (type is null)
        {
            return (null, null, null, SaveResult.Fail(null, new SalesforceError("INVALID_TYPE", "sObject type is required: set attributes.type", [])));
        }
        if (current is null && !type.Createable)
        {
            return (null, null, null, SaveResult.Fail(null, new SalesforceError("INVALID_TYPE_FOR_OPERATION", "entity type cannot be inserted", [])));
        }
        var values = current is null ? new object?[type.SlotCount] : (object?[])current.Values.Clone();
        var errors = new List<SalesforceError>();
        var assigned = new HashSet<FieldDef>();
        if (request.Fields.ValueKind != JsonValueKind.Object)
        {
            return (type, current, null, SaveResult.Fail(current?.Id, new SalesforceError("JSON_PARSER_ERROR", "Expected a JSON object for the record", [])));
        }
        foreach (var property in request.Fields.EnumerateObject())
        {
            var name = property.Name;
            if (name == "attributes")
            {
                continue;
            }
            if (name.Equals("Id", StringComparison.OrdinalIgnoreCase))
            {
                if (current is null)
                {
                    return (null, null, null, SaveResult.Fail(null, new SalesforceError("INVALID_FIELD", "cannot specify Id in an insert call", ["Id"])));
                }
                continue;
            }
            var field = type.FindField(name);
            if (field is null)
            {
                return (type, current, null, SaveResult.Fail(current?.Id, new SalesforceError("INVALID_FIELD", $"No such column '{name}' on sobject of type {type.Name}", [])));
            }
            if (current is null ? !field.Createable : !field.Updateable)
            {
                errors.Add(new SalesforceError("INVALID_FIELD_FOR_INSERT_UPDATE",
                    $"Unable to create/update fields: {field.Name}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.",
                    [field.Name]));
                continue;
            }
            if (!TryConvert(field, property.Value, out var value, out var parseError))
            {
                return (type, current, null, SaveResult.Fail(current?.Id, parseError!));
            }
            if (CheckValue(org, field, value) is { } valueError)
            {
                errors.Add(valueError);
                continue;
            }
            values[field.Ordinal] = value;
            assigned.Add(field);
        }
        if (errors.Count > 0)
        {
            return (type, current, null, SaveResult.Fail(current?.Id, [.. errors]));
        }
        if (current is null)
        {
            ApplyDefaults(org, type, values, assigned);
        }
        Derive(type, values, assigned);
        foreach (var field in assigned)
        {
            if (field.Unique && values[field.Ordinal] is string unique && FindDuplicate(org, type, field, unique, current) is { } other)
            {
                return (type, current, null, SaveResult.Fail(current?.Id, new SalesforceError("DUPLICATE_VALUE",
                    $"duplicate value found: {field.Name} duplicates value on record with id: {other.Id}", [field.Name])));
            }
        }
        var missing = type.Fields.Where(f => f.Required && values[f.Ordinal] is null).Select(f => f.Name).ToList();
        if (missing.Count > 0)
        {
            return (type, current, null, SaveResult.Fail(current?.Id,
                new SalesforceError("REQUIRED_FIELD_MISSING", $"Required fields are missing: [{string.Join(", ", missing)}]", missing)));
        }
        foreach (var rule in org.ValidationRules)
        {
            if (rule.Type == type && rule.Source.Active && rule.Fails(values))
            {
                errors.Add(new SalesforceError("FIELD_CUSTOM_VALIDATION_EXCEPTION", rule.Source.ErrorMessage,
                    rule.Field is null ? [] : [rule.Field.Name]));
            }
        }
        if (errors.Count > 0)
        {
            return (type, current, null, SaveResult.Fail(current?.Id, [.. errors]));
        }
        return (type, current, values, SaveResult.Ok(current?.Id ?? string.Empty));
    }

    /// <summary>
    /// Unique fields (User.Username, external ids) are rare and their tables small, so a scan is
    /// cheaper than maintaining an index for every org.
    /// </summary>
    private static Record? FindDuplicate(Org org, ObjectDef type, FieldDef field, string value, Record? self)
    {
        foreach (var record in org.Table(type).Snapshot().Span)
        {
            if (record is { IsDeleted: false } && record.Id != self?.Id
                && string.Equals(record.Get(field) as string, value, StringComparison.OrdinalIgnoreCase))
            {
                return record;
            }
        }
        return null;
    }

    private static SaveResult Commit(Org org, ObjectDef type, Record? current, object?[] values, string userId, bool systemOnly)
    {
        var table = org.Table(type);
        if (table.Type != type)
        {
            // A field's type changed while this write was being prepared: store the values in the current shape.
            values = FieldTypeChange.Adapt(type, table.Type, values);
            type = table.Type;
        }
        var stamp = org.NextStamp(current?.SystemModstamp);
        if (current is null)
        {
            values[type.Id.Ordinal] = org.NextId(type);
            values[type.CreatedDate.Ordinal] = stamp;
            values[type.CreatedById.Ordinal] = userId;
            if (type.IsDeleted is { } deleted)
            {
                values[deleted.Ordinal] = false;
            }
        }
        if (!systemOnly)
        {
            values[type.LastModifiedDate.Ordinal] = stamp;
            values[type.LastModifiedById.Ordinal] = userId;
        }
        values[type.SystemModstamp.Ordinal] = stamp;
        var next = new Record(type, values, isDeleted: false, deletedDate: null);
        if (current is null)
        {
            table.Append(next);
        }
        else
        {
            table.Replace(current, next);
        }
        CurrentUndo.Value?.Add(table, current, next);
        return SaveResult.Ok(next.Id);
    }

    private static SaveResult SoftDelete(Org org, Record current, string userId)
    {
        var type = current.Type;
        var values = (object?[])current.Values.Clone();
        var stamp = org.NextStamp(current.SystemModstamp);
        values[type.SystemModstamp.Ordinal] = stamp;
        values[type.LastModifiedDate.Ordinal] = stamp;
        values[type.LastModifiedById.Ordinal] = userId;
        if (type.IsDeleted is { } deleted)
        {
            values[deleted.Ordinal] = true;
        }
        var next = new Record(type, values, isDeleted: true, deletedDate: stamp);
        org.Table(type).Replace(current, next);
        CurrentUndo.Value?.Add(org.Table(type), current, next);
        return SaveResult.Ok(current.Id);
    }

    private static bool TryConvert(FieldDef field, JsonElement json, out object? value, out SalesforceError? error)
    {
        error = null;
        value = null;
        if (json.ValueKind == JsonValueKind.Null)
        {
            // Booleans are never null in Salesforce: null means false.
            value = field.Kind == ValueKind.Boolean ? false : null;
            return true;
        }
        string Token() => json.ValueKind switch
        {
            JsonValueKind.String => "VALUE_STRING",
            JsonValueKind.Number => json.GetRawText().Contains('.', StringComparison.Ordinal) ? "VALUE_NUMBER_FLOAT" : "VALUE_NUMBER_INT",
            JsonValueKind.True => "VALUE_TRUE",
            JsonValueKind.False => "VALUE_FALSE",
            JsonValueKind.Array => "START_ARRAY",
            _ => "START_OBJECT",
        };
        bool Fail(string javaType, out SalesforceError? e)
        {
            e = new SalesforceError("JSON_PARSER_ERROR",
                $"Cannot deserialize instance of {javaType} from {Token()} value {(json.ValueKind == JsonValueKind.String ? json.GetString() : json.GetRawText())} or request may be missing a required field",
                []);
            return false;
        }
        switch (field.Kind)
        {
            case ValueKind.String:
                var text = json.ValueKind switch
                {
                    JsonValueKind.String => json.GetString(),
                    JsonValueKind.Number => json.GetRawText(),
                    JsonValueKind.True => "true",
                    JsonValueKind.False => "false",
                    _ => null,
                };
                if (text is null)
                {
                    return Fail("string", out error);
                }
                // Salesforce stores empty text as null.
                value = text.Length == 0 ? null : text;
                return true;
            case ValueKind.Boolean:
                if (json.ValueKind is JsonValueKind.True or JsonValueKind.False)
                {
                    value = json.GetBoolean();
                    return true;
                }
                if (json.ValueKind == JsonValueKind.String && bool.TryParse(json.GetString(), out var b))
                {
                    value = b;
                    return true;
                }
                return Fail("boolean", out error);
            case ValueKind.Int:
                if (json.ValueKind == JsonValueKind.Number && json.TryGetInt32(out var i))
                {
                    value = i;
                    return true;
                }
                if (json.ValueKind == JsonValueKind.String && int.TryParse(json.GetString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out i))
                {
                    value = i;
                    return true;
                }
                return Fail("int", out error);
            case ValueKind.Double:
                if (json.ValueKind == JsonValueKind.Number && json.TryGetDouble(out var d))
                {
                    value = d;
                    return true;
                }
                if (json.ValueKind == JsonValueKind.String && double.TryParse(json.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out d))
                {
                    value = d;
                    return true;
                }
                return Fail("double", out error);
            case ValueKind.Date:
                if (json.ValueKind == JsonValueKind.String)
                {
                    var s = json.GetString()!;
                    if (SalesforceFormat.TryParseDate(s.Length > 10 ? s[..10] : s, out var date))
                    {
                        value = date;
                        return true;
                    }
                }
                return Fail("date", out error);
            case ValueKind.DateTime:
                if (json.ValueKind == JsonValueKind.String && SalesforceFormat.TryParseDateTime(json.GetString()!, out var dt))
                {
                    value = dt;
                    return true;
                }
                return Fail("datetime", out error);
            default:
                return Fail(field.Type.DescribeName(), out error);
        }
    }

    private static SalesforceError? CheckValue(Org org, FieldDef field, object? value)
    {
        if (value is not string s)
        {
            return null;
        }
        if (field.Type is FieldType.Reference)
        {
            var targets = field.ReferenceTo.Select(org.Catalog.Find).Where(t => t is not null).ToList();
            if (!SalesforceId.TryNormalize(s, out var id)
                || (targets.Count > 0 && !targets.Any(t => id.StartsWith(t!.KeyPrefix, StringComparison.Ordinal))))
            {
                return new SalesforceError("MALFORMED_ID", $"{field.Label}: id value of incorrect type: {s}", [field.Name]);
            }
            if (targets.Count > 0 && targets.All(t => org.Table(t!).Find(id) is null or { IsDeleted: true }))
            {
                return new SalesforceError("INVALID_CROSS_REFERENCE_KEY", $"{field.Label}: invalid cross reference id", [field.Name]);
            }
            return null;
        }
        if (field.Length > 0 && s.Length > field.Length && field.Type is not (FieldType.Picklist or FieldType.MultiPicklist))
        {
            // The echoed value is capped so a 40 MB string does not come back as a 40 MB error.
            var shown = s.Length > 1000 ? s[..1000] + "..." : s;
            return new SalesforceError("STRING_TOO_LONG", $"{field.Label}: data value too large: {shown} (max length={field.Length})", [field.Name]);
        }
        if (field.RestrictedPicklist)
        {
            var parts = field.Type == FieldType.MultiPicklist ? s.Split(';') : [s];
            foreach (var part in parts)
            {
                if (!field.PicklistValues.Contains(part, StringComparer.Ordinal))
                {
                    return new SalesforceError("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                        $"{field.Label}: bad value for restricted picklist field: {part}", [field.Name]);
                }
            }
        }
        if (field.Type == FieldType.Email && !EmailPattern().IsMatch(s))
        {
            return new SalesforceError("INVALID_EMAIL_ADDRESS", $"{field.Label}: invalid email address: {s}", [field.Name]);
        }
        return null;
    }

    private static void ApplyDefaults(Org org, ObjectDef type, object?[] values, HashSet<FieldDef> assigned)
    {
        foreach (var field in type.Fields)
        {
            if (assigned.Contains(field) || field.Ordinal < 0)
            {
                continue;
            }
            if (field.Kind == ValueKind.Boolean)
            {
                // Users are active unless created otherwise.
                values[field.Ordinal] = field.Name == "IsActive";
            }
            else if (field.DefaultPicklistValue is { } d)
            {
                values[field.Ordinal] = d;
            }
        }
        if (type.OwnerId is { } owner && !assigned.Contains(owner))
        {
            values[owner.Ordinal] = org.UserId;
        }
    }

    /// <summary>Formula-like standard fields: Name of people, Opportunity stage consequences.</summary>
    internal static void Derive(ObjectDef type, object?[] values, HashSet<FieldDef>? assigned)
    {
        var first = type.FindField("FirstName");
        var last = type.FindField("LastName");
        if (first is not null && last is not null && type.NameField is { Createable: false } name)
        {
            var full = $"{values[first.Ordinal]} {values[last.Ordinal]}".Trim();
            values[name.Ordinal] = full.Length == 0 ? null : full;
        }
        if (type.Name == "Opportunity" && type.FindField("StageName") is { } stageField && values[stageField.Ordinal] is string stage)
        {
            var index = Array.IndexOf(StandardObjects.Stages, stage);
            var probability = stage switch
            {
                "Closed Won" => 100,
                "Closed Lost" => 0,
                _ => Math.Min(90, 10 + (index * 10)),
            };
            var probabilityField = type.FindField("Probability")!;
            if (assigned is null || !assigned.Contains(probabilityField))
            {
                values[probabilityField.Ordinal] = (double)probability;
            }
            values[type.FindField("IsClosed")!.Ordinal] = stage.StartsWith("Closed", StringComparison.Ordinal);
            values[type.FindField("IsWon")!.Ordinal] = stage == "Closed Won";
            values[type.FindField("ForecastCategoryName")!.Ordinal] = stage switch
            {
                "Closed Won" => "Closed",
                "Closed Lost" => "Omitted",
                "Negotiation/Review" or "Proposal/Price Quote" => "Commit",
                _ => "Pipeline",
            };
            var amount = values[type.FindField("Amount")!.Ordinal] as double?;
            var p = values[probabilityField.Ordinal] as double?;
            values[type.FindField("ExpectedRevenue")!.Ordinal] = amount is { } a && p is { } pr ? Math.Round(a * pr / 100, 2) : null;
        }
    }
}
