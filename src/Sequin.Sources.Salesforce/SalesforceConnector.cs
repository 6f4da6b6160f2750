using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Sequin.Sources.Salesforce;

/// <summary>
/// The Salesforce REST connector (API v62.0, ../shared/reference/upstream-apis.md). Backfill: SOQL on the selected
/// fields <c>ORDER BY SystemModstamp, Id</c>, following <c>nextRecordsUrl</c> and resuming from the last
/// (SystemModstamp, Id) when a locator is gone. Changes: <c>queryAll … WHERE SystemModstamp &gt; cursor − overlap</c>,
/// which returns updates and soft deletes (<c>IsDeleted = true</c>) in one ordered stream; the delete log
/// (getDeleted) is checked when the last read is old, and a gap means a full resync. Writes: sObject Collections
/// with allOrNone, at most 200 records per request.
/// </summary>
internal sealed partial class SalesforceConnector(SalesforceApiClient api, SalesforceOptions options, ConnectorLimits limits, TimeProvider time) : ISourceConnector
{
    private const string IdField = "Id";
    private const string ModstampField = "SystemModstamp";
    private const string IsDeletedField = "IsDeleted";
    private readonly ConcurrentDictionary<string, SourceObject> _describes = new(StringComparer.OrdinalIgnoreCase);

    public string Kind => "salesforce";

    public ConnectorLimits Limits => limits;

    internal SalesforceApiClient Api => api;

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    public async Task<IReadOnlyList<SourceObjectInfo>> ListObjectsAsync(CancellationToken cancellationToken)
    {
        using var response = await api.SendAsync(HttpMethod.Get, $"{api.ApiBase}/sobjects", null, idempotent: true, cancellationToken);
        var list = new List<SourceObjectInfo>();
        try
        {
            foreach (var o in response.Body!.RootElement.GetProperty("sobjects").EnumerateArray())
            {
                var queryable = Flag(o, "queryable");
                var replicateable = !o.TryGetProperty("replicateable", out var r) || r.ValueKind != JsonValueKind.False;
                list.Add(new SourceObjectInfo(o.GetProperty("name").GetString()!, o.TryGetProperty("label", out var l) ? l.GetString() ?? "" : "",
                    queryable && replicateable, Flag(o, "createable") || Flag(o, "updateable") || Flag(o, "deletable")));
            }
        }
        catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or NullReferenceException)
        {
            throw new SourceException($"Salesforce describeGlobal: unexpected response shape: {e.Message}", "MALFORMED_RESPONSE", 200, e);
        }

