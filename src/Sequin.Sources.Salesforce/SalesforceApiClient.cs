using System.Buffers;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Sequin.Sources.Salesforce;

/// <summary>
/// The HTTP pipeline of one Salesforce connection: the budget, the bearer token with refresh on 401
/// <c>INVALID_SESSION_ID</c>, retries with exponential backoff and full jitter on 500/503/<c>REQUEST_LIMIT_EXCEEDED</c>,
/// timeouts and dropped connections, and errors in Salesforce's terms.
/// </summary>
internal sealed partial class SalesforceApiClient(
    HttpClient http,
    SalesforceOptions options,
    RateBudget budget,
    SourceCredentials credentials,
    ICredentialSink sink,
    TimeProvider time,
    ILogger logger)
{
    private readonly SemaphoreSlim _refreshLock = new(1, 1);
    private SourceCredentials _credentials = credentials;

    public string ApiBase => $"/services/data/v{options.ApiVersion}";

    /// <summary>Org-wide daily API usage as last seen in <c>Sforce-Limit-Info</c> (0/0 before the first response).</summary>
    public (long Used, long Max) DailyUsage => budget.DailyUsage;

    public SourceCredentials Credentials => Volatile.Read(ref _credentials);

    private string InstanceUrl => (Credentials.Get("instance_url") ?? throw new SourceAuthException("the connection has no instance_url")).TrimEnd('/');

    /// <summary>A response: the parsed body (null for 204) and the server's clock (Date header) when sent.</summary>
    public sealed record Response(JsonDocument? Body, DateTime? ServerDate) : IDisposable
    {
        public void Dispose() => Body?.Dispose();
    }

    /// <summary>Turns a successful response body (empty for 204) into a result; a <see cref="JsonException"/> counts as a malformed response.</summary>
    public delegate T BodyParser<T>(ReadOnlySpan<byte> body, DateTime? serverDate);

    /// <summary>
    /// Sends a request to <paramref name="pathAndQuery"/> (root-relative, e.g. <c>/services/data/v62.0/query?q=...</c>;
    /// it is appended to the instance URL as-is, so an instance URL with a path prefix works).
    /// </summary>
    /// Set <c>idempotent</c> to retry also when the outcome is unknown (timeouts, dropped connections, 500).
    public Task<Response> SendAsync(HttpMethod method, string pathAndQuery, Func<HttpContent>? content, bool idempotent,
        CancellationToken cancellationToken, bool query = false) =>
        SendAsync(method, pathAndQuery, content, idempotent, static (body, date) => new Response(body.IsEmpty ? null : JsonDocument.Parse(body.ToArray()), date),
            cancellationToken, query);

    /// <summary>
    /// As <see cref="SendAsync(HttpMethod, string, Func{HttpContent}?, bool, CancellationToken, bool)"/>, but the body of a
    /// successful response goes to <paramref name="parse"/> straight from a pooled buffer (query pages are parsed
    /// without a DOM and without a per-page copy). Malformed JSON is retried like any unknown outcome.
    /// </summary>
    public async Task<T> SendAsync<T>(HttpMethod method, string pathAndQuery, Func<HttpContent>? content, bool idempotent, BodyParser<T> parse,
        CancellationToken cancellationToken, bool query = false)
    {
        var refreshed = false;
        for (var attempt = 1; ; attempt++)
        {
            await budget.AcquireAsync(cancellationToken);
            using var request = new HttpRequestMessage(method, InstanceUrl + pathAndQuery);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Credentials.Get("access_token") ?? "");
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
            if (query)
            {
                request.Headers.TryAddWithoutValidation("Sforce-Query-Options", $"batchSize={options.QueryBatchSize}");
            }

            request.Content = content?.Invoke();
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(options.RequestTimeout);
            HttpResponseMessage response;
            try
            {
                response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is HttpRequestException or TaskCanceledException or IOException)
            {
                var what = e is TaskCanceledException ? $"no response within {options.RequestTimeout.TotalSeconds:0} s" : $"connection failed: {e.Message}";
                if (idempotent && attempt < options.MaxAttempts)
                {
                    await BackoffAsync(attempt, $"{method} {Shorten(pathAndQuery)}: {what}", cancellationToken);
                    continue;
                }

                throw new SourceException($"Salesforce {method} {Shorten(pathAndQuery)}: {what}", null, null, e);
            }

            using (response)
            {
                budget.Observe(response.Headers.TryGetValues("Sforce-Limit-Info", out var limit) ? limit.FirstOrDefault() : null);
                var serverDate = response.Headers.Date?.UtcDateTime;
                using var bytes = new PooledBody();
                try
                {
                    await bytes.ReadAsync(response.Content, timeout.Token);
                }
                catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is HttpRequestException or TaskCanceledException or IOException)
                {
                    if (idempotent && attempt < options.MaxAttempts)
                    {
                        await BackoffAsync(attempt, $"{method} {Shorten(pathAndQuery)}: response cut off: {e.Message}", cancellationToken);
                        continue;
                    }

                    throw new SourceException($"Salesforce {method} {Shorten(pathAndQuery)}: response cut off: {e.Message}", null, null, e);
                }

                var status = (int)response.StatusCode;
                if (response.IsSuccessStatusCode)
                {
                    try
                    {
                        return parse(response.StatusCode == HttpStatusCode.NoContent ? [] : bytes.Span, serverDate);
                    }
                    catch (JsonException e)
                    {
                        var message = $"Salesforce {method} {Shorten(pathAndQuery)}: malformed JSON in the {status} response " +
                            $"(line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}): {e.Message}";
                        if (idempotent && attempt < options.MaxAttempts)
                        {
                            await BackoffAsync(attempt, message, cancellationToken);
                            continue;
                        }

                        throw new SourceException(message, "MALFORMED_RESPONSE", status, e);
                    }
                }

                var (code, text) = ParseError(bytes.Span, status);
                if (status == 401 && !refreshed)
                {
                    refreshed = true;
                    LogSessionExpired(logger, code);
                    await RefreshAsync(Credentials.Get("access_token"), cancellationToken);
                    attempt--;
                    continue;
                }

                if (status == 401)
                {
                    throw new SourceAuthException($"Salesforce refused the refreshed session: {code}: {text}");
                }

                var limitExceeded = code == "REQUEST_LIMIT_EXCEEDED";
                var transient = limitExceeded || status == 503 || (idempotent && status is 500 or 502 or 504);
                if (transient && attempt < options.MaxAttempts)
                {
                    await BackoffAsync(attempt, $"{method} {Shorten(pathAndQuery)}: {status} {code}: {text}", cancellationToken);
                    continue;
                }

                if (limitExceeded)
                {
                    throw new SourceThrottledException($"Salesforce throttles this org ({code}: {text}); pausing", TimeSpan.FromSeconds(30));
                }

                throw new SourceException($"Salesforce {method} {Shorten(pathAndQuery)} failed: {status} {code}: {text}", code, status);
            }
        }
    }

    /// <summary>Refreshes the access token unless another caller already did since <paramref name="staleToken"/> was read.</summary>
    public async Task RefreshAsync(string? staleToken, CancellationToken cancellationToken)
    {
        await _refreshLock.WaitAsync(cancellationToken);
        try
        {
            var current = Credentials;
            if (staleToken is not null && current.Get("access_token") != staleToken)
            {
                return;
            }

            var refreshToken = current.Get("refresh_token")
                ?? throw new SourceAuthException("the Salesforce session expired and the connection has no refresh token: reconnect it");
            var loginUrl = (current.Get("login_url") ?? InstanceUrl).TrimEnd('/');
            var form = new Dictionary<string, string>
            {
                ["grant_type"] = "refresh_token",
                ["refresh_token"] = refreshToken,
                ["client_id"] = current.Get("client_id") ?? "sequin",
            };
            if (current.Get("client_secret") is { Length: > 0 } secret)
            {
                form["client_secret"] = secret;
            }

            HttpResponseMessage response;
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(options.RequestTimeout);
                response = await http.PostAsync(loginUrl + "/services/oauth2/token", new FormUrlEncodedContent(form), timeout.Token);
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is HttpRequestException or TaskCanceledException or IOException)
            {
                throw new SourceException($"Salesforce token refresh at {loginUrl}: {e.Message}", null, null, e);
            }

            using (response)
            {
                var body = await response.Content.ReadAsStringAsync(cancellationToken);
                if (!response.IsSuccessStatusCode)
                {
                    string? error = null, description = null;
                    try
                    {
                        using var doc = JsonDocument.Parse(body);
                        error = doc.RootElement.TryGetProperty("error", out var e) ? e.GetString() : null;
                        description = doc.RootElement.TryGetProperty("error_description", out var d) ? d.GetString() : null;
                    }
                    catch (JsonException)
                    {
                    }

                    if ((int)response.StatusCode is 400 or 401 or 403)
                    {
                        throw new SourceAuthException(
                            $"Salesforce refused the refresh token ({error ?? ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture)}: {description ?? body}): the token was revoked; reconnect the Salesforce connection");
                    }

                    throw new SourceException($"Salesforce token refresh failed: {(int)response.StatusCode} {error}: {description}", error, (int)response.StatusCode);
                }

                string access;
                string? instance;
                try
                {
                    using var doc = JsonDocument.Parse(body);
                    access = doc.RootElement.GetProperty("access_token").GetString()!;
                    instance = doc.RootElement.TryGetProperty("instance_url", out var i) ? i.GetString() : null;
                }
                catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
                {
                    throw new SourceException($"Salesforce token refresh: malformed response: {e.Message}", "MALFORMED_RESPONSE", (int)response.StatusCode, e);
                }

                var next = current.With("access_token", access);
                if (!string.IsNullOrEmpty(instance))
                {
                    next = next.With("instance_url", instance);
                }

                Volatile.Write(ref _credentials, next);
                LogRefreshed(logger);
                await sink.SaveAsync(next, cancellationToken);
            }
        }
        finally
        {
            _refreshLock.Release();
        }
    }

    private async Task BackoffAsync(int attempt, string reason, CancellationToken cancellationToken)
    {
        var cap = Math.Min(options.BackoffMax.TotalMilliseconds, options.BackoffBase.TotalMilliseconds * Math.Pow(2, attempt - 1));
        var delay = TimeSpan.FromMilliseconds((cap / 2) + (Random.Shared.NextDouble() * cap / 2));
        LogRetry(logger, attempt, options.MaxAttempts, delay.TotalMilliseconds, reason);
        await Task.Delay(delay, time, cancellationToken);
    }

    internal static (string Code, string Message) ParseError(ReadOnlySpan<byte> body, int status)
    {
        try
        {
            using var doc = JsonDocument.Parse(body.ToArray());
            var root = doc.RootElement;
            var first = root.ValueKind == JsonValueKind.Array && root.GetArrayLength() > 0 ? root[0] : root;
            if (first.ValueKind == JsonValueKind.Object)
            {
                var code = first.TryGetProperty("errorCode", out var c) ? c.GetString()
                    : first.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.String ? e.GetString() : null;
                var message = first.TryGetProperty("message", out var m) ? m.GetString()
                    : first.TryGetProperty("error_description", out var d) ? d.GetString() : null;
                return (code ?? $"ERROR_HTTP_{status}", message ?? "");
            }
        }
        catch (JsonException)
        {
        }

        var text = System.Text.Encoding.UTF8.GetString(body);
        return ($"ERROR_HTTP_{status}", SalesforceTypes.Truncate(text));
    }

    /// <summary>A response body read into a buffer from the shared pool (query pages are megabytes: no large-object garbage per page).</summary>
    private sealed class PooledBody : IDisposable
    {
        private byte[] _buffer = [];
        private int _length;

        public ReadOnlySpan<byte> Span => _buffer.AsSpan(0, _length);

        public async Task ReadAsync(HttpContent content, CancellationToken cancellationToken)
        {
            var expected = content.Headers.ContentLength is { } length and < 64 << 20 ? (int)length + 1 : 0;
            _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(expected, 64 << 10));
            await using var stream = await content.ReadAsStreamAsync(cancellationToken);
            while (true)
            {
                if (_length == _buffer.Length)
                {
                    var bigger = ArrayPool<byte>.Shared.Rent(_buffer.Length * 2);
                    _buffer.AsSpan(0, _length).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(_buffer);
                    _buffer = bigger;
                }

                var read = await stream.ReadAsync(_buffer.AsMemory(_length), cancellationToken);
                if (read == 0)
                {
                    return;
                }

                _length += read;
            }
        }

        public void Dispose()
        {
            if (_buffer.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = [];
            }
        }
    }

    private static string Shorten(string pathAndQuery) => pathAndQuery.Length <= 160 ? pathAndQuery : pathAndQuery[..160] + "…";

    [LoggerMessage(Level = LogLevel.Warning, Message = "Salesforce attempt {Attempt}/{MaxAttempts} failed, retrying in {DelayMs:0} ms: {Reason}")]
    private static partial void LogRetry(ILogger logger, int attempt, int maxAttempts, double delayMs, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Salesforce session expired ({Code}); refreshing the access token")]
    private static partial void LogSessionExpired(ILogger logger, string code);

    [LoggerMessage(Level = LogLevel.Information, Message = "Salesforce access token refreshed")]
    private static partial void LogRefreshed(ILogger logger);
}
