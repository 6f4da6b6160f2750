using System.Buffers;
using System.Text.Json;
using System.Text.RegularExpressions;
using Sequin.Sandbox.Salesforce.Json;
using Sequin.Sandbox.Salesforce.Writes;

namespace Sequin.Sandbox.Salesforce.Http;

/// <summary>
/// <c>POST /services/data/vXX.X/composite</c> (REST API Developer Guide, "Composite", "Composite Subrequest Result",
/// "allOrNone Parameters in Composite and Collections Requests"): up to 25 subrequests run in order against the same
/// resources as standalone requests, in the caller's session, as ONE API call. A later subrequest may refer to an
/// earlier one's response in its url or body with <c>@{referenceId.field}</c> / <c>@{referenceId[0].id}</c>.
/// With <c>allOrNone: true</c> the first failing subrequest rolls back everything the composite wrote: it keeps its
/// real error and every other subrequest answers 400 <c>PROCESSING_HALTED</c>; it also forces allOrNone on every
/// sObject Collections subrequest. With <c>allOrNone: false</c> each subrequest stands alone, and one that refers to
/// a value that does not exist (an unknown or failed subrequest) answers 400 <c>PROCESSING_HALTED</c>.
/// </summary>
internal static partial class RestEndpoints
{
    /// <summary>Subrequests per composite request.</summary>
    public const int CompositeLimit = 25;

    /// <summary>sObject Collections, Query, QueryAll and query-more subrequests per composite request.</summary>
    public const int CompositeQueryLimit = 5;

    private const string RolledBackMessage = "The transaction was rolled back since another operation in the same transaction failed.";

    [GeneratedRegex(@"@\{([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+|\[[0-9]+\])*)\}")]
    private static partial Regex ReferencePattern();

    [GeneratedRegex(@"^[A-Za-z0-9_]+$")]
    private static partial Regex ReferenceIdPattern();

    [GeneratedRegex(@"^/services/data/v(\d{2})\.0(/[^?]*)(\?.*)?$")]
    private static partial Regex SubrequestUrlPattern();

    private sealed record Subrequest(string Method, string Url, string ReferenceId, JsonElement? Body);

    private sealed record SubResponse(int Status, JsonDocument? Body, string? Location)
    {
        public JsonElement? Root => Body?.RootElement;
    }

