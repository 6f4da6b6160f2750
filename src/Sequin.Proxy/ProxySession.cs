using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Sequin.Proxy.Auth;
using Sequin.Proxy.Credentials;
using Sequin.Proxy.Net;
using Sequin.Proxy.Protocol;

namespace Sequin.Proxy;

/// <summary>
/// One client connection: startup (SSLRequest/GSSENCRequest/CancelRequest, NegotiateProtocolVersion), SCRAM
/// authentication, the backend login as the credential's role, then two pumps that forward bytes and parse only
/// message boundaries — plus the write path (ProxySession.Writes.cs) when the database has synced tables.
/// </summary>
internal sealed partial class ProxySession : IAsyncDisposable
{
    /// <summary>Postgres's limit for the startup packet.</summary>
    private const int MaxStartupPacket = 10_000;

    /// <summary>Postgres rejects messages of 1 GB or more (PQ_LARGE_MESSAGE_LIMIT).</summary>
    private const int MaxMessageLength = 0x3FFF_FFFF;

    private static readonly UTF8Encoding Utf8 = new(false, true);

    private readonly Socket _clientSocket;
    private readonly ProxyServer _server;
    private readonly ILogger _logger;
    private readonly ProxyOptions _options;
    private readonly CancellationTokenSource _lifetime = new();
    private readonly SocketEngine? _engine;
    private Stream _clientStream;
    private readonly Stream _clientTransport; // the socket's own stream (under TLS, the one SslStream wraps)
    private Socket? _backendSocket;
    private PipeWriter? _clientOut;
    private PipeReader? _backendIn;
    private PipeWriter? _backendOut;
    private readonly SemaphoreSlim _clientOutLock = new(1, 1);

    public ProxySession(Socket clientSocket, ProxyServer server, ProxyOptions options, ILogger logger)
    {
        _clientSocket = clientSocket;
        _server = server;
        _options = options;
        _logger = logger;
        _engine = server.NextEngine();
        try
        {
            _clientStream = _clientTransport = _engine?.Attach(clientSocket) ?? new NetworkStream(clientSocket, ownsSocket: false);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // epoll refused the socket (out of memory) or the host is stopping: this session uses .NET's sockets
            _engine = null;
            _clientStream = _clientTransport = new NetworkStream(clientSocket, ownsSocket: false);
        }
        ProcessId = RandomNumberGenerator.GetInt32(1, int.MaxValue);
        SecretKey = RandomNumberGenerator.GetInt32(int.MinValue, int.MaxValue);
    }

    /// <summary>The proxy's own BackendKeyData handed to the client.</summary>
    public int ProcessId { get; }

    public int SecretKey { get; }

    internal System.Net.EndPoint? BackendEndPoint { get; private set; }

    internal int BackendProcessId { get; private set; }

    internal int BackendSecretKey { get; private set; }

    private string _user = "";
    private string _remote = "";

