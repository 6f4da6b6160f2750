using System.Globalization;
using System.Text;
using System.Text.Json;
using Sequin.Sandbox.Salesforce.Ids;
using Sequin.Sandbox.Salesforce.Json;
using Sequin.Sandbox.Salesforce.Schema;
using Sequin.Sandbox.Salesforce.Store;
using Sequin.Sandbox.Salesforce.Writes;

namespace Sequin.Sandbox.Salesforce.Http;

/// <summary>The REST API under <c>/services/data/</c> (Salesforce REST API Developer Guide, "Resources").</summary>
internal static partial class RestEndpoints
{
    /// <summary>sObject Collections accept at most 200 records per request.</summary>
    public const int CollectionLimit = 200;

    public static void Map(IEndpointRouteBuilder root, SalesforceSandbox sandbox)
    {
        root.MapGet("/services/data", Versions);

        var api = root.MapGroup("/services/data/{version}");
        api.AddEndpointFilter(new ApiRequestFilter(sandbox));
        api.MapGet("/", Resources);
        api.MapGet("/limits", Limits);
        api.MapGet("/sobjects", DescribeGlobal);
        api.MapGet("/sobjects/{type}", BasicInfo);
        api.MapGet("/sobjects/{type}/describe", Describe);
        api.MapGet("/sobjects/{type}/updated", Updated);
        api.MapGet("/sobjects/{type}/deleted", Deleted);
        api.MapPost("/sobjects/{type}", (HttpContext h, string type) => CreateAsync(h, type, sandbox));
        api.MapGet("/sobjects/{type}/{id}", Retrieve);
        api.MapMethods("/sobjects/{type}/{id}", ["PATCH"], (HttpContext h, string type, string id) => UpdateAsync(h, type, id, sandbox));
        api.MapDelete("/sobjects/{type}/{id}", Delete);
        api.MapGet("/query", IResult (HttpContext h) => QueryEndpoints.Query(h, includeDeleted: false));
        api.MapGet("/queryAll", IResult (HttpContext h) => QueryEndpoints.Query(h, includeDeleted: true));
        // jsforce keeps only the locator and always asks under /query/, also for queryAll cursors.
        api.MapGet("/query/{locator}", (HttpContext h, string locator) => QueryEndpoints.More(h, locator, includeDeleted: false));
        api.MapGet("/queryAll/{locator}", (HttpContext h, string locator) => QueryEndpoints.More(h, locator, includeDeleted: true));
        api.MapPost("/composite/sobjects", Task<IResult> (HttpContext h) => CollectionSaveAsync(h, sandbox, update: false));
        api.MapMethods("/composite/sobjects", ["PATCH"], Task<IResult> (HttpContext h) => CollectionSaveAsync(h, sandbox, update: true));
        api.MapDelete("/composite/sobjects", CollectionDelete);
        api.MapPost("/composite/sobjects/{type}", (HttpContext h, string type) => CollectionRetrieveAsync(h, type, sandbox));
        api.MapGet("/composite/sobjects/{type}", (HttpContext h, string type) => CollectionRetrieveAsync(h, type, sandbox));
        api.MapPost("/composite", Task<IResult> (HttpContext h) => CompositeAsync(h, sandbox));
        // Known resources answer other methods with 405 and the allowed list, as Salesforce does.
        MethodNotAllowed(api, "/sobjects/{type}", ["PUT", "PATCH", "DELETE"], "GET,POST,HEAD");
        MethodNotAllowed(api, "/sobjects/{type}/{id}", ["PUT", "POST"], "GET,PATCH,DELETE,HEAD");
        MethodNotAllowed(api, "/query", ["POST", "PUT", "PATCH", "DELETE"], "GET,HEAD");
        MethodNotAllowed(api, "/queryAll", ["POST", "PUT", "PATCH", "DELETE"], "GET,HEAD");
        api.Map("/{**rest}", () => SalesforceHttp.NotFound());
    }