    private static async Task<IResult> CompositeAsync(HttpContext http, SalesforceSandbox sandbox)
    {
        var api = ApiRequest.From(http);
        using var document = await SalesforceHttp.ReadJsonAsync(http, sandbox.Options.MaxRequestBodyBytes);
        var (subrequests, allOrNone) = ParseComposite(document.RootElement);
        var responses = new SubResponse?[subrequests.Count];
        var halted = false;
        var undo = new UndoLog();
        RecordWriter.CurrentUndo.Value = allOrNone ? undo : null;
        try
        {
            for (var i = 0; i < subrequests.Count && !halted; i++)
            {
                var response = await RunSubrequestAsync(http, api, sandbox, subrequests[i], subrequests, responses, allOrNone);
                responses[i] = response;
                if (allOrNone && Failed(response))
                {
                    undo.Rollback(api.Org);
                    halted = true;
                    for (var j = 0; j < subrequests.Count; j++)
                    {
                        if (j != i)
                        {
                            responses[j]?.Body?.Dispose();
                            responses[j] = Halted(RolledBackMessage);
                        }
                    }
                }
            }
        }
        finally
        {
            RecordWriter.CurrentUndo.Value = null;
        }

        return SalesforceHttp.Json(200, w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("compositeResponse");
            for (var i = 0; i < subrequests.Count; i++)
            {
                var r = responses[i]!;
                w.WriteStartObject();
                w.WritePropertyName("body");
                if (r.Root is { } body)
                {
                    body.WriteTo(w);
                }
                else
                {
                    w.WriteNullValue();
                }
                w.WriteStartObject("httpHeaders");
                if (r.Location is { } location)
                {
                    w.WriteString("Location", location);
                }
                w.WriteEndObject();
                w.WriteNumber("httpStatusCode", r.Status);
                w.WriteString("referenceId", subrequests[i].ReferenceId);
                w.WriteEndObject();
                r.Body?.Dispose();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    /// <summary>The request body checks Salesforce makes before running anything (400, nothing processed).</summary>
    private static (List<Subrequest> Subrequests, bool AllOrNone) ParseComposite(JsonElement root)
    {
        static SalesforceApiException Bad(string message) => new(400, new SalesforceError("JSON_PARSER_ERROR", message));
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw Bad("The composite request body must be a JSON object.");
        }
        var allOrNone = false;
        if (root.TryGetProperty("allOrNone", out var aon))
        {
            allOrNone = aon.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => throw Bad("'allOrNone' must be a boolean."),
            };
        }
        if (!root.TryGetProperty("compositeRequest", out var list) || list.ValueKind != JsonValueKind.Array || list.GetArrayLength() == 0)
        {
            throw Bad("'compositeRequest' is a required field and must be a non-empty array.");
        }
        if (list.GetArrayLength() > CompositeLimit)
        {
            throw new SalesforceApiException(400, new SalesforceError("LIMIT_EXCEEDED",
                $"A composite request can contain at most {CompositeLimit} subrequests; this one has {list.GetArrayLength()}."));
        }
        var result = new List<Subrequest>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var queries = 0;
        foreach (var item in list.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Object)
            {
                throw Bad("Each subrequest must be a JSON object.");
            }
            string Required(string name) =>
                item.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String && v.GetString() is { Length: > 0 } text
                    ? text
                    : throw Bad($"'{name}' is a required field.");
            var method = Required("method").ToUpperInvariant();
            var url = Required("url");
            var referenceId = Required("referenceId");
            if (method is not ("GET" or "POST" or "PATCH" or "PUT" or "DELETE" or "HEAD"))
            {
                throw Bad($"Invalid HTTP method '{method}' in subrequest '{referenceId}'.");
            }
            if (!ReferenceIdPattern().IsMatch(referenceId))
            {
                throw Bad($"Invalid referenceId '{referenceId}': it can contain only letters, numbers and underscores.");
            }
            if (!seen.Add(referenceId))
            {
                throw Bad($"Duplicate referenceId '{referenceId}': each subrequest needs its own.");
            }
            if (!url.StartsWith("/services/data/v", StringComparison.Ordinal))
            {
                throw Bad($"The url of subrequest '{referenceId}' must start with /services/data/vXX.X/.");
            }
            var path = url.Split('?')[0];
            // "Up to 5 of these subrequests can be sObject Collections or query operations" (REST API Developer Guide, Composite).
            if ((path.Contains("/composite/sobjects", StringComparison.Ordinal) || path.Contains("/query", StringComparison.Ordinal))
                && ++queries > CompositeQueryLimit)
            {
                throw new SalesforceApiException(400, new SalesforceError("LIMIT_EXCEEDED",
                    $"A composite request can contain at most {CompositeQueryLimit} sObject Collections or query operations."));
            }
            JsonElement? body = item.TryGetProperty("body", out var b) && b.ValueKind != JsonValueKind.Null ? b : null;
            result.Add(new Subrequest(method, url, referenceId, body));
        }
        return (result, allOrNone);
    }

    /// <summary>A subrequest failed when it answered 4xx/5xx, or an sObject Collections save or delete had a record fail.</summary>
    private static bool Failed(SubResponse response) =>
        response.Status >= 400
        || (response.Root is { ValueKind: JsonValueKind.Array } array
            && array.EnumerateArray().Any(e => e.ValueKind == JsonValueKind.Object && e.TryGetProperty("success", out var s) && s.ValueKind == JsonValueKind.False));