        return list;
    }

    public async Task<SourceObject> DescribeObjectAsync(string objectName, CancellationToken cancellationToken)
    {
        using var response = await api.SendAsync(HttpMethod.Get, $"{api.ApiBase}/sobjects/{Uri.EscapeDataString(objectName)}/describe",
            null, idempotent: true, cancellationToken);
        try
        {
            var root = response.Body!.RootElement;
            var fields = new List<SourceField>();
            foreach (var f in root.GetProperty("fields").EnumerateArray())
            {
                var type = f.GetProperty("type").GetString() ?? "string";
                fields.Add(new SourceField(f.GetProperty("name").GetString()!, type, SalesforceTypes.KindOf(type),
                    type == "reference", Flag(f, "createable"), Flag(f, "updateable")));
            }

            var name = root.GetProperty("name").GetString()!;
            var describe = new SourceObject(name, IdField, fields.Any(f => f.Name == ModstampField) ? ModstampField : null, fields);
            _describes[name] = describe;
            return describe;
        }
        catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or NullReferenceException)
        {
            throw new SourceException($"Salesforce describe {objectName}: unexpected response shape: {e.Message}", "MALFORMED_RESPONSE", 200, e);
        }
    }

    public ApiUsage? Usage => api.DailyUsage is (var used, var max) && max > 0 ? new ApiUsage(used, max) : null;

    public async Task<long?> EstimateCountAsync(string objectName, CancellationToken cancellationToken)
    {
        using var response = await api.SendAsync(HttpMethod.Get, $"{api.ApiBase}/query?q={Uri.EscapeDataString($"SELECT COUNT() FROM {objectName}")}",
            null, idempotent: true, cancellationToken, query: true);
        return response.Body?.RootElement is { ValueKind: JsonValueKind.Object } root && root.TryGetProperty("totalSize", out var total)
            && total.TryGetInt64(out var count) ? count : null;
    }

    public async Task<BackfillPage> ReadBackfillPageAsync(ReadRequest request, string? cursor, CancellationToken cancellationToken)
    {
        var state = cursor is null ? new BackfillCursor() : Deserialize<BackfillCursor>(cursor);
        var describe = await GetDescribeAsync(request.Object, cancellationToken);
        var plan = QueryPlan.For(request, describe, includeDeleted: false);
        var startedAt = state.StartedAt ?? time.GetUtcNow().UtcDateTime;

        Page page;
        if (state.Next is not null)
        {
            page = await FollowOrRequeryAsync(state.Next, () => BackfillSoql(plan, state), plan, cancellationToken);
        }
        else
        {
            page = await QueryAsync(BackfillSoql(plan, state), plan, includeDeleted: false, cancellationToken);
            if (state.StartedAt is null && page.ServerDate is { } serverNow)
            {
                // The change cursor starts at the backfill's start by the upstream clock (the Date header has
                // one-second resolution, hence the extra second).
                startedAt = (serverNow < startedAt ? serverNow : startedAt).AddSeconds(-1);
            }
        }

        var last = page.Records.Count > 0 ? page.Records[^1] : null;
        var next = new BackfillCursor
        {
            StartedAt = startedAt,
            Modstamp = last?.Version ?? state.Modstamp,
            LastId = last?.Id ?? state.LastId,
            Next = page.Done ? null : page.NextRecordsUrl,
        };
        var change = page.Done ? Serialize(new ChangeCursor { Modstamp = startedAt, PolledAt = startedAt }) : null;
        return new BackfillPage(page.Records, Serialize(next), page.Done, change, page.Misfits);
    }

    public async Task<ChangePage> ReadChangesAsync(ReadRequest request, string cursor, CancellationToken cancellationToken)
    {
        var state = Deserialize<ChangeCursor>(cursor);
        var describe = await GetDescribeAsync(request.Object, cancellationToken);
        var hasIsDeleted = describe.Find(IsDeletedField) is not null;
        var plan = QueryPlan.For(request, describe, includeDeleted: hasIsDeleted);
        var now = time.GetUtcNow().UtcDateTime;
        var queryStartedAt = state.QueryStartedAt ?? now;

        Page page;
        if (state.Next is not null)
        {
            page = await FollowOrRequeryAsync(state.Next, () => ChangeSoql(plan, state), plan, cancellationToken, hasIsDeleted);
        }
        else
        {
            if (hasIsDeleted && state.PolledAt is { } polledAt && now - polledAt > options.DeleteLogCheckAfter)
            {
                await CheckDeleteLogAsync(request.Object, polledAt, now, cancellationToken);
            }

            page = await QueryAsync(ChangeSoql(plan, state), plan, hasIsDeleted, cancellationToken);
            if (page.ServerDate is { } serverNow && serverNow.AddSeconds(-1) < queryStartedAt)
            {
                queryStartedAt = serverNow.AddSeconds(-1);
            }
        }

        var upserts = new List<SourceRecord>(page.Records.Count);
        var deletes = new List<string>();
        var modstamp = state.Modstamp;
        for (var i = 0; i < page.Records.Count; i++)
        {
            var record = page.Records[i];
            if (record.Version is { } v && (modstamp is null || v > modstamp))
            {
                modstamp = v;
            }

            if (page.Deleted is { } deleted && deleted[i])
            {
                deletes.Add(record.Id);
            }
            else
            {
                upserts.Add(record);
            }
        }

        var next = new ChangeCursor
        {
            Modstamp = modstamp,
            PolledAt = page.Done ? queryStartedAt : state.PolledAt,
            QueryStartedAt = page.Done ? null : queryStartedAt,
            Next = page.Done ? null : page.NextRecordsUrl,
        };
        return new ChangePage(upserts, deletes, Serialize(next), !page.Done, page.Misfits);
    }

    public async Task<IReadOnlyList<WriteResult>> WriteAsync(WriteBatch batch, CancellationToken cancellationToken)
    {
        var results = new List<WriteResult>(batch.Records.Count);
        foreach (var chunk in batch.Records.Chunk(limits.MaxWriteBatch))
        {
            SalesforceApiClient.Response response;
            switch (batch.Operation)
            {
                case WriteOperation.Delete:
                    var ids = string.Join(',', chunk.Select(r => r.Id ?? throw new ArgumentException("a delete needs the record id", nameof(batch))));
                    response = await api.SendAsync(HttpMethod.Delete, $"{api.ApiBase}/composite/sobjects?ids={Uri.EscapeDataString(ids)}&allOrNone=true",
                        null, idempotent: false, cancellationToken);
                    break;
                default:
                    var body = CollectionBody(batch.Object, batch.Operation, chunk);
                    response = await api.SendAsync(batch.Operation == WriteOperation.Create ? HttpMethod.Post : HttpMethod.Patch,
                        $"{api.ApiBase}/composite/sobjects", () => new ByteArrayContent(body) { Headers = { { "Content-Type", "application/json" } } },
                        idempotent: batch.Operation == WriteOperation.Update, cancellationToken);
                    break;
            }

            using (response)
            {
                results.AddRange(ParseSaveResults(response.Body, chunk.Length));
            }
        }

        return results;
    }

    /// <summary>
    /// sObject Collections retrieve with a request body (up to 2,000 ids per request; the GET form is limited by the
    /// URL length to about 800 ids and by the field list's length), one request per 2,000 ids.
    /// </summary>
    public async Task<IReadOnlyList<SourceRecord>> ReadRecordsAsync(ReadRequest request, IReadOnlyList<string> ids, CancellationToken cancellationToken)
    {
        var describe = await GetDescribeAsync(request.Object, cancellationToken);
        var plan = QueryPlan.For(request, describe, includeDeleted: false);
        var records = new List<SourceRecord>(ids.Count);
        foreach (var chunk in ids.Chunk(RetrieveBatch))
        {
            var body = RetrieveBody(chunk, plan.SelectNames);
            var (found, _) = await api.SendAsync(HttpMethod.Post, $"{api.ApiBase}/composite/sobjects/{Uri.EscapeDataString(plan.Object)}",
                () => new ByteArrayContent(body) { Headers = { { "Content-Type", "application/json" } } }, idempotent: true,
                (span, _) => ParseRetrieved(span, plan), cancellationToken);
            records.AddRange(found);
        }

        return records;
    }

    private const int RetrieveBatch = 2000;

    /// <summary>
    /// One Composite request per chunk of <see cref="ConnectorLimits.MaxWriteBatch"/>: the sObject Collections save
    /// (allOrNone within the chunk) and the sObject Collections retrieve of the same ids (<c>@{write[i].id}</c>), one API
    /// call. The composite itself runs with <c>allOrNone: false</c>: with true, a failed retrieve (a field deleted
    /// upstream since the describe, say) would roll the accepted write back; the write is what the caller asked for,
    /// the read-back only refreshes values, so its failure is reported, not fatal (docs/adr/0013).
    /// </summary>
    public async Task<WriteAndReadResult> WriteAndReadAsync(WriteBatch batch, ReadRequest read, CancellationToken cancellationToken)
    {
        if (batch.Operation == WriteOperation.Delete)
        {
            throw new ArgumentException("a delete has nothing to read back; use WriteAsync", nameof(batch));
        }

        var plan = read.Fields.Count == 0 ? null : QueryPlan.For(read, await GetDescribeAsync(read.Object, cancellationToken), includeDeleted: false);
        var create = batch.Operation == WriteOperation.Create;
        var writeMethod = create ? "POST" : "PATCH";
        var writeUrl = $"{api.ApiBase}/composite/sobjects";
        var retrieveUrl = plan is null ? null : $"{api.ApiBase}/composite/sobjects/{Uri.EscapeDataString(plan.Object)}";
        var results = new List<WriteResult>(batch.Records.Count);
        List<SourceRecord>? records = [];
        string? readFailure = null;
        foreach (var chunk in batch.Records.Chunk(limits.MaxWriteBatch))
        {
            var body = CompositeBody(writeMethod, writeUrl, CollectionBody(batch.Object, batch.Operation, chunk), retrieveUrl, plan?.SelectNames, chunk.Length);
            using var response = await api.SendAsync(HttpMethod.Post, $"{api.ApiBase}/composite",
                () => new ByteArrayContent(body) { Headers = { { "Content-Type", "application/json" } } }, idempotent: !create, cancellationToken);
            if (response.Body?.RootElement is not { ValueKind: JsonValueKind.Object } root || !root.TryGetProperty("compositeResponse", out var subs)
                || subs.ValueKind != JsonValueKind.Array || subs.GetArrayLength() != (plan is null ? 1 : 2))
            {
                throw new SourceException("Salesforce Composite: expected one response per subrequest", "MALFORMED_RESPONSE", 200);
            }

            var (writeStatus, writeBody) = Subresponse(subs[0]);
            if (writeStatus is < 200 or > 299)
            {
                // As the same request sent on its own would fail (SalesforceApiClient.SendAsync).
                var (code, text) = SalesforceApiClient.ParseError(writeBody is { } e ? System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(e) : [], writeStatus);
                throw new SourceException($"Salesforce {writeMethod} {writeUrl} failed: {writeStatus} {code}: {text}", code, writeStatus);
            }

            var written = ParseSaveResults(writeBody, chunk.Length);
            results.AddRange(written);
            if (plan is null || records is null || written.Any(r => !r.Success))
            {
                continue;
            }

            var (readStatus, readBody) = Subresponse(subs[1]);
            var raw = readBody is { } r ? System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(r) : [];
            if (readStatus is < 200 or > 299)
            {
                var (code, text) = SalesforceApiClient.ParseError(raw, readStatus);
                readFailure = $"Salesforce POST {retrieveUrl} failed: {readStatus} {code}: {text}";
                records = null;
                continue;
            }

            try
            {
                records.AddRange(ParseRetrieved(raw, plan).Records);
            }
            catch (JsonException e)
            {
                readFailure = $"Salesforce POST {retrieveUrl}: malformed JSON in the {readStatus} response: {e.Message}";
                records = null;
            }
        }

        return new WriteAndReadResult(results, results.All(r => r.Success) ? records : null, results.All(r => r.Success) ? readFailure : null);

        static (int Status, JsonElement? Body) Subresponse(JsonElement sub) =>
            (sub.TryGetProperty("httpStatusCode", out var s) && s.TryGetInt32(out var status) ? status : 0,
                sub.TryGetProperty("body", out var b) && b.ValueKind != JsonValueKind.Null ? b : null);
    }

    /// <summary>
    /// <c>{"allOrNone":false,"compositeRequest":[{write},{retrieve}]}</c>: the save with its sObject Collections body, then
    /// (when fields are asked for) <c>POST composite/sobjects/{Type}</c> with <c>{"ids":["@{write[0].id}",…],"fields":[…]}</c>.
    /// </summary>
    private static byte[] CompositeBody(string writeMethod, string writeUrl, byte[] writeBody, string? retrieveUrl, string[]? fields, int count)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            w.WriteBoolean("allOrNone", false);
            w.WriteStartArray("compositeRequest");
            w.WriteStartObject();
            w.WriteString("method", writeMethod);
            w.WriteString("url", writeUrl);
            w.WriteString("referenceId", "write");
            w.WritePropertyName("body");
            w.WriteRawValue(writeBody, skipInputValidation: true);
            w.WriteEndObject();
            if (retrieveUrl is not null)
            {
                w.WriteStartObject();
                w.WriteString("method", "POST");
                w.WriteString("url", retrieveUrl);
                w.WriteString("referenceId", "read");
                w.WriteStartObject("body");
                w.WriteStartArray("ids");
                for (var i = 0; i < count; i++)
                {
                    w.WriteStringValue($"@{{write[{i}].id}}");
                }

                w.WriteEndArray();
                w.WriteStartArray("fields");
                foreach (var field in fields!)
                {
                    w.WriteStringValue(field);
                }

                w.WriteEndArray();
                w.WriteEndObject();
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return stream.ToArray();
    }

    private static byte[] RetrieveBody(string[] ids, string[] fields)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            w.WriteStartArray("ids");
            foreach (var id in ids)
            {
                w.WriteStringValue(id);
            }

            w.WriteEndArray();
            w.WriteStartArray("fields");
            foreach (var field in fields)
            {
                w.WriteStringValue(field);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return stream.ToArray();
    }

    public Task RefreshCredentialsAsync(CancellationToken cancellationToken) => api.RefreshAsync(null, cancellationToken);

    private async Task<SourceObject> GetDescribeAsync(string objectName, CancellationToken cancellationToken) =>
        _describes.TryGetValue(objectName, out var d) ? d : await DescribeObjectAsync(objectName, cancellationToken);

    private async Task CheckDeleteLogAsync(string objectName, DateTime since, DateTime now, CancellationToken cancellationToken)
    {
        if (now - since > TimeSpan.FromDays(15))
        {
            throw new SourceResyncRequiredException(
                $"the last change read of {objectName} was at {since:u}, more than 15 days ago: Salesforce's delete log no longer covers it; resyncing");
        }

        var start = since.AddMinutes(-1);
        using var response = await api.SendAsync(HttpMethod.Get,
            $"{api.ApiBase}/sobjects/{Uri.EscapeDataString(objectName)}/deleted/?start={Uri.EscapeDataString(SalesforceTypes.ReplicationDateTime(start))}&end={Uri.EscapeDataString(SalesforceTypes.ReplicationDateTime(now))}",
            null, idempotent: true, cancellationToken);
        if (response.Body?.RootElement.TryGetProperty("earliestDateAvailable", out var earliest) == true
            && earliest.ValueKind == JsonValueKind.String && SalesforceTypes.TryParseDateTime(earliest.GetString(), out var earliestDate)
            && earliestDate > start)
        {
            throw new SourceResyncRequiredException(
                $"Salesforce's delete log of {objectName} starts at {earliestDate:u}, after the last change read at {since:u}: deletes may be lost; resyncing");
        }
    }

    private static string BackfillSoql(QueryPlan plan, BackfillCursor state)
    {
        var where = state.Modstamp is { } m && state.LastId is { } id
            ? $" WHERE SystemModstamp > {SalesforceTypes.SoqlDateTime(m)} OR (SystemModstamp = {SalesforceTypes.SoqlDateTime(m)} AND Id > {SalesforceTypes.SoqlString(id)})"
            : "";
        return $"SELECT {plan.SelectList} FROM {plan.Object}{where} ORDER BY SystemModstamp, Id";
    }

    private string ChangeSoql(QueryPlan plan, ChangeCursor state)
    {
        var from = (state.Modstamp ?? DateTime.UnixEpoch) - options.OverlapWindow;
        return $"SELECT {plan.SelectList} FROM {plan.Object} WHERE SystemModstamp > {SalesforceTypes.SoqlDateTime(from)} ORDER BY SystemModstamp, Id";
    }

    private async Task<Page> FollowOrRequeryAsync(string nextRecordsUrl, Func<string> soql, QueryPlan plan, CancellationToken cancellationToken,
        bool includeDeleted = false)
    {
        try
        {
            return await api.SendAsync(HttpMethod.Get, nextRecordsUrl, null, idempotent: true, (body, date) => ParsePage(body, date, plan),
                cancellationToken, query: true);
        }
        catch (SourceException e) when (e.Code is "INVALID_QUERY_LOCATOR" or "NOT_FOUND" || e.Status == 404)
        {
            // Locators expire (15 minutes idle in Salesforce) and die with the server: resume from the last row instead.
            return await QueryAsync(soql(), plan, includeDeleted, cancellationToken);
        }
    }

    private async Task<Page> QueryAsync(string soql, QueryPlan plan, bool includeDeleted, CancellationToken cancellationToken)
    {
        return await api.SendAsync(HttpMethod.Get, $"{api.ApiBase}/{(includeDeleted ? "queryAll" : "query")}?q={Uri.EscapeDataString(soql)}",
            null, idempotent: true, (body, date) => ParsePage(body, date, plan), cancellationToken, query: true);
    }

    private static byte[] CollectionBody(string objectName, WriteOperation operation, WriteRecord[] records)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            w.WriteBoolean("allOrNone", true);
            w.WriteStartArray("records");
            foreach (var record in records)
            {
                w.WriteStartObject();
                w.WriteStartObject("attributes");
                w.WriteString("type", objectName);
                w.WriteEndObject();
                if (operation == WriteOperation.Update)
                {
                    w.WriteString("id", record.Id ?? throw new ArgumentException("an update needs the record id", nameof(records)));
                }

                foreach (var (name, value) in record.Fields)
                {
                    if (string.Equals(name, IdField, StringComparison.OrdinalIgnoreCase))
                    {
                        continue;
                    }

                    w.WritePropertyName(name);
                    WriteValue(w, value);
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return stream.ToArray();
    }

    private static void WriteValue(Utf8JsonWriter w, object? value)
    {
        switch (value)
        {
            case null: w.WriteNullValue(); break;
            case string s: w.WriteStringValue(s); break;
            case bool b: w.WriteBooleanValue(b); break;
            case int i: w.WriteNumberValue(i); break;
            case long l: w.WriteNumberValue(l); break;
            case decimal m: w.WriteNumberValue(m); break;
            case double f: w.WriteNumberValue(f); break;
            case DateOnly d: w.WriteStringValue(d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)); break;
            case DateTime dt: w.WriteStringValue(dt.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture)); break;
            case DateTimeOffset dto: w.WriteStringValue(dto.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture)); break;
            case TimeOnly t: w.WriteStringValue(t.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture) + "Z"); break;
            case IEnumerable<string> list: w.WriteStringValue(string.Join(';', list)); break;
            case JsonElement e: e.WriteTo(w); break;
            default: w.WriteStringValue(Convert.ToString(value, CultureInfo.InvariantCulture)); break;
        }
    }

    private static IEnumerable<WriteResult> ParseSaveResults(JsonDocument? body, int expected) => ParseSaveResults(body?.RootElement, expected);

    private static List<WriteResult> ParseSaveResults(JsonElement? body, int expected)
    {
        if (body is not { ValueKind: JsonValueKind.Array } array || array.GetArrayLength() != expected)
        {
            throw new SourceException($"Salesforce sObject Collections: expected {expected} save results", "MALFORMED_RESPONSE", 200);
        }

        var results = new List<WriteResult>(expected);
        foreach (var r in array.EnumerateArray())
        {
            var errors = new List<WriteError>();
            if (r.TryGetProperty("errors", out var es) && es.ValueKind == JsonValueKind.Array)
            {
                foreach (var e in es.EnumerateArray())
                {
                    var fields = e.TryGetProperty("fields", out var fs) && fs.ValueKind == JsonValueKind.Array
                        ? fs.EnumerateArray().Select(f => f.GetString() ?? "").ToList()
                        : [];
                    errors.Add(new WriteError(
                        (e.TryGetProperty("statusCode", out var c) ? c.GetString() : e.TryGetProperty("errorCode", out var ec) ? ec.GetString() : null) ?? "UNKNOWN",
                        e.TryGetProperty("message", out var m) ? m.GetString() ?? "" : "", fields));
                }
            }

            results.Add(new WriteResult(r.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String ? id.GetString() : null,
                r.TryGetProperty("success", out var s) && s.ValueKind == JsonValueKind.True, errors));
        }

        return results;
    }

    private static bool Flag(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.True;

    private static string Serialize<T>(T value) => JsonSerializer.Serialize(value, CursorJson.Options);

    private static T Deserialize<T>(string cursor) where T : new()
    {
        try
        {
            return JsonSerializer.Deserialize<T>(cursor, CursorJson.Options) ?? new T();
        }
        catch (JsonException e)
        {
            throw new SourceException($"unreadable Salesforce cursor '{SalesforceTypes.Truncate(cursor)}': {e.Message}", "BAD_CURSOR", null, e);
        }
    }

    private sealed record Page(List<SourceRecord> Records, bool[]? Deleted, bool Done, string? NextRecordsUrl, List<ValueMisfit> Misfits, DateTime? ServerDate);

    /// <summary>The SOQL select list and how its columns map onto the request's fields.</summary>
    private sealed class QueryPlan
    {
        public required ReadRequest Request { get; init; }
        public required string Object { get; init; }
        public required string[] SelectNames { get; init; }
        public required byte[][] SelectNamesUtf8 { get; init; }
        public required Dictionary<string, int> SelectIndex { get; init; }
        public required int[] RequestSlotOf { get; init; }
        public int IdSlot { get; init; }
        public int ModstampSlot { get; init; }
        public int IsDeletedSlot { get; init; }
        public string SelectList => string.Join(", ", SelectNames);

        public static QueryPlan For(ReadRequest request, SourceObject describe, bool includeDeleted)
        {
            var names = new List<string> { IdField };
            if (describe.VersionField is not null)
            {
                names.Add(ModstampField);
            }

            if (includeDeleted)
            {
                names.Add(IsDeletedField);
            }

            foreach (var f in request.Fields)
            {
                if (!names.Contains(f.Name, StringComparer.OrdinalIgnoreCase))
                {
                    names.Add(f.Name);
                }
            }

            var index = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
            for (var i = 0; i < names.Count; i++)
            {
                index[names[i]] = i;
            }

            var slots = Enumerable.Repeat(-1, names.Count).ToArray();
            for (var i = 0; i < request.Fields.Count; i++)
            {
                slots[index[request.Fields[i].Name]] = i;
            }

            return new QueryPlan
            {
                Request = request,
                Object = describe.Name,
                SelectNames = [.. names],
                SelectNamesUtf8 = [.. names.Select(System.Text.Encoding.UTF8.GetBytes)],
                SelectIndex = index,
                RequestSlotOf = slots,
                IdSlot = 0,
                ModstampSlot = describe.VersionField is null ? -1 : 1,
                IsDeletedSlot = includeDeleted ? (describe.VersionField is null ? 1 : 2) : -1,
            };
        }
    }

    private sealed class BackfillCursor
    {
        [JsonPropertyName("started")] public DateTime? StartedAt { get; set; }
        [JsonPropertyName("modstamp")] public DateTime? Modstamp { get; set; }
        [JsonPropertyName("id")] public string? LastId { get; set; }
        [JsonPropertyName("next")] public string? Next { get; set; }
    }

    private sealed class ChangeCursor
    {
        [JsonPropertyName("modstamp")] public DateTime? Modstamp { get; set; }
        [JsonPropertyName("polled")] public DateTime? PolledAt { get; set; }
        [JsonPropertyName("query_started")] public DateTime? QueryStartedAt { get; set; }
        [JsonPropertyName("next")] public string? Next { get; set; }
    }

    private static class CursorJson
    {
        public static readonly JsonSerializerOptions Options = new()
        {
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        };
    }
}
