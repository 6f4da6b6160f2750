using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Threading.Tasks.Sources;

namespace Sequin.Proxy.Net;

/// <summary>
/// A connected socket driven by a <see cref="SocketEngine"/>: at most one read and one write in flight (as with
/// <see cref="NetworkStream"/>). A read first tries <c>recv</c> unless the last one found the socket drained and no
/// readiness event arrived since; otherwise it waits for the engine's next event and completes on the engine thread,
/// which runs the awaiting continuation inline once <see cref="InlineContinuations"/> is set (on the thread pool
/// before). Errors surface as <see cref="IOException"/> wrapping a <see cref="SocketException"/>, as from
/// <see cref="NetworkStream"/>; a zero-length read waits until data or end of stream is available and returns 0.
/// Disposing closes the socket and fails pending operations with <see cref="ObjectDisposedException"/>.
/// </summary>
internal sealed unsafe class EngineStream : Stream, IValueTaskSource<int>, IValueTaskSource
{
    private const int MsgPeek = 0x2;
    private const int EBadF = 9;

    private readonly SocketEngine _engine;
    private readonly Socket _socket;
    private readonly SafeHandle _handle;
    private readonly Lock _gate = new();
    private bool _closed;

    // Read side. _readEvents counts the engine's readiness events; _readDrainedAt is its value when a recv last found
    // nothing more to read, so a read skips the recv that would fail with EAGAIN.
    private ManualResetValueTaskSourceCore<int> _read = new() { RunContinuationsAsynchronously = true };
    private int _readEvents;
    private int _readDrainedAt = -1;

    // Set for good once the engine reports the peer's FIN or an error: edge-triggered epoll reports them once, possibly
    // in the same event as the last data, so a short read must not be taken as "nothing more will come" after that.
    private volatile bool _peerClosed;
    private bool _readWaiting;
    private Memory<byte> _readBuffer;
    private CancellationToken _readToken;
    private CancellationTokenRegistration _readCancel;

    // Write side, the same way; a wait with nothing to send completes on the first writable event (connect).
    private ManualResetValueTaskSourceCore<int> _write = new() { RunContinuationsAsynchronously = true };
    private int _writeEvents;
    private bool _writeWaiting;
    private ReadOnlyMemory<byte> _writeBuffer;
    private CancellationToken _writeToken;
    private CancellationTokenRegistration _writeCancel;

    internal EngineStream(SocketEngine engine, Socket socket, long id)
    {
        _engine = engine;
        _socket = socket;
        _handle = socket.SafeHandle;
        Id = id;
    }

    internal long Id { get; }

