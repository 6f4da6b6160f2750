using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using Sequin.Proxy.Protocol;

namespace Sequin.Proxy;

/// <summary>
/// The two pumps. Both stream bytes through and look only at message headers: a frame is copied whole only when
/// the client's Query/Parse/Bind must be classified (databases with synced tables) or the backend's
/// ReadyForQuery/CommandComplete is needed for the write path. Frames of any size stream with bounded memory.
/// </summary>
internal sealed partial class ProxySession
{
    private bool _captureEnabled;

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
        _clientIn = PipeReader.Create(_clientStream, new StreamPipeReaderOptions(bufferSize: 16 * 1024, minimumReadSize: 4096, leaveOpen: true));
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
        var reader = _clientIn!;
        var writer = _backendOut!;
        long remaining = 0;
        var header = new byte[5];
        while (true)
        {
            var result = await reader.ReadAsync(ct);
            var buffer = result.Buffer;
            var wrote = false;
            while (true)
            {
                if (remaining > 0)
                {
                    var n = Math.Min(remaining, buffer.Length);
                    if (n == 0)
                    {
                        break;
                    }

                    Copy(buffer.Slice(0, n), writer);
                    buffer = buffer.Slice(n);
                    remaining -= n;
                    wrote = true;
                    continue;
                }

                if (buffer.Length < 5)
                {
                    break;
                }

                buffer.Slice(0, 5).CopyTo(header);
                var code = header[0];
                var length = BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(1));
                ValidateFrontendHeader(code, length);

                var holding = _batch is not null || _discardUntilSync;
                if (holding && length - 4 > _options.MaxInspectedMessageBytes)
                {
                    throw new ProtocolException(SqlState.ProgramLimitExceeded, "message too large inside a write batch");
                }

                var inspect = _captureEnabled && (holding || (NeedsWholeFrame(code) && length - 4 <= _options.MaxInspectedMessageBytes));
                if (inspect)
                {
                    if (buffer.Length < 1 + length)
                    {
                        break; // wait for the whole frame (bounded by MaxInspectedMessageBytes)
                    }

                    var body = buffer.Slice(5, length - 4).ToArray();
                    buffer = buffer.Slice(1 + length);
                    if (await HandleInspectedAsync(code, body, writer, wrote, ct))
                    {
                        wrote = true;
                    }
                    else
                    {
                        wrote = false; // the handler flushed what was pending
                    }

                    continue;
                }

                if (code is FrontendMessageCode.Query or FrontendMessageCode.Sync or FrontendMessageCode.FunctionCall)
                {
                    _clientSyncsSent++;
                    _extendedSinceSync = false;
                }
                else
                {
                    _extendedSinceSync = true;
                }

                Copy(buffer.Slice(0, 5), writer);
                buffer = buffer.Slice(5);
                remaining = length - 4;
                wrote = true;
                if (code == FrontendMessageCode.Terminate)
                {
                    await writer.FlushAsync(ct);
                    return;
                }
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
            if (wrote)
            {
                var flush = await writer.FlushAsync(ct);
                if (flush.IsCompleted)
                {
                    return;
                }
            }

            if (result.IsCompleted)
            {
                return;
            }
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

    private static void Copy(in ReadOnlySequence<byte> source, PipeWriter writer)
    {
        if (source.IsSingleSegment)
        {
            writer.Write(source.FirstSpan);
            return;
        }

        foreach (var segment in source)
        {
            writer.Write(segment.Span);
        }
    }

    private async Task BackendToClientAsync(CancellationToken ct)
    {
        var reader = _backendIn!;
        long remaining = 0;
        var remainingToClient = true;
        byte[] header = new byte[5];
        while (true)
        {
            var result = await reader.ReadAsync(ct);
            var buffer = result.Buffer;
            var writer = _clientOut!;
            var wrote = false;
            (TransactionStatus, bool)? splitSignal = null;
            // Only the write path (databases with synced tables) writes to the client from the other pump.
            var locked = _captureEnabled;
            if (locked)
            {
                await _clientOutLock.WaitAsync(ct);
            }

            try
            {
                while (true)
                {
                    if (remaining > 0)
                    {
                        var n = Math.Min(remaining, buffer.Length);
                        if (n == 0)
                        {
                            break;
                        }

                        if (remainingToClient)
                        {
                            Copy(buffer.Slice(0, n), writer);
                            wrote = true;
                        }

                        buffer = buffer.Slice(n);
                        remaining -= n;
                        continue;
                    }

                    if (buffer.Length < 5)
                    {
                        break;
                    }

                    buffer.Slice(0, 5).CopyTo(header);
                    var code = header[0];
                    var length = BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(1));
                    if (length < 4)
                    {
                        throw new ProtocolException(SqlState.ConnectionFailure, "invalid message from the destination database");
                    }

                    if (code == (byte)BackendMessageCode.ReadyForQuery && !_takeover)
                    {
                        // Hot path (once per transaction): no allocation, the status byte is read in place.
                        if (buffer.Length < 6)
                        {
                            break;
                        }

                        var status = (TransactionStatus)buffer.Slice(5, 1).FirstSpan[0];
                        var ready = buffer.Slice(0, 6);
                        buffer = buffer.Slice(6);
                        if (_splitPending && Interlocked.Read(ref _clientZsSeen) == Interlocked.Read(ref _splitAfter))
                        {
                            // The proxy's own Sync: the backend has answered everything the client sent before the
                            // write. From here its frames belong to the write path until it hands back.
                            _splitPending = false;
                            _takeover = true;
                            splitSignal = (status, _errorSinceReady);
                            _errorSinceReady = false;
                            continue;
                        }

                        Interlocked.Increment(ref _clientZsSeen);
                        _status = status;
                        _errorSinceReady = false;
                        Copy(ready, writer);
                        wrote = true;
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

                        Copy(buffer.Slice(0, 5), writer);
                        wrote = true;
                        buffer = buffer.Slice(5);
                        remaining = length - 4;
                        remainingToClient = true;
                        continue;
                    }

                    if (buffer.Length < 1 + length)
                    {
                        break;
                    }

                    var frame = new Frame(code, buffer.Slice(5, length - 4).ToArray());
                    var raw = buffer.Slice(0, 1 + length);
                    buffer = buffer.Slice(1 + length);
                    if (_takeover)
                    {
                        _internal.Writer.TryWrite(frame);
                        continue;
                    }

                    // CommandComplete while upstream changes of this transaction are pending
                    Copy(raw, writer);
                    wrote = true;
                    var tag = frame.Tag;
                    if (tag == "ROLLBACK")
                    {
                        WritePersistedWarning(writer);
                    }
                    else if (tag == "COMMIT")
                    {
                        ClearPersisted();
                    }
                }

                reader.AdvanceTo(buffer.Start, buffer.End);
                if (wrote)
                {
                    await writer.FlushAsync(ct);
                }
            }
            finally
            {
                if (locked)
                {
                    _clientOutLock.Release();
                }
            }

            if (splitSignal is { } signal)
            {
                _splitDone!.TrySetResult(signal);
            }

            if (result.IsCompleted)
            {
                if (!_takeover)
                {
                    return;
                }

                _internal.Writer.TryComplete(new IOException("the destination database closed the connection"));
                return;
            }
        }
    }
}