    public async Task RunAsync(CancellationToken stopping)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stopping, _lifetime.Token);
        var ct = linked.Token;
        _remote = _clientSocket.RemoteEndPoint?.ToString() ?? "?";
        try
        {
            using (var authTimeout = CancellationTokenSource.CreateLinkedTokenSource(ct))
            {
                authTimeout.CancelAfter(TimeSpan.FromSeconds(_options.AuthenticationTimeoutSeconds));
                if (!await StartupAsync(authTimeout.Token))
                {
                    return;
                }
            }

            // From here the engine runs the pumps' continuations on its own thread (start-up ran on the thread pool).
            foreach (var stream in new[] { _clientTransport, _backendStream })
            {
                if (stream is EngineStream engineStream)
                {
                    engineStream.InlineContinuations = true;
                }
            }

            await (_captureEnabled ? PumpAsync(ct) : FastPumpAsync(ct));
        }
        catch (ProtocolException e)
        {
            LogSessionEnded(_logger, _remote, _user, e.SqlState, e.Message);
            await TrySendFatalAsync(e.SqlState, e.Message);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            await TrySendFatalAsync(SqlState.AdminShutdown, "terminating connection due to administrator command");
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException
            or System.Security.Authentication.AuthenticationException or InvalidOperationException)
        {
            LogConnectionClosed(_logger, _remote, _user, e.Message);
        }
        finally
        {
            await DisposeAsync();
        }
    }

    private async Task TrySendFatalAsync(string sqlState, string message)
    {
        try
        {
            var buffer = new ArrayBufferWriter<byte>();
            MessageWriter.WriteError(buffer, "FATAL", sqlState, message);
            if (_clientOut is not null)
            {
                await _clientOutLock.WaitAsync(TimeSpan.FromSeconds(1));
                _clientOut.Write(buffer.WrittenSpan);
                await _clientOut.FlushAsync();
            }
            else
            {
                await _clientStream.WriteAsync(buffer.WrittenMemory);
                await _clientStream.FlushAsync();
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or InvalidOperationException or OperationCanceledException)
        {
            // the client is gone; nothing to tell it
        }
    }

    // ---------------------------------------------------------------- startup and authentication

    private async Task<bool> StartupAsync(CancellationToken ct)
    {
        var tls = false;
        Dictionary<string, string> parameters;
        while (true)
        {
            var header = new byte[8];
            await _clientStream.ReadExactlyAsync(header, ct);
            var length = BinaryPrimitives.ReadInt32BigEndian(header);
            var code = BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(4));
            if (length < 8 || length > MaxStartupPacket)
            {
                throw new ProtocolException(SqlState.ProtocolViolation, "invalid length of startup packet");
            }

            if (code == StartupCode.SslRequest && length == 8)
            {
                if (tls)
                {
                    throw new ProtocolException(SqlState.ProtocolViolation, "SSLRequest received on an encrypted connection");
                }

                // Bytes behind an SSLRequest were sent in clear text before the handshake: they could be injected.
                if (_clientSocket.Available > 0)
                {
                    throw new ProtocolException(SqlState.ProtocolViolation, "received unencrypted data after SSL request");
                }

                if (!_options.Tls.Enabled)
                {
                    await _clientStream.WriteAsync("N"u8.ToArray(), ct);
                    continue;
                }

                await _clientStream.WriteAsync("S"u8.ToArray(), ct);
                var ssl = new SslStream(_clientStream, leaveInnerStreamOpen: false);
                await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
                {
                    ServerCertificate = _server.Certificates.Certificate,
                    ClientCertificateRequired = false,
                }, ct);
                _clientStream = ssl;
                tls = true;
                continue;
            }

            if (code == StartupCode.GssEncRequest && length == 8)
            {
                await _clientStream.WriteAsync("N"u8.ToArray(), ct);
                continue;
            }

            var body = new byte[length - 8];
            await _clientStream.ReadExactlyAsync(body, ct);
            if (code == StartupCode.CancelRequest && length == 16)
            {
                await _server.CancelAsync(BinaryPrimitives.ReadInt32BigEndian(body), BinaryPrimitives.ReadInt32BigEndian(body.AsSpan(4)));
                return false;
            }

            var major = code >> 16;
            var minor = code & 0xFFFF;
            if (major != 3)
            {
                throw new ProtocolException(SqlState.FeatureNotSupported,
                    $"unsupported frontend protocol {major}.{minor}: server supports 3.0 to 3.0");
            }

            parameters = ParseStartupParameters(body);
            var unrecognized = parameters.Keys.Where(k => k.StartsWith("_pq_.", StringComparison.Ordinal)).ToList();
            if (minor > 0 || unrecognized.Count > 0)
            {
                var npv = new ArrayBufferWriter<byte>();
                MessageWriter.WriteNegotiateProtocolVersion(npv, 0, unrecognized);
                await _clientStream.WriteAsync(npv.WrittenMemory, ct);
                foreach (var k in unrecognized)
                {
                    parameters.Remove(k);
                }
            }

            break;
        }

        if (!parameters.TryGetValue("user", out var user) || user.Length == 0)
        {
            throw new ProtocolException(SqlState.InvalidAuthorizationSpecification, "no PostgreSQL user name specified in startup packet");
        }

        _user = user;
        if (parameters.TryGetValue("replication", out var replication) && replication is not ("false" or "off" or "no" or "0"))
        {
            throw new ProtocolException(SqlState.FeatureNotSupported, "replication connections are not supported by the Sequin proxy");
        }

        if (_options.Tls.Required && !tls)
        {
            throw new ProtocolException(SqlState.InvalidAuthorizationSpecification,
                $"connection for user \"{user}\" requires TLS (sslmode=require)");
        }

        if (!_server.TryReserveSlot())
        {
            throw new ProtocolException(SqlState.TooManyConnections, "sorry, too many clients already");
        }

        _holdsSlot = true;
        var credential = await _server.Credentials.FindAsync(user, ct);
        if (credential is null)
        {
            throw new ProtocolException(SqlState.InvalidAuthorizationSpecification, $"role \"{user}\" does not exist");
        }

        var database = parameters.GetValueOrDefault("database");
        if (!string.IsNullOrEmpty(database) && database != credential.Database && database != user)
        {
            throw new ProtocolException(SqlState.InvalidCatalogName, $"database \"{database}\" does not exist");
        }

        await AuthenticateClientAsync(credential, ct);
        var startupReply = await ConnectBackendAsync(credential, parameters, ct);

        var reply = new ArrayBufferWriter<byte>();
        MessageWriter.WriteAuthenticationOk(reply);
        reply.Write(startupReply);
        MessageWriter.WriteBackendKeyData(reply, ProcessId, SecretKey);
        MessageWriter.WriteReadyForQuery(reply, TransactionStatus.Idle);
        await _clientStream.WriteAsync(reply.WrittenMemory, ct);
        await _clientStream.FlushAsync(ct);
        LogSessionStarted(_logger, _remote, user, credential.Database, credential.BackendRole, tls, _captureEnabled);
        return true;
    }

    private bool _holdsSlot;

    private static Dictionary<string, string> ParseStartupParameters(byte[] body)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        var p = 0;
        while (p < body.Length && body[p] != 0)
        {
            var keyEnd = Array.IndexOf(body, (byte)0, p);
            if (keyEnd < 0)
            {
                ThrowHelper.ThrowProtocol("invalid startup packet layout: expected terminator as last byte");
            }

            var valueEnd = Array.IndexOf(body, (byte)0, keyEnd + 1);
            if (valueEnd < 0)
            {
                ThrowHelper.ThrowProtocol("invalid startup packet layout: expected terminator as last byte");
            }

            try
            {
                result[Utf8.GetString(body, p, keyEnd - p)] = Utf8.GetString(body, keyEnd + 1, valueEnd - keyEnd - 1);
            }
            catch (DecoderFallbackException)
            {
                ThrowHelper.ThrowProtocol("invalid byte sequence in startup packet");
            }

            p = valueEnd + 1;
        }

        if (p != body.Length - 1)
        {
            ThrowHelper.ThrowProtocol("invalid startup packet layout: expected terminator as last byte");
        }

        return result;
    }

    /// <summary>Reads one typed message during authentication (bounded, must be a PasswordMessage/SASL response).</summary>
    private async Task<byte[]> ReadAuthMessageAsync(CancellationToken ct)
    {
        var header = new byte[5];
        await _clientStream.ReadExactlyAsync(header, ct);
        var length = BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(1));
        if (header[0] != FrontendMessageCode.PasswordMessage)
        {
            throw new ProtocolException(SqlState.ProtocolViolation, $"expected SASL response, got message type {header[0]}");
        }

        if (length < 4 || length > MaxStartupPacket)
        {
            throw new ProtocolException(SqlState.ProtocolViolation, "invalid message length");
        }

        var body = new byte[length - 4];
        await _clientStream.ReadExactlyAsync(body, ct);
        return body;
    }

    private async Task AuthenticateClientAsync(ProxyCredential credential, CancellationToken ct)
    {
        var buffer = new ArrayBufferWriter<byte>();
        MessageWriter.WriteAuthenticationSasl(buffer);
        await _clientStream.WriteAsync(buffer.WrittenMemory, ct);
        await _clientStream.FlushAsync(ct);

        // SASLInitialResponse: mechanism (C string), Int32 length of data (-1 = none), data.
        var initial = await ReadAuthMessageAsync(ct);
        var mechanismEnd = Array.IndexOf(initial, (byte)0);
        if (mechanismEnd < 0 || initial.Length < mechanismEnd + 5)
        {
            throw new ProtocolException(SqlState.ProtocolViolation, "malformed SASLInitialResponse message");
        }

        var mechanism = Encoding.ASCII.GetString(initial, 0, mechanismEnd);
        if (mechanism != "SCRAM-SHA-256")
        {
            throw new ProtocolException(SqlState.ProtocolViolation, "client selected an invalid SASL authentication mechanism");
        }

        var dataLength = BinaryPrimitives.ReadInt32BigEndian(initial.AsSpan(mechanismEnd + 1));
        if (dataLength < 0 || dataLength != initial.Length - mechanismEnd - 5)
        {
            throw new ProtocolException(SqlState.ProtocolViolation, "malformed SASLInitialResponse message");
        }

        var scram = new ScramServer(credential.Verifier);
        var serverFirst = scram.HandleClientFirst(Encoding.UTF8.GetString(initial, mechanismEnd + 5, dataLength))
            ?? throw new ProtocolException(SqlState.ProtocolViolation, "malformed SCRAM message");
        buffer.ResetWrittenCount();
        MessageWriter.WriteAuthenticationSaslContinue(buffer, Encoding.UTF8.GetBytes(serverFirst));
        await _clientStream.WriteAsync(buffer.WrittenMemory, ct);
        await _clientStream.FlushAsync(ct);

        var final = await ReadAuthMessageAsync(ct);
        var serverFinal = scram.HandleClientFinal(Encoding.UTF8.GetString(final));
        if (serverFinal is null)
        {
            LogAuthenticationFailed(_logger, _remote, credential.Username);
            throw new ProtocolException(SqlState.InvalidPassword, $"password authentication failed for user \"{credential.Username}\"");
        }

        buffer.ResetWrittenCount();
        MessageWriter.WriteAuthenticationSaslFinal(buffer, Encoding.UTF8.GetBytes(serverFinal));
        await _clientStream.WriteAsync(buffer.WrittenMemory, ct);
    }

    /// <summary>
    /// Logs in to the destination as the credential's backend role with the client's other startup parameters,
    /// and returns the ParameterStatus (and NoticeResponse) messages to pass on. BackendKeyData is kept for
    /// CancelRequest mapping.
    /// </summary>
    private async Task<byte[]> ConnectBackendAsync(ProxyCredential credential, Dictionary<string, string> clientParameters, CancellationToken ct)
    {
        Stream stream;
        try
        {
            if (_engine is not null)
            {
                (stream, _backendSocket, BackendEndPoint) = await _engine.ConnectAsync(credential.BackendHost, credential.BackendPort, ct);
            }
            else
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                _backendSocket = socket;
                await socket.ConnectAsync(credential.BackendHost, credential.BackendPort, ct);
                BackendEndPoint = socket.RemoteEndPoint;
                stream = new NetworkStream(socket, ownsSocket: false);
            }
        }
        catch (SocketException e)
        {
            throw new ProtocolException(SqlState.ConnectionFailure, $"could not connect to the destination database: {e.Message}");
        }

        _backendStream = stream;
        _backendIn = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 16 * 1024, minimumReadSize: 4096));
        _backendOut = PipeWriter.Create(stream, new StreamPipeWriterOptions(minimumBufferSize: 4096));

        var startup = new List<KeyValuePair<string, string>>
        {
            new("user", credential.BackendRole),
            new("database", credential.Database),
        };
        startup.AddRange(clientParameters.Where(kv => kv.Key is not ("user" or "database" or "replication")));
        MessageWriter.WriteStartup(_backendOut, startup);
        await _backendOut.FlushAsync(ct);

        ScramClient? scram = null;
        var passOn = new ArrayBufferWriter<byte>();
        while (true)
        {
            var frame = await ReadBackendFrameAsync(ct);
            switch (frame.Type)
            {
                case BackendMessageCode.AuthenticationRequest:
                    var authCode = BinaryPrimitives.ReadInt32BigEndian(frame.Body);
                    var password = credential.BackendPassword ?? "";
                    switch (authCode)
                    {
                        case 0:
                            break;
                        case 3: // cleartext
                            MessageWriter.WriteRaw(_backendOut, FrontendMessageCode.PasswordMessage, Encoding.UTF8.GetBytes(password + "\0"));
                            break;
                        case 5: // md5(md5(password + user) + salt)
                            var inner = Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(password + credential.BackendRole)));
                            var outer = Convert.ToHexStringLower(MD5.HashData([.. Encoding.ASCII.GetBytes(inner), .. frame.Body.AsSpan(4, 4)]));
                            MessageWriter.WriteRaw(_backendOut, FrontendMessageCode.PasswordMessage, Encoding.ASCII.GetBytes("md5" + outer + "\0"));
                            break;
                        case 10: // SASL
                            scram = new ScramClient(password);
                            var first = Encoding.UTF8.GetBytes(scram.ClientFirst());
                            var body = new byte[14 + 4 + first.Length];
                            "SCRAM-SHA-256\0"u8.CopyTo(body);
                            BinaryPrimitives.WriteInt32BigEndian(body.AsSpan(14), first.Length);
                            first.CopyTo(body, 18);
                            MessageWriter.WriteRaw(_backendOut, FrontendMessageCode.PasswordMessage, body);
                            break;
                        case 11:
                            var final = scram!.ClientFinal(Encoding.UTF8.GetString(frame.Body, 4, frame.Body.Length - 4));
                            MessageWriter.WriteRaw(_backendOut, FrontendMessageCode.PasswordMessage, Encoding.UTF8.GetBytes(final));
                            break;
                        case 12:
                            if (scram is null || !scram.VerifyServerFinal(Encoding.UTF8.GetString(frame.Body, 4, frame.Body.Length - 4)))
                            {
                                throw new ProtocolException(SqlState.ConnectionFailure, "the destination database failed SCRAM server verification");
                            }

                            break;
                        default:
                            throw new ProtocolException(SqlState.ConnectionFailure, $"unsupported authentication method {authCode} requested by the destination database");
                    }

                    await _backendOut.FlushAsync(ct);
                    break;
                case BackendMessageCode.ParameterStatus:
                case BackendMessageCode.NoticeResponse:
                    MessageWriter.WriteRaw(passOn, frame.Code, frame.Body);
                    break;
                case BackendMessageCode.BackendKeyData:
                    BackendProcessId = BinaryPrimitives.ReadInt32BigEndian(frame.Body);
                    BackendSecretKey = BinaryPrimitives.ReadInt32BigEndian(frame.Body.AsSpan(4));
                    break;
                case BackendMessageCode.NegotiateProtocolVersion:
                    break;
                case BackendMessageCode.ErrorResponse:
                    var fields = frame.ErrorFields();
                    LogBackendLoginFailed(_logger, _remote, credential.Username, credential.BackendRole, fields.GetValueOrDefault('M') ?? "");
                    throw new ProtocolException(fields.GetValueOrDefault('C') ?? SqlState.ConnectionFailure, fields.GetValueOrDefault('M') ?? "destination login failed");
                case BackendMessageCode.ReadyForQuery:
                    await DetectSyncedTablesAsync(ct);
                    return passOn.WrittenSpan.ToArray();
                default:
                    throw new ProtocolException(SqlState.ConnectionFailure, $"unexpected message {(char)frame.Code} from the destination during startup");
            }
        }
    }

    /// <summary>Whether this database has synced tables (schema <c>_sequin</c> of ADR 0007): only then are writes inspected.</summary>
    private async Task DetectSyncedTablesAsync(CancellationToken ct)
    {
        MessageWriter.WriteQuery(_backendOut!, "select to_regnamespace('_sequin') is not null");
        await _backendOut!.FlushAsync(ct);
        while (true)
        {
            var frame = await ReadBackendFrameAsync(ct);
            if (frame.Type == BackendMessageCode.DataRow)
            {
                _captureEnabled = Frame.Text(frame.DataRowValues()[0]) == "t";
            }
            else if (frame.Type == BackendMessageCode.ReadyForQuery)
            {
                return;
            }
        }
    }

    /// <summary>Reads one whole backend message outside the pumps (startup only).</summary>
    private async Task<Frame> ReadBackendFrameAsync(CancellationToken ct)
    {
        var reader = _backendIn!;
        var header = new byte[5];
        while (true)
        {
            var result = await reader.ReadAsync(ct);
            var buffer = result.Buffer;
            if (buffer.Length >= 5)
            {
                buffer.Slice(0, 5).CopyTo(header);
                var length = BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(1));
                if (length < 4)
                {
                    throw new ProtocolException(SqlState.ConnectionFailure, "invalid message from the destination database");
                }

                if (buffer.Length >= 1 + length)
                {
                    var body = buffer.Slice(5, length - 4).ToArray();
                    reader.AdvanceTo(buffer.GetPosition(1 + length));
                    return new Frame(header[0], body);
                }
            }

            if (result.IsCompleted)
            {
                throw new ProtocolException(SqlState.ConnectionFailure, "the destination database closed the connection");
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _server.Unregister(this, _holdsSlot);
        await _lifetime.CancelAsync();
        try
        {
            _clientSocket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
        }

        _clientSocket.Dispose();
        _backendSocket?.Dispose();
        await _clientStream.DisposeAsync();
        if (_backendStream is not null)
        {
            await _backendStream.DisposeAsync();
        }
        _lifetime.Dispose();
        _clientOutLock.Dispose();
        _internal.Writer.TryComplete();
    }

    private int _disposed;

    private readonly Channel<Frame> _internal = Channel.CreateUnbounded<Frame>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
}
