using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Sequin.Proxy.Net;

/// <summary>
/// The proxy's own socket event loop (Linux): one thread per engine waits in <c>epoll_wait</c> on the sockets of the
/// sessions it owns and completes their reads and writes on that thread, so a forwarded message costs one
/// <c>recv</c> and one <c>send</c>, as in PgBouncer. .NET's socket engine makes a speculative <c>recv</c> before
/// every wait, which fails with EAGAIN on a request/response connection: two extra system calls per transaction
/// (docs/proxy.md, "Benchmarks"; ADR 0014). Sockets attached here must never be used for .NET's own asynchronous
/// operations (that would register them with .NET's epoll too).
/// </summary>
internal sealed class SocketEngine : IDisposable
{
    private const int MaxEvents = 256;

    private readonly EpollHandle _epoll;
    private readonly Action<string>? _failed;
    private readonly Thread _thread;
    private readonly ConcurrentDictionary<long, EngineStream> _streams = new();
    private long _nextId;
    private volatile bool _disposed;

    private SocketEngine(EpollHandle epoll, string name, Action<string>? failed)
    {
        _epoll = epoll;
        _failed = failed;
        _thread = new Thread(Loop) { IsBackground = true, Name = name };
        _thread.Start();
    }

    /// <summary>Whether the engine can run here (Linux); elsewhere sessions use <see cref="NetworkStream"/>.</summary>
    public static bool IsSupported => OperatingSystem.IsLinux();

    /// <summary>
    /// Starts an engine with its own epoll instance and thread. <paramref name="failed"/> hears why the loop stopped if
    /// epoll_wait ever fails (the engine then closes its sockets and refuses new ones).
    /// </summary>
    /// <exception cref="SocketException">epoll_create1 failed.</exception>
    public static SocketEngine Start(string name, Action<string>? failed = null) => new(Epoll.Create(), name, failed);

    /// <summary>
    /// Takes over a connected socket: it is made non-blocking and added to this engine's epoll. The returned stream
    /// owns the socket (disposing it closes the socket).
    /// </summary>
    public Stream Attach(Socket socket)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        socket.Blocking = false;
        var id = Interlocked.Increment(ref _nextId);
        var stream = new EngineStream(this, socket, id);
        _streams[id] = stream;
        int error;
        try
        {
            error = Epoll.Add(_epoll, socket.SafeHandle, (ulong)id) == 0 ? 0 : Marshal.GetLastPInvokeError();
        }
        catch (ObjectDisposedException)
        {
            error = -1; // the engine stopped meanwhile
        }

        if (error != 0)
        {
            _streams.TryRemove(id, out _);
            socket.Blocking = true; // as it came: the caller may fall back to .NET's sockets (NetworkStream needs blocking)
            throw error > 0 ? new SocketException(error) : new ObjectDisposedException(nameof(SocketEngine));
        }

        return stream;
    }

    /// <summary>
    /// Connects to <paramref name="host"/>:<paramref name="port"/> (a name is resolved; its addresses are tried in
    /// order) without .NET's socket engine, and returns the attached stream with its socket.
    /// </summary>
    /// <exception cref="SocketException">No address accepted the connection (the last error).</exception>
    public async Task<(Stream Stream, Socket Socket, IPEndPoint EndPoint)> ConnectAsync(string host, int port, CancellationToken ct)
    {
        var addresses = IPAddress.TryParse(host, out var literal) ? [literal] : await Dns.GetHostAddressesAsync(host, ct);
        SocketException? last = null;
        foreach (var address in addresses)
        {
            var endPoint = new IPEndPoint(address, port);
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, Blocking = false };
            try
            {
                try
                {
                    socket.Connect(endPoint);
                }
                catch (SocketException e) when (e.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress)
                {
                    // a non-blocking connect in progress: the socket becomes writable when it is done
                }

                var stream = (EngineStream)Attach(socket);
                try
                {
                    await stream.WaitWritableAsync(ct);
                    var error = (int)socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error)!;
                    if (error == 0)
                    {
                        return (stream, socket, endPoint);
                    }

                    last = new SocketException(error);
                }
                catch
                {
                    await stream.DisposeAsync();
                    throw;
                }

                await stream.DisposeAsync();
            }
            catch (SocketException e)
            {
                socket.Dispose();
                last = e;
            }
        }

        throw last ?? new SocketException((int)SocketError.HostNotFound);
    }

    internal void Detach(EngineStream stream) => _streams.TryRemove(stream.Id, out _);

    private unsafe void Loop()
    {
        var events = (byte*)NativeMemory.Alloc((nuint)(MaxEvents * Epoll.EventSize));
        try
        {
            while (!_disposed)
            {
                var n = Epoll.Wait(_epoll, events, MaxEvents, 1000);
                if (n < 0)
                {
                    var error = Marshal.GetLastPInvokeError();
                    if (error == Epoll.EIntr)
                    {
                        continue;
                    }

                    // Never expected (EBADF, EFAULT, EINVAL): stop taking sockets and end the sessions that relied on
                    // this loop rather than leave them waiting for events that will not come.
                    _disposed = true;
                    _failed?.Invoke($"epoll_wait failed: {new SocketException(error).Message}");
                    foreach (var stream in _streams.Values)
                    {
                        stream.Dispose();
                    }

                    break;
                }

                for (var i = 0; i < n; i++)
                {
                    var ev = events + (i * Epoll.EventSize);
                    var id = (long)*(ulong*)(ev + Epoll.EventDataOffset);
                    if (_streams.TryGetValue(id, out var stream))
                    {
                        try
                        {
                            stream.OnEvents(*(uint*)ev);
                        }
                        catch (Exception)
                        {
                            // Continuations run inline here and their exceptions stay in their tasks; anything else
                            // must not stop the loop that serves every other session: the socket is closed instead.
                            stream.Dispose();
                        }
                    }
                }
            }
        }
        finally
        {
            NativeMemory.Free(events);
            _epoll.Dispose(); // closed once no epoll_ctl of a racing Attach still uses it
        }
    }

    /// <summary>
    /// Stops the loop: its thread ends within a second and then closes the epoll instance. Attached streams are not
    /// closed; their sessions end with the host.
    /// </summary>
    public void Dispose() => _disposed = true;
}
