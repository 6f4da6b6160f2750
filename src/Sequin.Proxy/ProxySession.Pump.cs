using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Text;
using Sequin.Proxy.Protocol;
using Sequin.Proxy.Writes;

namespace Sequin.Proxy;

/// <summary>
/// The two pumps of the inspected path (databases with synced tables). Like the fast path, each socket read lands
/// in one buffer and the frames that need nothing are forwarded from it as they are, with one write per read; only
/// headers are walked. A client Query/Parse/Bind is classified in place when it is whole in the buffer (frames up to
/// <see cref="ProxyOptions.MaxInspectedMessageBytes"/> are waited for); only a possible write leaves this loop for
/// the write path (ProxySession.Writes.cs), with a copy of its body. From the backend, ReadyForQuery is read in
/// place, and frames are copied whole only while the write path holds the backend or upstream changes are pending.
/// </summary>
internal sealed partial class ProxySession
{
    private const int InspectedBufferSize = 16 * 1024;

    /// <summary>Free space below which the buffer is compacted before the next read.</summary>
    private const int MinReadSize = 4096;

    private bool _captureEnabled;
    private Stream? _backendStream;

    // ---- coordination between the pumps (see ProxySession.Writes.cs for the takeover protocol)
    private long _clientSyncsSent;     // Query/Sync/FunctionCall messages forwarded for the client
    private long _clientZsSeen;        // ReadyForQuery messages forwarded to the client
    private volatile bool _splitPending;
    private long _splitAfter;
    private volatile bool _takeover;   // backend frames go to _internal instead of the client
    private bool _errorSinceReady;     // an ErrorResponse was forwarded since the last ReadyForQuery
    private TaskCompletionSource<(TransactionStatus Status, bool ErrorSeen)>? _splitDone;
    private TransactionStatus _status = TransactionStatus.Idle;

    private async Task PumpAsync(CancellationToken ct)
    {
        _clientOut = PipeWriter.Create(_clientStream, new StreamPipeWriterOptions(minimumBufferSize: 4096, leaveOpen: true));
        _server.Register(this);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var toBackend = ClientToBackendAsync(stop.Token);
        var toClient = BackendToClientAsync(stop.Token);
        var first = await Task.WhenAny(toBackend, toClient);
        await stop.CancelAsync();
        try
        {
            await first; // surfaces a ProtocolException of the pump that ended
        }
        finally
        {
            try
            {
                await Task.WhenAll(toBackend, toClient);
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or System.Net.Sockets.SocketException
                or ObjectDisposedException or InvalidOperationException or ProtocolException)
            {
                // the other direction ended because this one did
            }
        }
    }

    private static bool NeedsWholeFrame(byte code) => code is FrontendMessageCode.Query or FrontendMessageCode.Parse or FrontendMessageCode.Bind;