    /// <summary>
    /// Whether a wait that the engine completes runs its continuation inline on the engine thread (set by the pumps: a
    /// forwarded message costs no thread hop) or on the thread pool (the default, for the start-up: the TLS handshake
    /// and SCRAM are CPU work that must not stall the engine's other sessions). Set while no operation is pending.
    /// </summary>
    internal bool InlineContinuations
    {
        set
        {
            _read.RunContinuationsAsynchronously = !value;
            _write.RunContinuationsAsynchronously = !value;
        }
    }

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<int>(cancellationToken);
        }

        while (true)
        {
            var seen = Volatile.Read(ref _readEvents);
            if (seen != _readDrainedAt || _peerClosed)
            {
                var n = TryReceive(buffer.Span, seen, out var error);
                if (n >= 0)
                {
                    return new ValueTask<int>(n);
                }

                if (error != Epoll.EAgain)
                {
                    return ValueTask.FromException<int>(Failure(error));
                }
            }

            lock (_gate)
            {
                if (_readEvents != seen)
                {
                    continue; // an event arrived since the recv: try again
                }

                if (_closed)
                {
                    return ValueTask.FromException<int>(new ObjectDisposedException(nameof(EngineStream)));
                }

                _read.Reset();
                _readBuffer = buffer;
                _readToken = cancellationToken;
                _readWaiting = true;
                if (cancellationToken.CanBeCanceled)
                {
                    _readCancel = cancellationToken.UnsafeRegister(static s => ((EngineStream)s!).CancelRead(), this);
                }

                return new ValueTask<int>(this, _read.Version);
            }
        }
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }

        while (true)
        {
            var seen = Volatile.Read(ref _writeEvents);
            var error = TrySend(ref buffer);
            if (buffer.IsEmpty)
            {
                return default;
            }

            if (error != Epoll.EAgain)
            {
                return ValueTask.FromException(Failure(error));
            }

            lock (_gate)
            {
                if (_writeEvents != seen)
                {
                    continue;
                }

                if (_closed)
                {
                    return ValueTask.FromException(new ObjectDisposedException(nameof(EngineStream)));
                }

                return WaitWrite(buffer, cancellationToken);
            }
        }
    }

    /// <summary>Completes when the socket has been writable (or failed) since it was attached: a connect's end.</summary>
    internal ValueTask WaitWritableAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return _writeEvents > 0 ? default : WaitWrite(ReadOnlyMemory<byte>.Empty, cancellationToken);
        }
    }

    private ValueTask WaitWrite(ReadOnlyMemory<byte> rest, CancellationToken cancellationToken)
    {
        _write.Reset();
        _writeBuffer = rest;
        _writeToken = cancellationToken;
        _writeWaiting = true;
        if (cancellationToken.CanBeCanceled)
        {
            _writeCancel = cancellationToken.UnsafeRegister(static s => ((EngineStream)s!).CancelWrite(), this);
        }

        return new ValueTask(this, _write.Version);
    }

    /// <summary>Called on the engine thread with the epoll event mask of this socket.</summary>
    internal void OnEvents(uint events)
    {
        if ((events & (Epoll.EpollIn | Epoll.EpollHup | Epoll.EpollErr | Epoll.EpollRdHup)) != 0)
        {
            if ((events & (Epoll.EpollHup | Epoll.EpollErr | Epoll.EpollRdHup)) != 0)
            {
                _peerClosed = true;
            }

            bool run;
            lock (_gate)
            {
                _readEvents++;
                run = _readWaiting;
                _readWaiting = false;
            }

            if (run)
            {
                CompleteRead();
            }
        }

        if ((events & (Epoll.EpollOut | Epoll.EpollHup | Epoll.EpollErr)) != 0)
        {
            bool run;
            lock (_gate)
            {
                _writeEvents++;
                run = _writeWaiting;
                _writeWaiting = false;
            }

            if (run)
            {
                CompleteWrite();
            }
        }
    }

    private void CompleteRead()
    {
        while (true)
        {
            var seen = Volatile.Read(ref _readEvents);
            var n = TryReceive(_readBuffer.Span, seen, out var error);
            if (n >= 0 || error != Epoll.EAgain)
            {
                _readCancel.Unregister();
                _readBuffer = default;
                if (n >= 0)
                {
                    _read.SetResult(n);
                }
                else
                {
                    _read.SetException(Failure(error));
                }

                return;
            }

            lock (_gate)
            {
                if (_readEvents != seen)
                {
                    continue;
                }

                if (!_closed && !_readToken.IsCancellationRequested)
                {
                    _readWaiting = true; // a spurious event: wait for the next one
                    return;
                }
            }

            _readCancel.Unregister();
            _read.SetException(_closed ? new ObjectDisposedException(nameof(EngineStream)) : new OperationCanceledException(_readToken));
            return;
        }
    }

    private void CompleteWrite()
    {
        while (true)
        {
            var seen = Volatile.Read(ref _writeEvents);
            var rest = _writeBuffer;
            var error = TrySend(ref rest);
            _writeBuffer = rest;
            if (rest.IsEmpty || error != Epoll.EAgain)
            {
                _writeCancel.Unregister();
                _writeBuffer = default;
                if (rest.IsEmpty)
                {
                    _write.SetResult(0);
                }
                else
                {
                    _write.SetException(Failure(error));
                }

                return;
            }

            lock (_gate)
            {
                if (_writeEvents != seen)
                {
                    continue;
                }

                if (!_closed && !_writeToken.IsCancellationRequested)
                {
                    _writeWaiting = true;
                    return;
                }
            }

            _writeCancel.Unregister();
            _write.SetException(_closed ? new ObjectDisposedException(nameof(EngineStream)) : new OperationCanceledException(_writeToken));
            return;
        }
    }

    private void CancelRead()
    {
        lock (_gate)
        {
            if (!_readWaiting)
            {
                return; // completing on the engine thread, which sees the token
            }

            _readWaiting = false;
        }

        _readBuffer = default;
        _read.SetException(new OperationCanceledException(_readToken));
    }

    private void CancelWrite()
    {
        lock (_gate)
        {
            if (!_writeWaiting)
            {
                return;
            }

            _writeWaiting = false;
        }

        _writeBuffer = default;
        _write.SetException(new OperationCanceledException(_writeToken));
    }

    /// <summary>One recv: bytes read (0 at end of stream), or -1 with errno in <paramref name="error"/>.</summary>
    private int TryReceive(Span<byte> buffer, int seen, out int error)
    {
        try
        {
            return TryReceiveCore(buffer, seen, out error);
        }
        catch (ObjectDisposedException)
        {
            // the socket was closed (the handle's reference count refuses new calls): fail as closed
            error = EBadF;
            return -1;
        }
    }

    private int TryReceiveCore(Span<byte> buffer, int seen, out int error)
    {
        error = 0;
        while (true)
        {
            nint n;
            if (buffer.IsEmpty)
            {
                // A zero-length read asks whether anything (data or end of stream) is there, without consuming it.
                byte probe;
                n = Epoll.Receive(_handle, &probe, 1, MsgPeek);
                if (n >= 0)
                {
                    return 0;
                }
            }
            else
            {
                fixed (byte* p = buffer)
                {
                    n = Epoll.Receive(_handle, p, buffer.Length, 0);
                }

                if (n >= 0)
                {
                    if (n < buffer.Length)
                    {
                        _readDrainedAt = seen; // recv returns less than asked only when the queue is empty
                    }

                    return (int)n;
                }
            }

            error = Marshal.GetLastPInvokeError();
            if (error == Epoll.EIntr)
            {
                continue;
            }

            if (error == Epoll.EAgain)
            {
                _readDrainedAt = seen;
            }

            return -1;
        }
    }

    /// <summary>Sends until <paramref name="buffer"/> is empty (returns 0) or send fails (returns errno; EAGAIN: full).</summary>
    private int TrySend(ref ReadOnlyMemory<byte> buffer)
    {
        try
        {
            return TrySendCore(ref buffer);
        }
        catch (ObjectDisposedException)
        {
            return EBadF;
        }
    }

    private int TrySendCore(ref ReadOnlyMemory<byte> buffer)
    {
        while (!buffer.IsEmpty)
        {
            nint n;
            fixed (byte* p = buffer.Span)
            {
                n = Epoll.Send(_handle, p, buffer.Length, Epoll.MsgNoSignal);
            }

            if (n >= 0)
            {
                buffer = buffer[(int)n..];
                continue;
            }

            var error = Marshal.GetLastPInvokeError();
            if (error != Epoll.EIntr)
            {
                return error;
            }
        }

        return 0;
    }

    private Exception Failure(int error) =>
        _closed ? new ObjectDisposedException(nameof(EngineStream)) : new IOException(new SocketException(error).Message, new SocketException(error));

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            bool read, write;
            lock (_gate)
            {
                if (_closed)
                {
                    return;
                }

                _closed = true;
                read = _readWaiting;
                write = _writeWaiting;
                _readWaiting = _writeWaiting = false;
            }

            _engine.Detach(this);
            if (read)
            {
                _readCancel.Unregister();
                _read.SetException(new ObjectDisposedException(nameof(EngineStream)));
            }

            if (write)
            {
                _writeCancel.Unregister();
                _write.SetException(new ObjectDisposedException(nameof(EngineStream)));
            }

            // Closing the descriptor also removes it from the engine's epoll (no other descriptor shares the socket);
            // a recv/send in progress on the engine thread holds the handle until it returns.
            _socket.Dispose();
        }

        base.Dispose(disposing);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    int IValueTaskSource<int>.GetResult(short token) => _read.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<int>.GetStatus(short token) => _read.GetStatus(token);

    void IValueTaskSource<int>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _read.OnCompleted(continuation, state, token, flags);

    void IValueTaskSource.GetResult(short token) => _write.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _write.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _write.OnCompleted(continuation, state, token, flags);
}
