using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Sequin.Sandbox.Salesforce.Json;

namespace Sequin.Sandbox.Salesforce.Http;

/// <summary>Response and request helpers shared by the REST, OAuth and admin endpoints.</summary>
internal static class SalesforceHttp
{
    /// <summary>Relaxed escaping: Salesforce sends non-ASCII text as-is, and it is faster.</summary>
    public static readonly JsonWriterOptions WriterOptions = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        SkipValidation = true,
    };

    public const string JsonContentType = "application/json;charset=UTF-8";

    /// <summary>A JSON response written with Utf8JsonWriter into a buffer, then sent whole with its Content-Length.</summary>
    public static IResult Json(int status, Action<Utf8JsonWriter> write) => new Utf8JsonResult(status, write);

    public static IResult Error(int status, SalesforceError error) =>
        Json(status, w =>
        {
            w.WriteStartArray();
            error.WriteSingle(w);
            w.WriteEndArray();
        });

    public static IResult Errors(int status, IEnumerable<SalesforceError> errors) =>
        Json(status, w =>
        {
            w.WriteStartArray();
            foreach (var e in errors)
            {
                e.WriteSingle(w);
            }
            w.WriteEndArray();
        });

    public static IResult NotFound() => Error(404, SalesforceError.NotFound());

    /// <summary>
    /// Reads a JSON request body the way the REST API does: only JSON content types (415 otherwise),
    /// at most <paramref name="maxBytes"/> (413), and a JSON_PARSER_ERROR with the position on bad JSON.
    /// </summary>
    public static async Task<JsonDocument> ReadJsonAsync(HttpContext context, long maxBytes)
    {
        var request = context.Request;
        var contentType = request.ContentType;
        if (!string.IsNullOrEmpty(contentType) && !contentType.Contains("json", StringComparison.OrdinalIgnoreCase))
        {
            throw new SalesforceApiException(415, new SalesforceError("UNSUPPORTED_MEDIA_TYPE",
                $"Content-Type header specified in HTTP request is not supported: {contentType}"));
        }
        if (request.ContentLength > maxBytes)
        {
            throw TooLarge(maxBytes);
        }
        // Our own limit replaces the server's (Kestrel defaults to 30 MB, below Salesforce's 50 MB).
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
        {
            sizeFeature.MaxRequestBodySize = null;
        }
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, context.RequestAborted)) > 0)
        {
            if (buffer.Length + read > maxBytes)
            {
                throw TooLarge(maxBytes);
            }
            buffer.Write(chunk, 0, read);
        }
        if (buffer.Length == 0)
        {
            throw new SalesforceApiException(400, new SalesforceError("JSON_PARSER_ERROR",
                "No content to map due to end-of-input at [line:1, column:0]"));
        }
        try
        {
            return JsonDocument.Parse(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException ex)
        {
            var line = (ex.LineNumber ?? 0) + 1;
            var column = (ex.BytePositionInLine ?? 0) + 1;
            throw new SalesforceApiException(400, new SalesforceError("JSON_PARSER_ERROR",
                $"Unexpected character in JSON at [line:{line}, column:{column}]"));
        }
    }

    private static SalesforceApiException TooLarge(long maxBytes) =>
        new(413, new SalesforceError("REQUEST_ENTITY_TOO_LARGE", $"Request body exceeds the maximum size of {maxBytes} bytes"));

    /// <summary>
    /// The absolute external base of the emulator including its mount prefix: the
    /// <c>instance_url</c> of token responses and the OAuth login URL.
    /// </summary>
    public static string ExternalBase(HttpContext context, SalesforceSandboxOptions options, string prefix)
    {
        if (!string.IsNullOrEmpty(options.PublicBaseUrl))
        {
            return options.PublicBaseUrl.TrimEnd('/');
        }
        var request = context.Request;
        return $"{request.Scheme}://{request.Host}{request.PathBase}{prefix}".TrimEnd('/');
    }

    // Written whole, with its Content-Length: the client reads a response in one go, without chunked framing and
    // without waiting for a terminating chunk (measured: the proxy's write-and-read-back request is most of a write's
    // upstream time). Query pages, the large answers (2,000 records), do not come here: they stream (QueryPageResult).
    private sealed class Utf8JsonResult(int status, Action<Utf8JsonWriter> write) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            var body = new ArrayBufferWriter<byte>(4096);
            using (var writer = new Utf8JsonWriter(body, WriterOptions))
            {
                write(writer);
            }

            var response = httpContext.Response;
            response.StatusCode = status;
            response.ContentType = JsonContentType;
            response.ContentLength = body.WrittenCount;
            await response.Body.WriteAsync(body.WrittenMemory, httpContext.RequestAborted);
        }
    }
}