    private static void MethodNotAllowed(RouteGroupBuilder api, string pattern, string[] methods, string allowed) =>
        api.MapMethods(pattern, methods, (HttpContext http) =>
        {
            http.Response.Headers.Allow = allowed;
            return SalesforceHttp.Error(405, new SalesforceError("METHOD_NOT_ALLOWED",
                $"HTTP Method '{http.Request.Method}' not allowed. Allowed are {allowed}"));
        });

    private static IResult Versions() => SalesforceHttp.Json(200, w =>
    {
        w.WriteStartArray();
        for (var v = (int)ApiRequestFilter.MinVersion; v <= (int)ApiRequestFilter.MaxVersion; v++)
        {
            w.WriteStartObject();
            w.WriteString("label", VersionLabel(v));
            w.WriteString("url", $"/services/data/v{v}.0");
            w.WriteString("version", $"{v}.0");
            w.WriteEndObject();
        }
        w.WriteEndArray();
    });

    /// <summary>Release names: three releases a year, v42.0 was Spring '18.</summary>
    private static string VersionLabel(int version)
    {
        var index = version - 42;
        var season = (index % 3) switch { 0 => "Spring", 1 => "Summer", _ => "Winter" };
        var year = 18 + ((index + 1) / 3);
        return $"{season} '{year:00}";
    }

    private static IResult Resources(HttpContext http)
    {
        var api = ApiRequest.From(http);
        return SalesforceHttp.Json(200, w =>
        {
            w.WriteStartObject();
            foreach (var name in new[] { "limits", "sobjects", "query", "queryAll", "composite" })
            {
                w.WriteString(name, $"{api.BasePath}/{name}");
            }
            w.WriteEndObject();
        });
    }

    private static IResult Limits(HttpContext http)
    {
        var org = ApiRequest.From(http).Org;
        var max = org.Faults.DailyApiLimit;
        var remaining = Math.Max(0, max - org.ApiUsed);
        return SalesforceHttp.Json(200, w =>
        {
            w.WriteStartObject();
            void Limit(string name, long limitMax, long limitRemaining)
            {
                w.WriteStartObject(name);
                w.WriteNumber("Max", limitMax);
                w.WriteNumber("Remaining", limitRemaining);
                w.WriteEndObject();
            }
            Limit("ConcurrentAsyncGetReportInstances", 200, 200);
            Limit("DailyApiRequests", max, remaining);
            Limit("DailyAsyncApexExecutions", 250000, 250000);
            Limit("DailyBulkApiBatches", 15000, 15000);
            Limit("DailyBulkV2QueryJobs", 10000, 10000);
            Limit("DataStorageMB", 5, 5);
            Limit("FileStorageMB", 20, 20);
            Limit("HourlyODataCallout", 20000, 20000);
            w.WriteEndObject();
        });
    }

    private static IResult DescribeGlobal(HttpContext http)
    {
        var api = ApiRequest.From(http);
        return SalesforceHttp.Json(200, w => DescribeWriter.WriteGlobal(w, api.Org.Catalog.Objects, api.BasePath));
    }

    private static ObjectDef RequireType(ApiRequest api, string type) =>
        api.Org.Catalog.Find(type) ?? throw new SalesforceApiException(404, new SalesforceError("NOT_FOUND", "The requested resource does not exist"));

