using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sequin.Proxy.Credentials;
using Sequin.Proxy.Net;
using Sequin.Proxy.Protocol;
using Sequin.Proxy.Writes;

namespace Sequin.Proxy;

/// <summary>
/// The listener: accepts client connections on <c>Sequin:Proxy:Host/Port</c>, runs a <see cref="ProxySession"/>
/// per connection, counts connections for 53300, and maps CancelRequest from the proxy's BackendKeyData to the
/// backend's.
/// </summary>
internal sealed partial class ProxyServer(
    IOptions<ProxyOptions> options,
    ICredentialStore credentials,
    IUpstreamWriter upstreamWriter,
    CertificateProvider certificates,
    ILogger<ProxyServer> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<int, ProxySession> _sessions = new();
    private Socket? _listener;
    private int _connections;
    private SocketEngine[] _engines = [];
    private int _nextEngine;

    public ICredentialStore Credentials => credentials;

    public IUpstreamWriter UpstreamWriter => upstreamWriter;

    public CertificateProvider Certificates => certificates;

    /// <summary>The bound endpoint (known after start; port 0 in configuration picks a free one).</summary>
    public IPEndPoint EndPoint => (IPEndPoint)(_listener?.LocalEndPoint ?? throw new InvalidOperationException("proxy not started"));

    /// <summary>Client connections that have passed startup and hold a slot.</summary>
    public int Connections => Volatile.Read(ref _connections);

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        var o = options.Value;
        var address = IPAddress.Parse(o.Host);
        var listener = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            listener.Bind(new IPEndPoint(address, o.Port));
            listener.Listen(1024);
        }
        catch (SocketException e)
        {
            // A port in use must not take the whole host (API, workers) down with it; the log says why.
            listener.Dispose();
            LogBindFailed(logger, $"{o.Host}:{o.Port}", e.Message);
            return Task.CompletedTask;
        }

        _listener = listener;
        if (o.IoThreads >= 0 && SocketEngine.IsSupported)
        {
            var threads = o.IoThreads > 0 ? o.IoThreads : Environment.ProcessorCount;
            _engines = [.. Enumerable.Range(0, threads).Select(i => SocketEngine.Start($"Sequin proxy I/O {i}", error => LogEngineFailed(logger, i, error)))];
        }

        LogListening(logger, EndPoint.ToString());
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var listener = _listener!;
        while (!stoppingToken.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            catch (SocketException e)
            {
                LogAcceptFailed(logger, e.Message);
                continue;
            }

            ProxySession session;
            try
            {
                client.NoDelay = true;
                session = new ProxySession(client, this, options.Value, logger);
            }
            catch (Exception e) when (e is SocketException or IOException or ObjectDisposedException)
            {
                // One connection that cannot be set up must not stop the listener.
                LogAcceptFailed(logger, e.Message);
                client.Dispose();
                continue;
            }

            _ = Task.Run(() => session.RunAsync(stoppingToken), CancellationToken.None);
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _listener?.Dispose();
        await base.StopAsync(cancellationToken);
    }

    public override void Dispose()
    {
        foreach (var engine in _engines)
        {
            engine.Dispose();
        }

        base.Dispose();
    }

    /// <summary>The socket engine a new session's client and backend sockets go to (round robin), or null: .NET's sockets.</summary>
    public SocketEngine? NextEngine() =>
        _engines.Length == 0 ? null : _engines[(int)((uint)Interlocked.Increment(ref _nextEngine) % (uint)_engines.Length)];

    public bool TryReserveSlot()
    {
        if (Interlocked.Increment(ref _connections) > options.Value.MaxConnections)
        {
            Interlocked.Decrement(ref _connections);
            return false;
        }

        return true;
    }

    public void Register(ProxySession session) => _sessions[session.ProcessId] = session;

    public void Unregister(ProxySession session, bool holdsSlot)
    {
        _sessions.TryRemove(new KeyValuePair<int, ProxySession>(session.ProcessId, session));
        if (holdsSlot)
        {
            Interlocked.Decrement(ref _connections);
        }
    }

    /// <summary>Forwards a CancelRequest to the backend of the session the key belongs to (constant-time key check).</summary>
    public async Task CancelAsync(int processId, int secretKey)
    {
        if (!_sessions.TryGetValue(processId, out var session) || session.BackendEndPoint is not { } backend)
        {
            return;
        }

        Span<byte> given = stackalloc byte[4];
        Span<byte> expected = stackalloc byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(given, secretKey);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(expected, session.SecretKey);
        if (!CryptographicOperations.FixedTimeEquals(given, expected))
        {
            return;
        }

        try
        {
            using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await socket.ConnectAsync(backend, timeout.Token);
            await socket.SendAsync(MessageWriter.CancelRequest(session.BackendProcessId, session.BackendSecretKey), timeout.Token);
            LogCancelForwarded(logger, processId);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            LogAcceptFailed(logger, e.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Sequin proxy listening on {EndPoint}")]
    private static partial void LogListening(ILogger logger, string endPoint);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Sequin proxy could not listen on {EndPoint}: {Error}; the proxy is not running")]
    private static partial void LogBindFailed(ILogger logger, string endPoint, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Proxy socket error: {Error}")]
    private static partial void LogAcceptFailed(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Proxy socket engine {Engine} stopped: {Error}; its sessions were closed and new ones use .NET's sockets")]
    private static partial void LogEngineFailed(ILogger logger, int engine, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "CancelRequest for proxy pid {ProcessId} forwarded to the backend")]
    private static partial void LogCancelForwarded(ILogger logger, int processId);
}
