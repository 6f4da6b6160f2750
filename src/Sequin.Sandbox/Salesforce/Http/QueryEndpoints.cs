using System.Security.Cryptography;
using System.Text.Json;
using Sequin.Sandbox.Salesforce.Json;
using Sequin.Sandbox.Salesforce.Soql;
using Sequin.Sandbox.Salesforce.Store;

namespace Sequin.Sandbox.Salesforce.Http;

/// <summary>
/// <c>query</c>, <c>queryAll</c> and locator paging (REST API "Query", "QueryAll", "Execute a SOQL
/// Query"). The first call runs the query to an immutable result and pages it; each locator
/// <c>01g...-N</c> names the cursor and the offset, so a retried page request returns the same page.
/// </summary>
internal static class QueryEndpoints
{
    public const int DefaultBatchSize = 2000;
    public const int MinBatchSize = 200;

    /// <summary>
    /// Open cursors kept per org; the least recently used goes first. Salesforce allows 10 per user;
    /// we are more lenient because tests run many clients against one org.
    /// </summary>
    public const int MaxOpenCursors = 50;

    /// <summary>Records written between flushes of the response pipe (bounded memory per request).</summary>
    private const int FlushEvery = 100;

    public static IResult Query(HttpContext http, bool includeDeleted)
    {
        var api = ApiRequest.From(http);
        var q = http.Request.Query["q"].ToString();
        if (string.IsNullOrWhiteSpace(q))
        {
            return SalesforceHttp.Error(400, new SalesforceError("MALFORMED_QUERY", "A query string has to be specified"));
        }
        CompiledQuery compiled;
        try
        {
            compiled = SoqlCompiler.Compile(q, api.Org.Catalog, api.Org.Table);
        }
        catch (SoqlException ex)
        {
            return SalesforceHttp.Error(400, new SalesforceError(ex.ErrorCode, ex.Message));
        }
        var rows = compiled.Execute(api.Org.Table(compiled.Type), includeDeleted);
        if (compiled.IsCount)
        {
            return SalesforceHttp.Json(200, w =>
            {
                w.WriteStartObject();
                w.WriteNumber("totalSize", rows.Length);
                w.WriteBoolean("done", true);
                w.WriteStartArray("records");
                w.WriteEndArray();
                w.WriteEndObject();
            });
        }
        var batch = BatchSize(http);
        QueryCursor? cursor = null;
        if (rows.Length > batch)
        {
            cursor = new QueryCursor(NewLocatorId(), compiled.Type, rows, compiled.Projection, api.Org.UtcNow);
            api.Org.Cursors[cursor.Id] = cursor;
            EvictOldCursors(api.Org);
        }
        return new QueryPageResult(api, rows, compiled.Projection, compiled.Type, 0, batch, cursor?.Id, includeDeleted);
    }

    public static IResult More(HttpContext http, string locator, bool includeDeleted)
    {
        var api = ApiRequest.From(http);
        var dash = locator.LastIndexOf('-');
        if (dash <= 0 || !int.TryParse(locator.AsSpan(dash + 1), out var offset) || offset < 0
            || !api.Org.Cursors.TryGetValue(locator[..dash], out var cursor) || offset > cursor.Rows.Length)
        {
            return SalesforceHttp.Error(400, new SalesforceError("INVALID_QUERY_LOCATOR", "invalid query locator"));
        }
        cursor.LastUsed = api.Org.UtcNow;
        return new QueryPageResult(api, cursor.Rows, cursor.Projection, cursor.Type, offset, BatchSize(http), cursor.Id, includeDeleted);
    }

    private static void EvictOldCursors(Org org)
    {
        var excess = org.Cursors.Count - MaxOpenCursors;
        if (excess <= 0)
        {
            return;
        }
        foreach (var stale in org.Cursors.Values.OrderBy(c => c.LastUsed).Take(excess))
        {
            org.Cursors.TryRemove(stale.Id, out _);
        }
    }

    /// <summary><c>Sforce-Query-Options: batchSize=N</c>, clamped to 200..2000 like Salesforce.</summary>
    private static int BatchSize(HttpContext http)
    {
        var options = http.Request.Headers["Sforce-Query-Options"].ToString();
        foreach (var part in options.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var kv = part.Split('=', 2, StringSplitOptions.TrimEntries);
            if (kv.Length == 2 && kv[0].Equals("batchSize", StringComparison.OrdinalIgnoreCase) && int.TryParse(kv[1], out var n))
            {
                return Math.Clamp(n, MinBatchSize, DefaultBatchSize);
            }
        }
        return DefaultBatchSize;
    }

    private static string NewLocatorId()
    {
        const string alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        return "01g" + RandomNumberGenerator.GetString(alphabet, 15);
    }

    /// <summary>Writes one page straight into the response pipe, flushing as it goes.</summary>
    private sealed class QueryPageResult(ApiRequest api, Record[] rows, ProjectionItem[] projection, Schema.ObjectDef type,
        int offset, int batch, string? cursorId, bool includeDeleted) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            var response = httpContext.Response;
            response.StatusCode = 200;
            response.ContentType = SalesforceHttp.JsonContentType;
            var end = Math.Min(rows.Length, offset + batch);
            var done = end >= rows.Length;
            var rowWriter = new QueryRowWriter(type, projection, api.BasePath, api.Org.Table);
            var writer = new Utf8JsonWriter(response.BodyWriter, SalesforceHttp.WriterOptions);
            await using (writer)
            {
                writer.WriteStartObject();
                writer.WriteNumber("totalSize"u8, rows.Length);
                writer.WriteBoolean("done"u8, done);
                if (!done)
                {
                    writer.WriteString("nextRecordsUrl"u8, $"{api.BasePath}/{(includeDeleted ? "queryAll" : "query")}/{cursorId}-{end}");
                }
                writer.WriteStartArray("records"u8);
                for (var i = offset; i < end; i++)
                {
                    rowWriter.Write(writer, rows[i]);
                    if ((i - offset) % FlushEvery == FlushEvery - 1)
                    {
                        writer.Flush();
                        await response.BodyWriter.FlushAsync(httpContext.RequestAborted);
                    }
                }
                writer.WriteEndArray();
                writer.WriteEndObject();
            }
            await response.BodyWriter.FlushAsync(httpContext.RequestAborted);
        }
    }
}