    private async Task ClientToBackendAsync(CancellationToken ct)
    {
        var from = _clientStream;
        var to = _backendStream!;
        var buffer = new ReadBuffer(InspectedBufferSize);
        long remaining = 0;
        try
        {
            while (true)
            {
                var n = await from.ReadAsync(buffer.Free, ct);
                if (n == 0)
                {
                    return;
                }

                buffer.End += n;
                var data = buffer.Array;
                var p = buffer.Start;
                var run = p; // [run, p) is forwarded as it is
                var need = 0;
                while (true)
                {
                    if (remaining > 0)
                    {
                        var take = (int)Math.Min(remaining, buffer.End - p);
                        if (take == 0)
                        {
                            break;
                        }

                        p += take;
                        remaining -= take;
                        continue;
                    }

                    if (buffer.End - p < 5)
                    {
                        break;
                    }

                    var code = data[p];
                    var length = BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(p + 1));
                    ValidateFrontendHeader(code, length);

                    var holding = _batch is not null || _discardUntilSync;
                    if (holding && length - 4 > _options.MaxInspectedMessageBytes)
                    {
                        throw new ProtocolException(SqlState.ProgramLimitExceeded, "message too large inside a write batch");
                    }

                    if (holding || (NeedsWholeFrame(code) && length - 4 <= _options.MaxInspectedMessageBytes))
                    {
                        if (buffer.End - p < 1 + length)
                        {
                            need = 1 + length; // wait for the whole frame (bounded by MaxInspectedMessageBytes)
                            break;
                        }

                        if (!holding && IsPlainRead(code, data.AsSpan(p + 5, length - 4)))
                        {
                            CountForwarded(code);
                            p += 1 + length;
                            continue;
                        }

                        // A possible write (or a message of a held batch): the write path takes it from here.
                        if (p > run)
                        {
                            await to.WriteAsync(data.AsMemory(run, p - run), ct);
                        }

                        var copy = data.AsSpan(p + 5, length - 4).ToArray();
                        p += 1 + length;
                        run = p;
                        if (await HandleInspectedAsync(code, copy, _backendOut!, pending: false, ct))
                        {
                            await _backendOut!.FlushAsync(ct);
                        }

                        continue;
                    }

                    CountForwarded(code);
                    p += 5;
                    remaining = length - 4;
                    if (code == FrontendMessageCode.Terminate)
                    {
                        await to.WriteAsync(data.AsMemory(run, p - run), ct);
                        return;
                    }
                }

                if (p > run)
                {
                    await to.WriteAsync(data.AsMemory(run, p - run), ct);
                }

                buffer.Consume(p, need);
            }
        }
        finally
        {
            buffer.Dispose();
        }
    }

    private void CountForwarded(byte code)
    {
        if (code is FrontendMessageCode.Query or FrontendMessageCode.Sync or FrontendMessageCode.FunctionCall)
        {
            _clientSyncsSent++;
            _extendedSinceSync = false;
        }
        else
        {
            _extendedSinceSync = true;
        }
    }

    /// <summary>
    /// Whether a whole Query/Parse/Bind outside a write batch is forwarded unchanged: a Query or the Bind of a
    /// statement that cannot write. Parse is always forwarded; here it only records whether its statement may write.
    /// Must agree with <see cref="HandleInspectedAsync"/>, which gets every frame this returns false for (also
    /// malformed ones, so that it reports them).
    /// </summary>
    private bool IsPlainRead(byte code, ReadOnlySpan<byte> body)
    {
        switch (code)
        {
            case FrontendMessageCode.Query:
            {
                var end = body.IndexOf((byte)0);
                return end >= 0 && !MayWriteUtf8(body[..end]);
            }

            case FrontendMessageCode.Parse:
            {
                var nameEnd = body.IndexOf((byte)0);
                if (nameEnd < 0)
                {
                    return false;
                }

                var sql = body[(nameEnd + 1)..];
                var sqlEnd = sql.IndexOf((byte)0);
                if (sqlEnd < 0)
                {
                    return false;
                }

                if (MayWriteUtf8(sql[..sqlEnd]))
                {
                    _writeStatements.Add(Encoding.UTF8.GetString(body[..nameEnd]));
                }
                else if (_writeStatements.Count > 0)
                {
                    _writeStatements.Remove(Encoding.UTF8.GetString(body[..nameEnd]));
                }

                // A COMMIT/ROLLBACK/SAVEPOINT prepared now may be bound later behind a write in one pipeline: the write
                // batch must end before it (the same bookkeeping as ClassifyParse). Such statements are short; a longer
                // one the check skips is caught by the safety net in RunWriteAsync.
                if (sqlEnd <= 256 && MaySplitWriteBatchUtf8(sql[..sqlEnd]) && SqlText.SplitsWriteBatch(Encoding.UTF8.GetString(sql[..sqlEnd])))
                {
                    _endStatements.Add(Encoding.UTF8.GetString(body[..nameEnd]));
                }
                else if (_endStatements.Count > 0)
                {
                    _endStatements.Remove(Encoding.UTF8.GetString(body[..nameEnd]));
                }

                return true;
            }

            case FrontendMessageCode.Bind:
            {
                var portalEnd = body.IndexOf((byte)0);
                if (portalEnd < 0)
                {
                    return false;
                }

                var statement = body[(portalEnd + 1)..];
                var statementEnd = statement.IndexOf((byte)0);
                if (statementEnd < 0)
                {
                    return false;
                }

                if (_writeStatements.Count == 0 && _endStatements.Count == 0 && _endPortals.Count == 0)
                {
                    return true;
                }

                // Bookkeeping for the write path: a Bind of a write statement goes there, and which portals would end
                // a write batch (COMMIT, ROLLBACK… bound now, executed behind a write later) is recorded there.
                var name = Encoding.UTF8.GetString(statement[..statementEnd]);
                return !_writeStatements.Contains(name) && !_endStatements.Contains(name) && _endPortals.Count == 0;
            }

            default:
                return false;
        }
    }

    /// <summary><see cref="SqlText.MayWrite"/> on UTF-8 text, decoded without allocating for statements up to 1 KiB.</summary>
    /// <summary>
    /// Cheap pre-check for <see cref="SqlText.SplitsWriteBatch"/> on the read path (no allocation): the statement starts
    /// (after whitespace) with a comment or the first three letters of COMMIT, END, ABORT, ROLLBACK, PREPARE, SAVEPOINT
    /// or RELEASE.
    /// </summary>
    /// <summary>Largest backend message length accepted: Postgres's 1 GB allocation limit plus headers.</summary>
    private const int MaxBackendMessageLength = (1 << 30) + 4096;

    private static bool MaySplitWriteBatchUtf8(ReadOnlySpan<byte> utf8)
    {
        var i = 0;
        while (i < utf8.Length && utf8[i] is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r' or (byte)'\f')
        {
            i++;
        }

        if (i < utf8.Length && utf8[i] is (byte)'-' or (byte)'/' or (byte)'(')
        {
            return true;
        }

        if (utf8.Length - i < 3)
        {
            return false;
        }

        Span<byte> head = [(byte)(utf8[i] | 0x20), (byte)(utf8[i + 1] | 0x20), (byte)(utf8[i + 2] | 0x20)];
        return head.SequenceEqual("com"u8) || head.SequenceEqual("end"u8) || head.SequenceEqual("abo"u8) || head.SequenceEqual("rol"u8)
            || head.SequenceEqual("pre"u8) || head.SequenceEqual("sav"u8) || head.SequenceEqual("rel"u8);
    }

    private static bool MayWriteUtf8(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length <= 1024)
        {
            Span<char> chars = stackalloc char[utf8.Length];
            return SqlText.MayWrite(chars[..Encoding.UTF8.GetChars(utf8, chars)]);
        }

        var rented = ArrayPool<char>.Shared.Rent(Encoding.UTF8.GetMaxCharCount(utf8.Length));
        try
        {
            return SqlText.MayWrite(rented.AsSpan(0, Encoding.UTF8.GetChars(utf8, rented)));
        }
        finally
        {
            ArrayPool<char>.Shared.Return(rented);
        }
    }

    private void ValidateFrontendHeader(byte code, int length)
    {
        if (!FrontendMessageCode.IsKnown(code))
        {
            throw new ProtocolException(SqlState.ProtocolViolation, $"invalid frontend message type {code}");
        }

        if (length < 4 || length > MaxMessageLength)
        {
            throw new ProtocolException(SqlState.ProtocolViolation, $"invalid message length {length}");
        }

        if (code is FrontendMessageCode.Sync or FrontendMessageCode.Flush or FrontendMessageCode.Terminate or FrontendMessageCode.CopyDone
            && length != 4)
        {
            throw new ProtocolException(SqlState.ProtocolViolation, $"invalid message length {length}");
        }

        if (code == FrontendMessageCode.PasswordMessage)
        {
            throw new ProtocolException(SqlState.ProtocolViolation, "unexpected password message after authentication");
        }
    }

    private async Task BackendToClientAsync(CancellationToken ct)
    {
        var from = _backendStream!;
        var to = _clientStream;
        var buffer = new ReadBuffer(InspectedBufferSize);
        long remaining = 0;
        try
        {
            while (true)
            {
                var n = await from.ReadAsync(buffer.Free, ct);
                if (n == 0)
                {
                    if (_takeover)
                    {
                        _internal.Writer.TryComplete(new IOException("the destination database closed the connection"));
                    }

                    return;
                }

                buffer.End += n;
                (TransactionStatus, bool)? splitSignal = null;
                // The write path writes to the client from the other pump; the lock keeps whole messages apart.
                await _clientOutLock.WaitAsync(ct);
                try
                {
                    var data = buffer.Array;
                    var p = buffer.Start;
                    var run = p; // [run, p) goes to the client as it is
                    var need = 0;
                    while (true)
                    {
                        if (remaining > 0)
                        {
                            var take = (int)Math.Min(remaining, buffer.End - p);
                            if (take == 0)
                            {
                                break;
                            }

                            p += take;
                            remaining -= take;
                            continue;
                        }

                        if (buffer.End - p < 5)
                        {
                            break;
                        }

                        var code = data[p];
                        var length = BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(p + 1));
                        if (length < 4 || length > MaxBackendMessageLength)
                        {
                            // Postgres never sends a message over 1 GB; beyond that `1 + length` could also overflow.
                            throw new ProtocolException(SqlState.ConnectionFailure, "invalid message from the destination database");
                        }

                        if (code == (byte)BackendMessageCode.ReadyForQuery && !_takeover)
                        {
                            if (buffer.End - p < 6)
                            {
                                break;
                            }

                            var status = (TransactionStatus)data[p + 5];
                            if (_splitPending && Interlocked.Read(ref _clientZsSeen) == Interlocked.Read(ref _splitAfter))
                            {
                                // The proxy's own Sync: the backend has answered everything the client sent before the
                                // write. From here its frames belong to the write path until it hands back.
                                if (p > run)
                                {
                                    await to.WriteAsync(data.AsMemory(run, p - run), ct);
                                }

                                p += 6;
                                run = p;
                                _splitPending = false;
                                _takeover = true;
                                splitSignal = (status, _errorSinceReady);
                                _errorSinceReady = false;
                                continue;
                            }

                            Interlocked.Increment(ref _clientZsSeen);
                            _status = status;
                            _errorSinceReady = false;
                            p += 6;
                            if (status == TransactionStatus.Idle && _persistedCount > 0)
                            {
                                ClearPersisted();
                            }

                            continue;
                        }

                        var whole = _takeover || (code == (byte)BackendMessageCode.CommandComplete && _persistedCount > 0);
                        if (!whole)
                        {
                            if (code == (byte)BackendMessageCode.ErrorResponse)
                            {
                                _errorSinceReady = true;
                            }

                            p += 5;
                            remaining = length - 4;
                            continue;
                        }

                        if (buffer.End - p < 1 + length)
                        {
                            need = 1 + length;
                            break;
                        }

                        var frame = new Frame(code, data.AsSpan(p + 5, length - 4).ToArray());
                        if (_takeover)
                        {
                            if (p > run)
                            {
                                await to.WriteAsync(data.AsMemory(run, p - run), ct);
                            }

                            p += 1 + length;
                            run = p;
                            _internal.Writer.TryWrite(frame);
                            continue;
                        }

                        // CommandComplete while upstream changes of this transaction are pending
                        p += 1 + length;
                        var tag = frame.Tag;
                        if (tag == "ROLLBACK")
                        {
                            await to.WriteAsync(data.AsMemory(run, p - run), ct);
                            run = p;
                            WritePersistedWarning(_clientOut!);
                            await _clientOut!.FlushAsync(ct);
                        }
                        else if (tag == "COMMIT")
                        {
                            ClearPersisted();
                        }
                    }

                    if (p > run)
                    {
                        await to.WriteAsync(data.AsMemory(run, p - run), ct);
                    }

                    buffer.Consume(p, need);
                }
                finally
                {
                    _clientOutLock.Release();
                }

                if (splitSignal is { } signal)
                {
                    _splitDone!.TrySetResult(signal);
                }
            }
        }
        finally
        {
            buffer.Dispose();
        }
    }

    /// <summary>
    /// A pooled read buffer: [Start, End) holds bytes read but not yet consumed (the start of a frame that must be
    /// read whole, or a partial header). Grows only to hold such a frame, and shrinks back when it is consumed.
    /// </summary>
    private struct ReadBuffer(int size) : IDisposable
    {
        private readonly int _size = size;

        public byte[] Array = ArrayPool<byte>.Shared.Rent(size);
        public int Start;
        public int End;

        public readonly Memory<byte> Free => Array.AsMemory(End);

        /// <summary>Marks everything before <paramref name="position"/> consumed and makes room for the next read:
        /// <paramref name="need"/> is the size of the frame that must be whole at <paramref name="position"/>, if any.</summary>
        public void Consume(int position, int need)
        {
            Start = position;
            if (Start == End)
            {
                Start = End = 0;
                if (Array.Length > _size)
                {
                    ArrayPool<byte>.Shared.Return(Array);
                    Array = ArrayPool<byte>.Shared.Rent(_size);
                }

                return;
            }

            var pending = End - Start;
            var wanted = Math.Max(need, pending + MinReadSize);
            if (Array.Length - Start >= wanted)
            {
                return;
            }

            var target = wanted > Array.Length ? ArrayPool<byte>.Shared.Rent(wanted) : Array;
            System.Array.Copy(Array, Start, target, 0, pending);
            if (!ReferenceEquals(target, Array))
            {
                ArrayPool<byte>.Shared.Return(Array);
                Array = target;
            }

            Start = 0;
            End = pending;
        }

        public readonly void Dispose() => ArrayPool<byte>.Shared.Return(Array);
    }
}