    private static IResult BasicInfo(HttpContext http, string type)
    {
        var api = ApiRequest.From(http);
        var def = RequireType(api, type);
        return SalesforceHttp.Json(200, w =>
        {
            w.WriteStartObject();
            w.WriteStartObject("objectDescribe");
            DescribeWriter.WriteObjectProperties(w, def, api.BasePath);
            w.WriteEndObject();
            w.WriteStartArray("recentItems");
            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    private static IResult Describe(HttpContext http, string type)
    {
        var api = ApiRequest.From(http);
        var bytes = DescribeWriter.Describe(RequireType(api, type), api.BasePath);
        return Results.Bytes(bytes, SalesforceHttp.JsonContentType);
    }

    private static IResult Retrieve(HttpContext http, string type, string id)
    {
        var api = ApiRequest.From(http);
        var def = RequireType(api, type);
        if (!SalesforceId.TryNormalize(id, out var id18))
        {
            // Salesforce reads a non-id path segment as an external id lookup on the Id field.
            return SalesforceHttp.Error(404, new SalesforceError("NOT_FOUND", $"Provided external ID field does not exist or is not accessible: {id}"));
        }
        var record = id18.StartsWith(def.KeyPrefix, StringComparison.Ordinal) ? api.Org.Table(def).Find(id18) : null;
        if (record is null || record.IsDeleted)
        {
            return SalesforceHttp.NotFound();
        }
        IReadOnlyList<FieldDef> projection = def.Fields;
        var fields = http.Request.Query["fields"].ToString();
        if (fields.Length > 0)
        {
            var list = new List<FieldDef>();
            foreach (var name in fields.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                list.Add(def.FindField(name) ?? throw new SalesforceApiException(400, new SalesforceError("INVALID_FIELD",
                    $"No such column '{name}' on entity '{def.Name}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.")));
            }
            projection = list;
        }
        var prefix = Encoding.UTF8.GetBytes($"{api.BasePath}/sobjects/{def.Name}/");
        var typeName = JsonEncodedText.Encode(def.Name);
        return SalesforceHttp.Json(200, w => RecordJsonWriter.Write(w, record, projection, prefix, typeName));
    }

    private static async Task<IResult> CreateAsync(HttpContext http, string type, SalesforceSandbox sandbox)
    {
        var api = ApiRequest.From(http);
        var def = RequireType(api, type);
        using var body = await SalesforceHttp.ReadJsonAsync(http, sandbox.Options.MaxRequestBodyBytes);
        var result = RecordWriter.Save(api.Org, [new WriteRequest(def, null, body.RootElement)], allOrNone: true, api.Grant.UserId)[0];
        if (!result.Success)
        {
            return SalesforceHttp.Errors(400, result.Errors);
        }
        http.Response.Headers.Location = $"{api.BasePath}/sobjects/{def.Name}/{result.Id}";
        return SalesforceHttp.Json(201, w =>
        {
            w.WriteStartObject();
            w.WriteString("id", result.Id);
            w.WriteStartArray("errors");
            w.WriteEndArray();
            w.WriteBoolean("success", true);
            w.WriteEndObject();
        });
    }

    private static async Task<IResult> UpdateAsync(HttpContext http, string type, string id, SalesforceSandbox sandbox)
    {
        var api = ApiRequest.From(http);
        var def = RequireType(api, type);
        using var body = await SalesforceHttp.ReadJsonAsync(http, sandbox.Options.MaxRequestBodyBytes);
        var result = RecordWriter.Save(api.Org, [new WriteRequest(def, id, body.RootElement)], allOrNone: true, api.Grant.UserId)[0];
        return result.Success ? Results.NoContent() : SingleFailure(result);
    }

    private static IResult Delete(HttpContext http, string type, string id)
    {
        var api = ApiRequest.From(http);
        var def = RequireType(api, type);
        if (!SalesforceId.TryNormalize(id, out var id18) || !id18.StartsWith(def.KeyPrefix, StringComparison.Ordinal))
        {
            return SalesforceHttp.Error(400, new SalesforceError("MALFORMED_ID", $"{def.Label} ID: id value of incorrect type: {id}"));
        }
        var result = RecordWriter.Delete(api.Org, [id18], allOrNone: true, api.Grant.UserId)[0];
        return result.Success ? Results.NoContent() : SingleFailure(result);
    }

    /// <summary>Single-record failures: an unknown record is 404 NOT_FOUND, the rest 400 with the errors.</summary>
    private static IResult SingleFailure(SaveResult result)
    {
        if (result.Errors.Any(e => e.ErrorCode == "INVALID_CROSS_REFERENCE_KEY" && e.Fields is not { Count: > 0 }))
        {
            return SalesforceHttp.NotFound();
        }
        return SalesforceHttp.Errors(400, result.Errors.Select(e =>
            e.ErrorCode is "MALFORMED_ID" or "ENTITY_IS_DELETED" && e.Fields is ["Id"] or [] ? e with { Fields = null } : e));
    }

    private static async Task<IResult> CollectionSaveAsync(HttpContext http, SalesforceSandbox sandbox, bool update)
    {
        var api = ApiRequest.From(http);
        using var body = await SalesforceHttp.ReadJsonAsync(http, sandbox.Options.MaxRequestBodyBytes);
        var root = body.RootElement;
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("records", out var records) || records.ValueKind != JsonValueKind.Array)
        {
            return SalesforceHttp.Error(400, new SalesforceError("JSON_PARSER_ERROR", "records is required and must be an array"));
        }
        var allOrNone = root.TryGetProperty("allOrNone", out var aon) && aon.ValueKind == JsonValueKind.True;
        if (records.GetArrayLength() > CollectionLimit)
        {
            return SalesforceHttp.Error(400, new SalesforceError("EXCEEDED_ID_LIMIT",
                $"record limit reached. cannot submit more than {CollectionLimit} records into this call"));
        }
        var requests = new List<WriteRequest>();
        var preErrors = new Dictionary<int, SaveResult>();
        foreach (var record in records.EnumerateArray())
        {
            var index = requests.Count;
            ObjectDef? def = null;
            if (record.ValueKind == JsonValueKind.Object && record.TryGetProperty("attributes", out var attributes)
                && attributes.ValueKind == JsonValueKind.Object && attributes.TryGetProperty("type", out var typeName)
                && typeName.ValueKind == JsonValueKind.String)
            {
                def = api.Org.Catalog.Find(typeName.GetString()!);
                if (def is null)
                {
                    preErrors[index] = SaveResult.Fail(null, new SalesforceError("INVALID_TYPE", $"sObject type '{typeName.GetString()}' is not supported.", []));
                }
            }
            string? id = null;
            if (update && record.ValueKind == JsonValueKind.Object)
            {
                // jsforce sends a lowercase "id"; the documented form is "Id". Accept both.
                foreach (var p in record.EnumerateObject())
                {
                    if (p.Name.Equals("id", StringComparison.OrdinalIgnoreCase) && p.Value.ValueKind == JsonValueKind.String)
                    {
                        id = p.Value.GetString();
                    }
                }
                if (id is null)
                {
                    preErrors[index] = SaveResult.Fail(null, new SalesforceError("MISSING_ARGUMENT", "Id not specified in an update call", []));
                }
            }
            requests.Add(new WriteRequest(def, id ?? (update ? string.Empty : null), record));
        }
        SaveResult[] results;
        if (preErrors.Count > 0)
        {
            // Requests that fail before validation (bad type, no id) still take part in allOrNone.
            var valid = Enumerable.Range(0, requests.Count).Where(i => !preErrors.ContainsKey(i)).ToList();
            var saved = allOrNone ? [] : RecordWriter.Save(api.Org, [.. valid.Select(i => requests[i])], allOrNone: false, api.Grant.UserId);
            results = new SaveResult[requests.Count];
            for (var i = 0; i < requests.Count; i++)
            {
                results[i] = preErrors.TryGetValue(i, out var e) ? e
                    : allOrNone ? SaveResult.Fail(requests[i].Id is { Length: > 0 } rid ? rid : null, SaveResult.RolledBack)
                    : saved[valid.IndexOf(i)];
            }
        }
        else
        {
            results = RecordWriter.Save(api.Org, requests, allOrNone, api.Grant.UserId);
        }
        return CollectionResults(results);
    }

    private static IResult CollectionDelete(HttpContext http)
    {
        var api = ApiRequest.From(http);
        var ids = http.Request.Query["ids"].ToString().Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (ids.Length == 0)
        {
            return SalesforceHttp.Error(400, new SalesforceError("MISSING_ARGUMENT", "ids is required"));
        }
        if (ids.Length > CollectionLimit)
        {
            return SalesforceHttp.Error(400, new SalesforceError("EXCEEDED_ID_LIMIT",
                $"record limit reached. cannot submit more than {CollectionLimit} records into this call"));
        }
        var allOrNone = bool.TryParse(http.Request.Query["allOrNone"], out var a) && a;
        return CollectionResults(RecordWriter.Delete(api.Org, ids, allOrNone, api.Grant.UserId));
    }

    private static IResult CollectionResults(IReadOnlyList<SaveResult> results) => SalesforceHttp.Json(200, w =>
    {
        w.WriteStartArray();
        foreach (var r in results)
        {
            w.WriteStartObject();
            if (!string.IsNullOrEmpty(r.Id))
            {
                w.WriteString("id", r.Id);
            }
            w.WriteBoolean("success", r.Success);
            w.WriteStartArray("errors");
            foreach (var e in r.Errors)
            {
                e.WriteInCollection(w);
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
    });

    private static async Task<IResult> CollectionRetrieveAsync(HttpContext http, string type, SalesforceSandbox sandbox)
    {
        var api = ApiRequest.From(http);
        var def = RequireType(api, type);
        List<string> ids;
        List<string> fieldNames;
        if (HttpMethods.IsGet(http.Request.Method))
        {
            ids = [.. http.Request.Query["ids"].ToString().Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)];
            fieldNames = [.. http.Request.Query["fields"].ToString().Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)];
        }
        else
        {
            using var body = await SalesforceHttp.ReadJsonAsync(http, sandbox.Options.MaxRequestBodyBytes);
            var root = body.RootElement;
            ids = ReadStrings(root, "ids");
            fieldNames = ReadStrings(root, "fields");
        }
        if (ids.Count == 0 || fieldNames.Count == 0)
        {
            return SalesforceHttp.Error(400, new SalesforceError("MISSING_ARGUMENT", "ids and fields are required"));
        }
        if (ids.Count > 2000)
        {
            return SalesforceHttp.Error(400, new SalesforceError("EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 2000 records into this call"));
        }
        var projection = new List<FieldDef>();
        foreach (var name in fieldNames)
        {
            projection.Add(def.FindField(name) ?? throw new SalesforceApiException(400, new SalesforceError("INVALID_FIELD",
                $"No such column '{name}' on entity '{def.Name}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.")));
        }
        var table = api.Org.Table(def);
        var records = ids.Select(raw => SalesforceId.TryNormalize(raw, out var id) && table.Find(id) is { IsDeleted: false } r ? r : null).ToList();
        var prefix = Encoding.UTF8.GetBytes($"{api.BasePath}/sobjects/{def.Name}/");
        var typeName = JsonEncodedText.Encode(def.Name);
        return SalesforceHttp.Json(200, w =>
        {
            w.WriteStartArray();
            foreach (var r in records)
            {
                if (r is null)
                {
                    w.WriteNullValue();
                }
                else
                {
                    RecordJsonWriter.Write(w, r, projection, prefix, typeName);
                }
            }
            w.WriteEndArray();
        });
    }

    private static List<string> ReadStrings(JsonElement root, string name) =>
        root.ValueKind == JsonValueKind.Object && root.TryGetProperty(name, out var array) && array.ValueKind == JsonValueKind.Array
            ? [.. array.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!)]
            : [];

    /// <summary>
    /// <c>sobjects/{Type}/updated?start=&amp;end=</c>: ids of live records whose SystemModstamp is in the
    /// window. Salesforce rounds both bounds down to the minute and covers at most 30 days back.
    /// </summary>
    private static IResult Updated(HttpContext http, string type)
    {
        var api = ApiRequest.From(http);
        var def = RequireType(api, type);
        var (start, end) = ReplicationWindow(http, api.Org, TimeSpan.FromDays(30));
        var ids = new List<string>();
        foreach (var record in api.Org.Table(def).Snapshot().Span)
        {
            if (record is { IsDeleted: false } && record.SystemModstamp >= start && record.SystemModstamp < end)
            {
                ids.Add(record.Id);
            }
        }
        if (ids.Count > 600_000)
        {
            return SalesforceHttp.Error(400, new SalesforceError("EXCEEDED_ID_LIMIT", "No more than 600,000 ids can be returned. Reduce the date range."));
        }
        return SalesforceHttp.Json(200, w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("ids");
            foreach (var id in ids)
            {
                w.WriteStringValue(id);
            }
            w.WriteEndArray();
            w.WriteString("latestDateCovered", SalesforceFormat.DateTimeText(end));
            w.WriteEndObject();
        });
    }