    private static SubResponse Halted(string message)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartArray();
            new SalesforceError("PROCESSING_HALTED", message).WriteSingle(w);
            w.WriteEndArray();
        }
        return new SubResponse(400, JsonDocument.Parse(buffer.WrittenMemory), null);
    }

    private static async Task<SubResponse> RunSubrequestAsync(HttpContext http, ApiRequest api, SalesforceSandbox sandbox, Subrequest subrequest,
        List<Subrequest> all, SubResponse?[] responses, bool allOrNone)
    {
        string url;
        byte[]? body = null;
        try
        {
            url = Resolve(subrequest.Url, all, responses);
            if (subrequest.Body is { } b)
            {
                body = ResolveBody(b, all, responses, forceAllOrNone: allOrNone);
            }
        }
        catch (UnresolvedReferenceException e)
        {
            return Halted(e.Message);
        }

        var match = SubrequestUrlPattern().Match(url);
        var version = match.Success ? double.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : 0;
        if (!match.Success || version is < ApiRequestFilter.MinVersion or > ApiRequestFilter.MaxVersion)
        {
            return await RenderAsync(http, SalesforceHttp.NotFound(), null);
        }
        var path = match.Groups[2].Value.TrimEnd('/');
        var query = match.Groups[3].Value;
        if (allOrNone && subrequest.Method == "DELETE" && path == "/composite/sobjects")
        {
            // The composite's allOrNone overrides the collection's own.
            query = Regex.Replace(query, "([?&])allOrNone=[^&]*", "$1allOrNone=true");
            query += query.Contains("allOrNone=", StringComparison.Ordinal) ? "" : (query.Length == 0 ? "?" : "&") + "allOrNone=true";
        }

        var sub = new DefaultHttpContext { RequestServices = http.RequestServices, RequestAborted = http.RequestAborted };
        sub.Items[typeof(ApiRequest)] = new ApiRequest(api.Org, api.Grant, $"{match.Groups[1].Value}.0");
        sub.Request.Method = subrequest.Method;
        sub.Request.Path = url[..(url.Length - match.Groups[3].Length)];
        sub.Request.QueryString = new QueryString(query);
        if (body is not null)
        {
            sub.Request.ContentType = "application/json";
            sub.Request.ContentLength = body.Length;
            sub.Request.Body = new MemoryStream(body);
        }
        sub.Response.Body = new MemoryStream();

        IResult result;
        try
        {
            result = await DispatchAsync(sub, sandbox, subrequest.Method, path.Split('/', StringSplitOptions.RemoveEmptyEntries));
        }
        catch (SalesforceApiException e)
        {
            result = SalesforceHttp.Error(e.Status, e.Error);
        }
        return await RenderAsync(sub, result, sub);
    }

    /// <summary>The resources a subrequest may name: sObject resources, sObject Collections, query and queryAll.</summary>
    private static async Task<IResult> DispatchAsync(HttpContext sub, SalesforceSandbox sandbox, string method, string[] s)
    {
        IResult NotAllowed(string allowed)
        {
            sub.Response.Headers.Allow = allowed;
            return SalesforceHttp.Error(405, new SalesforceError("METHOD_NOT_ALLOWED", $"HTTP Method '{method}' not allowed. Allowed are {allowed}"));
        }

        switch (s)
        {
            case ["sobjects", var type]:
                return method switch { "GET" => BasicInfo(sub, type), "POST" => await CreateAsync(sub, type, sandbox), _ => NotAllowed("GET,POST,HEAD") };
            case ["sobjects", var type, "describe"]:
                return method == "GET" ? Describe(sub, type) : NotAllowed("GET,HEAD");
            case ["sobjects", var type, var id]:
                return method switch
                {
                    "GET" => Retrieve(sub, type, id),
                    "PATCH" => await UpdateAsync(sub, type, id, sandbox),
                    "DELETE" => Delete(sub, type, id),
                    _ => NotAllowed("GET,PATCH,DELETE,HEAD"),
                };
            case ["composite", "sobjects"]:
                return method switch
                {
                    "POST" => await CollectionSaveAsync(sub, sandbox, update: false),
                    "PATCH" => await CollectionSaveAsync(sub, sandbox, update: true),
                    "DELETE" => CollectionDelete(sub),
                    _ => NotAllowed("POST,PATCH,DELETE"),
                };
            case ["composite", "sobjects", var type]:
                return method is "GET" or "POST" ? await CollectionRetrieveAsync(sub, type, sandbox) : NotAllowed("GET,POST");
            case ["query" or "queryAll"]:
                return method == "GET" ? QueryEndpoints.Query(sub, includeDeleted: s[0] == "queryAll") : NotAllowed("GET,HEAD");
            case ["query" or "queryAll", var locator]:
                return method == "GET" ? QueryEndpoints.More(sub, locator, includeDeleted: s[0] == "queryAll") : NotAllowed("GET,HEAD");
            default:
                return SalesforceHttp.NotFound();
        }
    }

    /// <summary>Runs a result into a buffer: status, parsed body (null when empty) and the Location header.</summary>
    private static async Task<SubResponse> RenderAsync(HttpContext http, IResult result, HttpContext? sub)
    {
        var context = sub ?? new DefaultHttpContext { RequestServices = http.RequestServices };
        context.Response.Body = new MemoryStream();
        await result.ExecuteAsync(context);
        var stream = (MemoryStream)context.Response.Body;
        var location = context.Response.Headers.Location.ToString();
        var document = stream.Length == 0 ? null : JsonDocument.Parse(stream.GetBuffer().AsMemory(0, (int)stream.Length).ToArray());
        return new SubResponse(context.Response.StatusCode, document, location.Length > 0 ? location : null);
    }

    private sealed class UnresolvedReferenceException(string message) : Exception(message);

    /// <summary>Replaces every <c>@{…}</c> reference in <paramref name="text"/> by the value it names.</summary>
    private static string Resolve(string text, List<Subrequest> all, SubResponse?[] responses)
    {
        if (!text.Contains("@{", StringComparison.Ordinal))
        {
            return text;
        }
        return ReferencePattern().Replace(text, m => Lookup(m, all, responses));
    }

    private static string Lookup(Match m, List<Subrequest> all, SubResponse?[] responses)
    {
        var referenceId = m.Groups[1].Value;
        var expression = referenceId + m.Groups[2].Value;
        var index = all.FindIndex(r => r.ReferenceId == referenceId);
        if (index < 0 || responses[index] is not { } response)
        {
            throw new UnresolvedReferenceException($"Invalid reference specified. No value for {expression} found in {referenceId}. " +
                $"Provided referenceId ('{referenceId}') must name an earlier subrequest.");
        }
        var value = response.Status < 400 ? response.Root : null;
        foreach (Match step in Regex.Matches(m.Groups[2].Value, @"\.([A-Za-z0-9_]+)|\[([0-9]+)\]"))
        {
            if (value is not { } v)
            {
                break;
            }
            if (step.Groups[1].Success)
            {
                value = v.ValueKind == JsonValueKind.Object && TryGetIgnoreCase(v, step.Groups[1].Value, out var child) ? child : null;
            }
            else
            {
                var i = int.Parse(step.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
                value = v.ValueKind == JsonValueKind.Array && i < v.GetArrayLength() ? v[i] : null;
            }
        }
        return value switch
        {
            { ValueKind: JsonValueKind.String } s => s.GetString()!,
            { ValueKind: JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False } raw => raw.GetRawText(),
            _ => throw new UnresolvedReferenceException($"Invalid reference specified. No value for {expression} found in {referenceId}."),
        };
    }

    private static bool TryGetIgnoreCase(JsonElement element, string name, out JsonElement value)
    {
        if (element.TryGetProperty(name, out value))
        {
            return true;
        }
        foreach (var p in element.EnumerateObject())
        {
            if (string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                value = p.Value;
                return true;
            }
        }
        return false;
    }

    /// <summary>The subrequest body with references resolved (in every string value), and allOrNone forced when asked.</summary>
    private static byte[] ResolveBody(JsonElement body, List<Subrequest> all, SubResponse?[] responses, bool forceAllOrNone)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            Write(body, top: true);

            void Write(JsonElement e, bool top)
            {
                switch (e.ValueKind)
                {
                    case JsonValueKind.Object:
                        w.WriteStartObject();
                        var wroteAllOrNone = false;
                        foreach (var p in e.EnumerateObject())
                        {
                            w.WritePropertyName(p.Name);
                            if (top && forceAllOrNone && p.Name == "allOrNone")
                            {
                                w.WriteBooleanValue(true);
                                wroteAllOrNone = true;
                            }
                            else
                            {
                                Write(p.Value, top: false);
                            }
                        }
                        if (top && forceAllOrNone && !wroteAllOrNone && e.TryGetProperty("records", out _))
                        {
                            w.WriteBoolean("allOrNone", true);
                        }
                        w.WriteEndObject();
                        break;
                    case JsonValueKind.Array:
                        w.WriteStartArray();
                        foreach (var item in e.EnumerateArray())
                        {
                            Write(item, top: false);
                        }
                        w.WriteEndArray();
                        break;
                    case JsonValueKind.String:
                        w.WriteStringValue(Resolve(e.GetString()!, all, responses));
                        break;
                    default:
                        e.WriteTo(w);
                        break;
                }
            }
        }
        return buffer.WrittenSpan.ToArray();
    }
}