    /// <summary>
    /// <c>sobjects/{Type}/deleted?start=&amp;end=</c>: recycle-bin records deleted in the window.
    /// <c>earliestDateAvailable</c> is the point before which purged deletions are lost (records are
    /// kept 15 days): a client whose start is earlier must resynchronise fully.
    /// </summary>
    private static IResult Deleted(HttpContext http, string type)
    {
        var api = ApiRequest.From(http);
        var def = RequireType(api, type);
        api.Org.PurgeRecycleBin();
        var (start, end) = ReplicationWindow(http, api.Org, TimeSpan.FromDays(30));
        var deleted = new List<Record>();
        foreach (var record in api.Org.Table(def).Snapshot().Span)
        {
            if (record is { DeletedDate: { } d } && d >= start && d < end)
            {
                deleted.Add(record);
            }
        }
        deleted.Sort((a, b) => a.DeletedDate!.Value.CompareTo(b.DeletedDate!.Value));
        return SalesforceHttp.Json(200, w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("deletedRecords");
            foreach (var r in deleted)
            {
                w.WriteStartObject();
                w.WriteString("id", r.Id);
                w.WriteString("deletedDate", SalesforceFormat.DateTimeText(r.DeletedDate!.Value));
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteString("earliestDateAvailable", SalesforceFormat.DateTimeText(FloorMinute(api.Org.PurgedThrough)));
            w.WriteString("latestDateCovered", SalesforceFormat.DateTimeText(end));
            w.WriteEndObject();
        });
    }

    private static (DateTime Start, DateTime End) ReplicationWindow(HttpContext http, Org org, TimeSpan maxAge)
    {
        var startText = http.Request.Query["start"].ToString();
        var endText = http.Request.Query["end"].ToString();
        if (startText.Length == 0 || endText.Length == 0)
        {
            throw new SalesforceApiException(400, new SalesforceError("MISSING_ARGUMENT", "start and end are required parameters"));
        }
        if (!SalesforceFormat.TryParseDateTime(startText, out var start) || !SalesforceFormat.TryParseDateTime(endText, out var end))
        {
            throw new SalesforceApiException(400, new SalesforceError("INVALID_REPLICATION_DATE", $"unable to parse start or end date: {startText}, {endText}"));
        }
        var now = org.UtcNow;
        start = FloorMinute(start);
        end = FloorMinute(end < now ? end : now);
        if (start > end)
        {
            throw new SalesforceApiException(400, new SalesforceError("INVALID_REPLICATION_DATE", "startDate must chronologically precede endDate by more than one minute"));
        }
        if (start < now - maxAge)
        {
            throw new SalesforceApiException(400, new SalesforceError("INVALID_REPLICATION_DATE",
                $"startDate cannot be more than {maxAge.TotalDays.ToString(CultureInfo.InvariantCulture)} days ago"));
        }
        return (start, end);
    }

    private static DateTime FloorMinute(DateTime value) =>
        new(value.Ticks - (value.Ticks % TimeSpan.TicksPerMinute), DateTimeKind.Utc);
}
