using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using Sequin.Proxy.Protocol;
using Sequin.Proxy.Writes;

namespace Sequin.Proxy;

/// <summary>
/// The write path (ADR 0007, docs/proxy.md). For a statement that may write, the client pump takes the backend
/// over: it sends its own Sync so the backend pump can tell where the client's earlier traffic ends, then runs
/// <c>BEGIN</c>/<c>SAVEPOINT</c> + a capture table that exists only for this statement, the client's statement,
/// reads the capture, applies it upstream, writes the upstream ids back, commits — and answers the client itself.
/// </summary>
internal sealed partial class ProxySession
{
    // The session's capture table (ADR 0007), created at the session's first write (and again after a DISCARD); each
    // row carries the transaction that captured it, and only the current transaction's rows are read. The capture
    // trigger records into it only while the proxy has armed it with a transaction-local setting naming the
    // transaction (ADR 0012): any write the proxy did not wrap fails closed, and the arming ends with the transaction
    // even when the client's own messages end it.
    private const string CreateCaptureSql =
        "create temp table if not exists sequin_capture (seq bigserial, table_oid oid not null, op \"char\" not null, old_row jsonb, new_row jsonb, " +
        "xact xid8 not null default pg_current_xact_id())";

    // Answers one row: "armed:<xid>" (the value the capture read checks, and the xid that write-back mode names) and
    // whether the capture table exists (a client can drop it: DISCARD, DROP TABLE; the write then runs again with it
    // created first).
    private static readonly InternalStatement ArmCaptureSql =
        new("select set_config('sequin.capture', 'armed:' || pg_current_xact_id(), true), to_regclass('pg_temp.sequin_capture') is not null", Keep: true);

    // Answers one row: the arming as it is after the client's statement (see the safety net in RunWriteAsync). Parsed
    // each time, never kept: its answer tells whether the wrapper's transaction is intact when the kept capture read
    // after it fails.
    private const string CaptureModeSql = "select current_setting('sequin.capture', true)";

    // Clears rows a transaction committed while armed (see the safety net in RunWriteAsync).
    private const string RepairCaptureSql = "delete from pg_temp.sequin_capture";

    private static readonly InternalStatement[] DisarmCaptureSql =
        ["delete from pg_temp.sequin_capture", "set local sequin.capture = ''"];

    // The same, kept prepared: only where a rollback to a savepoint taken before them can undo their failure when a
    // client dropped them (26000, see RunWriteAsync).
    private static readonly InternalStatement[] KeptDisarmCaptureSql =
        [DisarmCaptureSql[0] with { Keep = true }, DisarmCaptureSql[1] with { Keep = true }];

    /// <summary>
    /// Whether the session's capture table is known to exist: seen by a write whose own transaction then committed (a
    /// temp table created in a transaction that rolls back is gone with it), and no DISCARD or drop seen since.
    /// </summary>
    private bool _captureTableReady;

    private const string TemporaryIdPrefix = "_sequin_tmp_";

    private readonly HashSet<string> _writeStatements = new(StringComparer.Ordinal);
    private readonly HashSet<string> _endStatements = new(StringComparer.Ordinal);

    /// <summary>
    /// Portals bound to one of <see cref="_endStatements"/> (COMMIT, ROLLBACK, SAVEPOINT…): executing one behind a
    /// write in the same pipeline ends the write batch first, as a Bind of such a statement does. Entries stay until the
    /// portal name is bound again (a stale one only splits a batch early); past <see cref="MaxEndPortals"/> the set is
    /// cleared and the safety net in RunWriteAsync answers what it no longer knows.
    /// </summary>
    private readonly HashSet<string> _endPortals = new(StringComparer.Ordinal);

    private const int MaxEndPortals = 1024;
    private readonly Dictionary<uint, SyncedTable> _tables = [];
    private List<(byte Code, byte[] Body)>? _batch;
    private long _batchBytes;
    private TransactionStatus _batchStatus;
    private bool _discardUntilSync;
    private bool _extendedSinceSync;
    private TransactionStatus _discardStatus;
    private readonly List<string> _persisted = [];
    private volatile int _persistedCount;

    /// <summary>Handles a whole client frame on a database with synced tables. Returns whether bytes await a flush.</summary>
    private async Task<bool> HandleInspectedAsync(byte code, byte[] body, PipeWriter writer, bool pending, CancellationToken ct)
    {
        if (_discardUntilSync)
        {
            if (code == FrontendMessageCode.Sync)
            {
                _discardUntilSync = false;
                await WriteToClientAsync(w => MessageWriter.WriteReadyForQuery(w, _discardStatus), ct);
            }

            return pending;
        }

        if (_batch is not null)
        {
            if (code == FrontendMessageCode.Query)
            {
                await EndBatchAsync(ct);
                return await HandleInspectedAsync(code, body, writer, false, ct);
            }

            if (code == FrontendMessageCode.Parse)
            {
                ClassifyParse(body);
            }
            else if (code == FrontendMessageCode.Bind && _endStatements.Contains(BoundStatement(body)))
            {
                // A COMMIT/ROLLBACK behind the write in the same pipeline (ADR 0012): the write is applied upstream and
                // its capture read — run up to here, as at a Flush — before the transaction ends.
                await EndBatchAsync(ct);
                RecordBoundPortal(body, endsBatch: true);
                return await HandleInspectedAsync(code, body, writer, false, ct);
            }
            else if (code == FrontendMessageCode.Execute && _endPortals.Count > 0 && _endPortals.Contains(CString(body, 0, out _)))
            {
                // The same through a portal bound before the write.
                await EndBatchAsync(ct);
                return await HandleInspectedAsync(code, body, writer, false, ct);
            }
            else if (code == FrontendMessageCode.Bind)
            {
                RecordBoundPortal(body, endsBatch: false);
            }

            _batch.Add((code, body));
            _batchBytes += body.Length;
            if (_batchBytes > 64L * _options.MaxInspectedMessageBytes)
            {
                throw new ProtocolException(SqlState.ProgramLimitExceeded, "write batch too large");
            }

            if (code is FrontendMessageCode.Sync or FrontendMessageCode.Flush or FrontendMessageCode.Terminate)
            {
                await EndBatchAsync(ct);
            }

            return false;
        }

        switch (code)
        {
            case FrontendMessageCode.Query:
            {
                var sql = CString(body, 0, out _);
                NoteSessionReset(sql);
                if (!SqlText.MayWrite(sql))
                {
                    break;
                }

                if (pending)
                {
                    await writer.FlushAsync(ct);
                }

                var (status, _) = await BeginTakeoverAsync(ct);
                await HandleSimpleWriteAsync(sql, status, ct);
                return false;
            }

            case FrontendMessageCode.Parse:
                ClassifyParse(body);
                break;

            case FrontendMessageCode.Bind:
            {
                if (!_writeStatements.Contains(BoundStatement(body)))
                {
                    RecordBoundPortal(body, _endStatements.Contains(BoundStatement(body)));
                    break;
                }

                RecordBoundPortal(body, endsBatch: false);

                if (pending)
                {
                    await writer.FlushAsync(ct);
                }

                var (status, errorSeen) = await BeginTakeoverAsync(ct);
                if (errorSeen)
                {
                    // An earlier message of this pipeline failed: Postgres would skip everything up to Sync.
                    _discardUntilSync = true;
                    _discardStatus = status;
                    await EndTakeoverAsync(null, ct);
                    return false;
                }

                _batch = [(code, body)];
                _batchBytes = body.Length;
                _batchStatus = status;
                return false;
            }
        }

        if (code is FrontendMessageCode.Query or FrontendMessageCode.Sync or FrontendMessageCode.FunctionCall)
        {
            _clientSyncsSent++;
        }

        _extendedSinceSync = code is not (FrontendMessageCode.Query or FrontendMessageCode.Sync or FrontendMessageCode.FunctionCall);
        MessageWriter.WriteRaw(writer, code, body);
        return true;
    }

    /// <summary>Remembers whether a prepared statement may write, and whether it ends the transaction (COMMIT, ROLLBACK…).</summary>
    private void ClassifyParse(byte[] body)
    {
        var name = CString(body, 0, out var next);
        var sql = CString(body, next, out _);
        NoteSessionReset(sql);
        if (SqlText.MayWrite(sql))
        {
            _writeStatements.Add(name);
        }
        else
        {
            _writeStatements.Remove(name);
        }

        if (SqlText.SplitsWriteBatch(sql))
        {
            _endStatements.Add(name);
        }
        else
        {
            _endStatements.Remove(name);
        }
    }

    /// <summary>
    /// A client statement that may drop what the proxy keeps in the session — DISCARD ALL/TEMP/PLANS (the capture table,
    /// prepared statements), DEALLOCATE — makes the next write parse its statements and create the table again. Matched
    /// loosely (a word anywhere in the text): a false match costs one write a few re-parses. What this misses (a
    /// DEALLOCATE in dynamic SQL) the write notices and runs again (RunWriteAsync).
    /// </summary>
    private void NoteSessionReset(string sql)
    {
        // A session that has not written yet keeps nothing: its reads are not scanned.
        if ((_captureTableReady || _keptStatements.Count > 0)
            && (sql.Contains("discard", StringComparison.OrdinalIgnoreCase) || sql.Contains("deallocate", StringComparison.OrdinalIgnoreCase)))
        {
            _keptStatements.Clear();
            _captureTableReady = false;
        }
    }

    /// <summary>Notes (or forgets) the portal a Bind names as one that ends a write batch when executed.</summary>
    private void RecordBoundPortal(byte[] body, bool endsBatch)
    {
        if (endsBatch)
        {
            if (_endPortals.Count >= MaxEndPortals)
            {
                _endPortals.Clear();
            }

            _endPortals.Add(CString(body, 0, out _));
        }
        else if (_endPortals.Count > 0)
        {
            _endPortals.Remove(CString(body, 0, out _));
        }
    }

    private static string BoundStatement(byte[] body)
    {
        CString(body, 0, out var next);
        return CString(body, next, out _);
    }

    private static string CString(byte[] body, int start, out int next)
    {
        var end = Array.IndexOf(body, (byte)0, start);
        if (end < 0)
        {
            ThrowHelper.ThrowProtocol("invalid string in message");
        }

        next = end + 1;
        return Encoding.UTF8.GetString(body, start, end - start);
    }

    // ---------------------------------------------------------------- takeover

    private async Task<(TransactionStatus Status, bool ErrorSeen)> BeginTakeoverAsync(CancellationToken ct)
    {
        if (!_extendedSinceSync && Interlocked.Read(ref _clientZsSeen) == _clientSyncsSent)
        {
            // Everything the client sent has been answered (a simple Query, or the Bind of a prepared write right after
            // a Sync, as `pgbench -M prepared` and most drivers send it): the backend is idle and no error is pending, so
            // the proxy takes it over without the round trip of its own Sync. The status is read under the lock the
            // backend pump holds while it handles a ReadyForQuery, so it is that of the last one.
            await _clientOutLock.WaitAsync(ct);
            _takeover = true;
            _clientOutLock.Release();
            return (_status, false);
        }

        _splitDone = new TaskCompletionSource<(TransactionStatus, bool)>(TaskCreationOptions.RunContinuationsAsynchronously);
        Interlocked.Exchange(ref _splitAfter, _clientSyncsSent);
        _splitPending = true;
        MessageWriter.WriteSync(_backendOut!);
        await _backendOut!.FlushAsync(ct);
        return await _splitDone.Task.WaitAsync(ct);
    }

    private async Task EndTakeoverAsync(ArrayBufferWriter<byte>? output, CancellationToken ct)
    {
        await _clientOutLock.WaitAsync(ct);
        try
        {
            if (output is { WrittenCount: > 0 })
            {
                _clientOut!.Write(output.WrittenSpan);
                await _clientOut!.FlushAsync(ct);
            }

            // Frames that arrived unasked while the proxy held the backend (notices, notifications) go on now.
            while (_internal.Reader.TryRead(out var stray))
            {
                MessageWriter.WriteRaw(_clientOut!, stray.Code, stray.Body);
                await _clientOut!.FlushAsync(ct);
            }

            _takeover = false;
        }
        finally
        {
            _clientOutLock.Release();
        }
    }

    private async Task WriteToClientAsync(Action<IBufferWriter<byte>> write, CancellationToken ct)
    {
        await _clientOutLock.WaitAsync(ct);
        try
        {
            write(_clientOut!);
            await _clientOut!.FlushAsync(ct);
        }
        finally
        {
            _clientOutLock.Release();
        }
    }

    private async Task<List<Frame>> ReadUntilReadyAsync(CancellationToken ct)
    {
        var frames = new List<Frame>();
        while (true)
        {
            var frame = await _internal.Reader.ReadAsync(ct);
            frames.Add(frame);
            if (frame.Type == BackendMessageCode.ReadyForQuery)
            {
                _status = frame.Status;
                return frames;
            }
        }
    }

    /// <summary>Runs a client's statement as a simple Query (so it answers exactly as Postgres would).</summary>
    private async Task<List<Frame>> ClientQueryAsync(string sql, CancellationToken ct)
    {
        WriteClientQuery(sql);
        await _backendOut!.FlushAsync(ct);
        return await ReadUntilReadyAsync(ct);
    }

    private void WriteClientQuery(string sql) => MessageWriter.WriteQuery(_backendOut!, sql);

    /// <summary>
    /// Runs bookkeeping statements with the extended protocol under a named statement and portal, so the client's
    /// unnamed prepared statement and portal (which a simple Query would destroy) survive. Same semantics as a multi-statement
    /// Query: the first error skips the rest.
    /// </summary>
    private async Task<List<Frame>> InternalAsync(CancellationToken ct, params InternalStatement[] statements)
    {
        WriteInternal(statements);
        await _backendOut!.FlushAsync(ct);
        var frames = await ReadUntilReadyAsync(ct);
        ResolveKept(ErrorCode(frames));
        return frames;
    }

    /// <summary>
    /// After the answer to statements written with <see cref="WriteInternal"/>: with no error, those parsed to be kept
    /// now are. With one, they may or may not exist: not kept (their names are derived from their text, and a name not
    /// known as kept is always closed before it is parsed, so nothing accumulates); and if a kept one was gone (26000:
    /// a client's DEALLOCATE ALL / DISCARD ALL), every one is parsed again at its next use.
    /// </summary>
    private void ResolveKept(string? errorCode)
    {
        if (errorCode == SqlState.InvalidSqlStatementName)
        {
            _keptStatements.Clear();
        }
        else if (errorCode is null)
        {
            foreach (var (sql, name) in _keptPending)
            {
                _keptStatements[sql] = name;
            }
        }

        _keptPending.Clear();
    }

    /// <summary>
    /// Buffers bookkeeping statements + Sync without sending (for pipelining with what follows). A statement with a
    /// <see cref="InternalStatement.Parameter"/> or <see cref="InternalStatement.Keep"/> is kept prepared in the
    /// session under its own name (so Postgres parses and plans it once, not at every write); the others are parsed
    /// each time under <c>_sequin_internal</c>.
    /// </summary>
    private void WriteInternal(params InternalStatement[] statements)
    {
        var w = _backendOut!;
        foreach (var statement in statements)
        {
            var keepable = statement.Parameter is not null || statement.Keep;
            if (!keepable || !_keptStatements.TryGetValue(statement.Sql, out var name))
            {
                // Parsed now: kept when it may be and there is room, else under the per-batch name.
                var keep = keepable && _keptStatements.Count + _keptPending.Count < MaxKeptStatements;
                name = keep ? KeptName(statement.Sql) : InternalStatementName;
                MessageWriter.WriteCloseStatement(w, name);
                MessageWriter.WriteParse(w, name, statement.Sql);
                if (keep)
                {
                    _keptPending.Add((statement.Sql, name));
                }
            }

            // Under the proxy's own portal, closed before (a failed batch may have left it in its transaction) and
            // after: a client's unnamed portal, bound before a write and executed after it, must survive.
            MessageWriter.WriteClosePortal(w, InternalStatementName);
            MessageWriter.WriteBindExecute(w, name, statement.ResultFormats, statement.Parameter, InternalStatementName);
            MessageWriter.WriteClosePortal(w, InternalStatementName);
        }

        MessageWriter.WriteCloseStatement(w, InternalStatementName);
        MessageWriter.WriteSync(w);
    }

    private const string InternalStatementName = "_sequin_internal";

    /// <summary>At most this many bookkeeping statements are kept prepared per session (write-back shapes, and the wrapper's own).</summary>
    private const int MaxKeptStatements = 48;

    // Kept prepared statements by SQL text, and those parsed in a batch whose outcome is not read yet.
    private readonly Dictionary<string, string> _keptStatements = new(StringComparer.Ordinal);
    private readonly List<(string Sql, string Name)> _keptPending = [];

    /// <summary>A kept statement's name, derived from its text (so it is the same whenever the text is).</summary>
    private static string KeptName(string sql) =>
        "_sequin_kept_" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(sql)).AsSpan(0, 8));

    /// <summary>
    /// A bookkeeping statement; <see cref="ResultFormats"/> asks for result columns in given formats (null: all text);
    /// <see cref="Parameter"/> is the text value of <c>$1</c>. Statements with a parameter, and those marked
    /// <see cref="Keep"/>, are kept prepared (see WriteInternal): only where a failure because a client dropped them
    /// (26000) can be undone and retried.
    /// </summary>
    private readonly record struct InternalStatement(string Sql, short[]? ResultFormats = null, string? Parameter = null, bool Keep = false)
    {
        public static implicit operator InternalStatement(string sql) => new(sql);
    }

    /// <summary>Runs a bookkeeping statement; an error in it becomes an <see cref="InternalStatementException"/>.</summary>
    private async Task<List<Frame>> InternalCheckedAsync(CancellationToken ct, params InternalStatement[] statements)
    {
        var frames = await InternalAsync(ct, statements);
        if (frames.FirstOrDefault(f => f.Type == BackendMessageCode.ErrorResponse) is { Body: not null } error)
        {
            throw new InternalStatementException(error);
        }

        return frames;
    }

    private sealed class InternalStatementException(Frame error) : Exception("internal statement failed")
    {
        public Frame Error { get; } = error;
    }

    // ---------------------------------------------------------------- simple and extended entry points

    private async Task HandleSimpleWriteAsync(string sql, TransactionStatus status, CancellationToken ct)
    {
        var output = new ArrayBufferWriter<byte>();
        var statements = SqlText.SplitStatements(sql);
        if (statements.Count <= 1)
        {
            (status, _) = await RunWriteAsync(() => WriteClientQuery(sql), status, output, simple: true, ct, retryable: !SqlText.SplitsWriteBatch(sql));
        }
        else
        {
            // Each statement of a multi-statement Query runs on its own (docs/proxy.md: no implicit transaction
            // across statements that write to synced tables, since the upstream cannot undo them anyway).
            foreach (var statement in statements)
            {
                bool failed;
                if (SqlText.MayWrite(statement))
                {
                    (status, failed) = await RunWriteAsync(() => WriteClientQuery(statement), status, output, simple: true, ct,
                        retryable: !SqlText.SplitsWriteBatch(statement));
                }
                else
                {
                    var frames = await ClientQueryAsync(statement, ct);
                    status = frames[^1].Status;
                    failed = frames.Any(f => f.Type == BackendMessageCode.ErrorResponse);
                    foreach (var f in frames.Where(f => f.Type is not (BackendMessageCode.ReadyForQuery or BackendMessageCode.EmptyQueryResponse)))
                    {
                        MessageWriter.WriteRaw(output, f.Code, f.Body);
                    }
                }

                if (failed)
                {
                    break;
                }
            }
        }

        MessageWriter.WriteReadyForQuery(output, status);
        await EndTakeoverAsync(output, ct);
    }

    private async Task EndBatchAsync(CancellationToken ct)
    {
        var batch = _batch!;
        _batch = null;
        var last = batch[^1].Code;
        var endsWithSync = last == FrontendMessageCode.Sync;
        var output = new ArrayBufferWriter<byte>();
        var injected = new List<bool>();
        var (status, failed) = await RunWriteAsync(() =>
        {
            injected.Clear(); // written again when the write runs again
            for (var i = 0; i < batch.Count; i++)
            {
                var (code, body) = batch[i];
                if (code is FrontendMessageCode.Sync or FrontendMessageCode.Flush or FrontendMessageCode.Terminate)
                {
                    continue;
                }

                MessageWriter.WriteRaw(_backendOut!, code, body);
                if (code == FrontendMessageCode.Bind)
                {
                    // RETURNING rows get upstream values in the portal's own result formats, which only a Describe of the
                    // portal tells (a prepared statement is often executed without one): ask for it, hide the answer.
                    var portal = body.AsSpan(0, Array.IndexOf(body, (byte)0));
                    var described = i + 1 < batch.Count && batch[i + 1].Code == FrontendMessageCode.Describe
                        && batch[i + 1].Body[0] == (byte)'P' && batch[i + 1].Body.AsSpan(1).SequenceEqual([.. portal, (byte)0]);
                    if (!described)
                    {
                        MessageWriter.WriteDescribePortal(_backendOut!, portal);
                    }

                    injected.Add(!described);
                }
            }

            MessageWriter.WriteSync(_backendOut!);
        }, _batchStatus, output, simple: false, ct, injected,
            retryable: batch.Count(m => m.Code == FrontendMessageCode.Execute) == 1 && !_endStatements.Contains(BoundStatement(batch[0].Body)));

        if (endsWithSync)
        {
            MessageWriter.WriteReadyForQuery(output, status);
        }
        else if (failed)
        {
            _discardUntilSync = true;
            _discardStatus = status;
        }

        await EndTakeoverAsync(output, ct);
        if (last == FrontendMessageCode.Terminate)
        {
            throw new OperationCanceledException("client terminated");
        }
    }

    // ---------------------------------------------------------------- one statement (or extended batch)

    // writeClientMessages buffers the client's statement (a Query, or extended messages + Sync) for the backend.
    // injectedDescribes: per Bind of the client's messages, whether the proxy added a Describe of its portal (its answer
    // is removed from the client's results).
    // retryable: the client's messages execute one statement, classified as a write and not as transaction control —
    // so none of them can end the transaction, and undoing the wrapper undoes all they did (see the run again below).
    // retried: this is that second run.
    private async Task<(TransactionStatus Status, bool Failed)> RunWriteAsync(Action writeClientMessages, TransactionStatus status,
        ArrayBufferWriter<byte> output, bool simple, CancellationToken ct, List<bool>? injectedDescribes = null,
        bool retryable = false, bool retried = false)
    {
        if (status == TransactionStatus.Failed)
        {
            writeClientMessages();
            await _backendOut!.FlushAsync(ct);
            var passed = ClientResults.From(await ReadUntilReadyAsync(ct), injectedDescribes);
            CopyFrames(passed.Frames, output);
            return (_status, true);
        }

        // The wrapper and the client's statement go in one round trip. If the wrapper fails, the transaction it
        // opened is aborted, so the statement cannot run unwrapped.
        var outer = status == TransactionStatus.Idle;
        // The capture is read in the same round trip; if the statement failed, that read fails too and is ignored.
        // The statements after the first are kept prepared in the session (parsed once); the first is parsed each time,
        // so it cannot fail for a dropped statement and leave the client's statement to run unwrapped.
        var createTable = !_captureTableReady;
        WriteInternal(createTable
            ? [outer ? "begin" : "savepoint sequin_write", CreateCaptureSql, ArmCaptureSql]
            : [outer ? "begin" : "savepoint sequin_write", ArmCaptureSql]);
        writeClientMessages();
        WriteInternal(CaptureModeSql, ReadCaptureSql);
        await _backendOut!.FlushAsync(ct);
        var prelude = await ReadUntilReadyAsync(ct);
        var results = ClientResults.From(await ReadUntilReadyAsync(ct), injectedDescribes);
        var frames = results.Frames;
        var captureFrames = await ReadUntilReadyAsync(ct);
        var preludeCode = ErrorCode(prelude);
        var captureCode = ErrorCode(captureFrames);
        ResolveKept(preludeCode ?? captureCode);
        var (armed, tableExists) = Arming(prelude);
        // A kept statement the client dropped (a DEALLOCATE in dynamic SQL; DISCARD and DEALLOCATE themselves are
        // noticed before, NoteSessionReset): the arming failed, which aborted the wrapper's transaction, so the client's
        // messages behind it did nothing (the first fails, the rest are skipped up to the Sync); or the capture read
        // failed in the wrapper's intact transaction (the arming read just before it is still this transaction's).
        var armingGone = preludeCode == SqlState.InvalidSqlStatementName;
        var keptGone = armingGone || captureCode == SqlState.InvalidSqlStatementName && SingleValue(captureFrames) == armed;
        if (!tableExists)
        {
            _captureTableReady = false;
        }

        if (!retried && (armingGone || retryable && (keptGone || preludeCode is null && !tableExists)))
        {
            // That, or the capture table was gone (DROP TABLE, or created by a transaction that rolled back) and the
            // trigger refused the statement. After a failed arming nothing ran; otherwise the client's messages executed
            // one statement that cannot end the transaction: either way undoing the wrapper undoes everything. Undo it
            // and run the write again, parsing every statement and creating the table.
            _keptStatements.Clear();
            _captureTableReady = false;
            var undo = await InternalAsync(ct, outer ? ["rollback"] : ["rollback to savepoint sequin_write", "release savepoint sequin_write"]);
            if (undo.FirstOrDefault(f => f.Type == BackendMessageCode.ErrorResponse) is { Body: not null } undoError)
            {
                await AbortAsync(outer, ct);
                MessageWriter.WriteRaw(output, undoError.Code, undoError.Body);
                return (_status, true);
            }

            return await RunWriteAsync(writeClientMessages, status, output, simple, ct, injectedDescribes, retryable, retried: true);
        }

        if (keptGone && preludeCode is null)
        {
            // The same in a batch of several statements: not run again (one of them could have ended the transaction
            // unseen). Nothing went upstream; the wrapper is undone as after a rejection and the client may retry.
            await AbortAsync(outer, ct);
            MessageWriter.WriteError(output, "ERROR", SqlState.InvalidSqlStatementName,
                "[Sequin] the write was not applied: a statement the proxy keeps in the session was dropped (DEALLOCATE) during the batch",
                new MessageWriter.Field((byte)'H', "Nothing was sent upstream. Run the batch again."));
            return (_status, true);
        }

        if (prelude.FirstOrDefault(f => f.Type == BackendMessageCode.ErrorResponse) is { Body: not null } preludeError)
        {
            await AbortAsync(outer, ct);
            MessageWriter.WriteRaw(output, preludeError.Code, preludeError.Body);
            return (_status, true);
        }

        if (!frames.Any(f => f.Type == BackendMessageCode.ErrorResponse)
            && (frames.LastOrDefault(f => f.Type == BackendMessageCode.ReadyForQuery) is { Body: [var after, ..] } && after != (byte)TransactionStatus.InTransaction
                || SingleValue(captureFrames) != armed))
        {
            // Safety net: the client's own messages ended the transaction the write runs in (a COMMIT or ROLLBACK the
            // classification did not see — also one that opened another transaction, COMMIT AND CHAIN, which only the
            // arming, gone with its transaction, tells). Nothing goes upstream; the rows captured are cleared so that
            // no later write reads them, and the client is told what happened.
            await InternalAsync(ct, RepairCaptureSql);
            MessageWriter.WriteError(output, "ERROR", SqlState.FeatureNotSupported,
                "[Sequin] the pipeline ended the transaction of a write to a synced table before the proxy could apply the write upstream",
                new MessageWriter.Field((byte)'D', "A COMMIT/ROLLBACK ran in the same pipeline as the write through a statement the proxy did not classify; the write was not sent upstream and, if committed, exists only in the database until the next resync."),
                new MessageWriter.Field((byte)'H', "Send COMMIT/ROLLBACK as its own statement or prepare it in the same batch as the write."));
            return (_status, true);
        }

        if (frames.Any(f => f.Type == BackendMessageCode.ErrorResponse))
        {
            // The statement itself failed: Postgres semantics (an explicit transaction stays aborted).
            if (outer)
            {
                await InternalAsync(ct, "rollback");
            }

            CopyFrames(frames, output);
            return (_status, true);
        }

        try
        {
            var captured = ParseCapture(captureFrames);
            if (captured.Count == 0)
            {
                await InternalCheckedAsync(ct, [.. DisarmCaptureSql, outer ? "commit" : "release savepoint sequin_write"]);
                _captureTableReady |= outer; // committed with the table in it (a failed COMMIT throws)
                CopyFrames(frames, output);
                return (_status, false);
            }

            var applied = await ApplyUpstreamAsync(captured, ct);
            if (applied.Rejection is { } rejection)
            {
                await AbortAsync(outer, ct);
                WriteRejection(output, rejection, applied.AppliedBefore);
                return (_status, true);
            }

            // The upstream's values (ids included) written back and the wrapper closed in one round trip (an error
            // skips the rest). The write-back runs in write-back mode, so the capture trigger neither captures nor tombstones it.
            var readBack = applied.ReadBack;
            var writeBack = new WriteBack(readBack.Records, results);
            InternalStatement close = outer ? "commit" : "release savepoint sequin_write";
            var writeBackMode = WriteBackModeSql(armed);
            // In a savepoint: if Postgres refuses a value (a column's type changed since the sync created it), the
            // statement still commits with the upstream ids, and warns. The disarm runs inside it too, so that a kept
            // statement a client dropped (26000) is undone by the same rollback and retried.
            var finish = await InternalAsync(ct, ["savepoint sequin_read_back", writeBackMode, .. writeBack.Statements(applied.IdMap, dropSyncCopies: false),
                .. KeptDisarmCaptureSql, "release savepoint sequin_read_back", close]);
            var dropSyncCopies = false;
            for (var attempt = 0; attempt < 2; attempt++)
            {
                var code = ErrorCode(finish);
                if (code == SqlState.UniqueViolation && !dropSyncCopies)
                {
                    // The sync's poll copied a record this statement created before the write-back could give the
                    // statement's row its upstream id (rare: the poll must land within the write): drop that copy
                    // and write back again. Only then: dropping copies up front cost ≈ 0.3 ms of Postgres time per write.
                    dropSyncCopies = true;
                }
                else if (code != SqlState.InvalidSqlStatementName)
                {
                    // Done, or an error the write-back cannot mend. (26000: a kept write-back statement was dropped
                    // by the client — DEALLOCATE ALL, DISCARD ALL — and the batch forgot them all: once more,
                    // parsing it again.)
                    break;
                }

                finish = await InternalAsync(ct, ["rollback to savepoint sequin_read_back", writeBackMode, .. writeBack.Statements(applied.IdMap, dropSyncCopies),
                    .. KeptDisarmCaptureSql, "release savepoint sequin_read_back", close]);
            }

            if (finish.FirstOrDefault(f => f.Type == BackendMessageCode.ErrorResponse) is { Body: not null } error)
            {
                readBack.Failure = "Postgres refused a value read back: " + (error.ErrorFields().GetValueOrDefault('M') ?? "error");

                // The table's columns may have changed (renamed, dropped, retyped): read them again next time.
                foreach (var table in readBack.Records.Values.Select(r => r.Table))
                {
                    _tables.Remove(table.Oid);
                }

                readBack.Tables.AddRange(readBack.Records.Values.Select(r => r.Table));
                writeBack = new WriteBack([], results);
                await InternalCheckedAsync(ct, ["rollback to savepoint sequin_read_back", "release savepoint sequin_read_back",
                    writeBackMode, .. DropSyncCopies(applied.IdMap), .. IdWriteBack(applied.IdMap), .. DisarmCaptureSql, close]);
            }
            else
            {
                writeBack.Read(finish);
            }

            if (readBack.Failure is { } failure)
            {
                var tables = string.Join(", ", readBack.Tables.Select(t => $"{t.Schema}.{t.Name}"));
                LogReadBackFailed(_logger, _user, tables, failure);
                MessageWriter.WriteErrorOrNotice(output, BackendMessageCode.NoticeResponse, "WARNING", SqlState.Warning,
                    $"the write was applied upstream, but the values {_server.UpstreamWriter.SourceDisplayName(readBack.Tables[0])} set could not be read back; the row has the values as written until the next sync",
                    new MessageWriter.Field((byte)'D', failure),
                    new MessageWriter.Field((byte)'H', "Nothing was lost: the next sync brings the upstream's values (CreatedDate, SystemModstamp, defaults, formulas)."));
            }

            if (!outer)
            {
                lock (_persisted)
                {
                    _persisted.AddRange(applied.Descriptions);
                    _persistedCount = _persisted.Count;
                }
            }

            WriteResults(results, output, applied, writeBack, simple);
            _captureTableReady |= outer; // committed with the table in it (a failed close throws above)
            return (_status, false);
        }
        catch (InternalStatementException e)
        {
            await AbortAsync(outer, ct);
            var fields = e.Error.ErrorFields();
            MessageWriter.WriteError(output, "ERROR", fields.GetValueOrDefault('C') ?? SqlState.InternalError,
                "[Sequin] the write could not be completed: " + (fields.GetValueOrDefault('M') ?? "internal error"));
            return (_status, true);
        }
    }

    /// <summary>
    /// Undoes the wrapper after a rejection: the outer transaction is rolled back; inside the client's transaction
    /// the savepoint is rolled back and the transaction is then put in the aborted state ('E', 25P02 until
    /// ROLLBACK) the way an error in Postgres would leave it.
    /// </summary>
    private async Task AbortAsync(bool outer, CancellationToken ct)
    {
        if (outer)
        {
            await InternalAsync(ct, "rollback");
            return;
        }

        await InternalAsync(ct, "rollback to savepoint sequin_write", "release savepoint sequin_write",
            "do $$ begin raise exception 'upstream rejected the write'; end $$");
    }

    private static void CopyFrames(List<Frame> frames, ArrayBufferWriter<byte> output)
    {
        foreach (var f in frames)
        {
            if (f.Type != BackendMessageCode.ReadyForQuery)
            {
                MessageWriter.WriteRaw(output, f.Code, f.Body);
            }
        }
    }

    // ---------------------------------------------------------------- capture → upstream

    private sealed record CapturedChange(char Op, uint TableOid, CapturedRow Row);

    private static readonly InternalStatement ReadCaptureSql =
        new("select op, table_oid, old_row, new_row from pg_temp.sequin_capture where xact = pg_current_xact_id() order by seq", Keep: true);

    /// <summary>The answer of <see cref="ArmCaptureSql"/>: the arming and whether the capture table exists.</summary>
    private static (string Armed, bool TableExists) Arming(List<Frame> prelude) =>
        prelude.Where(f => f.Type == BackendMessageCode.DataRow).Select(f => f.DataRowValues()).FirstOrDefault(v => v.Count == 2) is [var armed, var exists]
            ? (Frame.Text(armed) ?? "", Frame.Text(exists) == "t")
            : ("", false);

    private static string? ErrorCode(List<Frame> frames) =>
        frames.FirstOrDefault(f => f.Type == BackendMessageCode.ErrorResponse) is { Body: not null } error ? error.ErrorFields().GetValueOrDefault('C') : null;

    /// <summary>The value of the first one-column DataRow among bookkeeping answers (the arming), or null.</summary>
    private static string? SingleValue(List<Frame> frames) =>
        frames.Where(f => f.Type == BackendMessageCode.DataRow).Select(f => f.DataRowValues()).FirstOrDefault(v => v.Count == 1) is [var value]
            ? Frame.Text(value)
            : null;

    private static List<CapturedChange> ParseCapture(List<Frame> frames)
    {
        if (frames.FirstOrDefault(f => f.Type == BackendMessageCode.ErrorResponse) is { Body: not null } error)
        {
            throw new InternalStatementException(error);
        }

        var result = new List<CapturedChange>();
        foreach (var f in frames.Where(f => f.Type == BackendMessageCode.DataRow))
        {
            var v = f.DataRowValues();
            if (v.Count == 1)
            {
                continue; // CaptureModeSql's answer
            }

            result.Add(new CapturedChange(Frame.Text(v[0])![0], uint.Parse(Frame.Text(v[1])!, System.Globalization.CultureInfo.InvariantCulture),
                new CapturedRow(Json(v[2]), Json(v[3]))));
        }

        return result;

        static JsonElement? Json(byte[]? value) => value is null ? null : JsonDocument.Parse(value).RootElement.Clone();
    }

    private async Task LoadTablesAsync(IEnumerable<uint> oids, CancellationToken ct)
    {
        var missing = oids.Where(o => !_tables.ContainsKey(o)).Distinct().ToList();
        if (missing.Count == 0)
        {
            return;
        }

        var frames = await InternalCheckedAsync(ct,
            "select c.oid, n.nspname, c.relname, coalesce(obj_description(c.oid, 'pg_class'), ''), " +
            "coalesce((select json_object_agg(a.attname, col_description(c.oid, a.attnum)) from pg_attribute a " +
            "where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped and col_description(c.oid, a.attnum) is not null)::text, '{}'), " +
            "(select json_object_agg(a.attnum, a.attname) from pg_attribute a where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped)::text " +
            $"from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.oid in ({string.Join(",", missing)})");
        foreach (var f in frames.Where(f => f.Type == BackendMessageCode.DataRow))
        {
            var v = f.DataRowValues().Select(Frame.Text).ToList();
            string? source = null, obj = null, syncId = null;
            try
            {
                using var comment = JsonDocument.Parse(v[3] is { Length: > 0 } c ? c : "{}");
                if (comment.RootElement.ValueKind == JsonValueKind.Object && comment.RootElement.TryGetProperty("sequin", out var s))
                {
                    source = s.TryGetProperty("source", out var so) ? so.GetString() : null;
                    obj = s.TryGetProperty("object", out var ob) ? ob.GetString() : null;
                    syncId = s.TryGetProperty("sync_id", out var si) && si.ValueKind == JsonValueKind.String ? si.GetString() : null;
                }
            }
            catch (JsonException)
            {
            }

            var fields = new Dictionary<string, string>(StringComparer.Ordinal);
            using (var columns = JsonDocument.Parse(v[4]!))
            {
                foreach (var column in columns.RootElement.EnumerateObject())
                {
                    try
                    {
                        using var cc = JsonDocument.Parse(column.Value.GetString() ?? "{}");
                        if (cc.RootElement.ValueKind == JsonValueKind.Object && cc.RootElement.TryGetProperty("sequin", out var s)
                            && s.TryGetProperty("field", out var field) && field.GetString() is { } name)
                        {
                            fields[column.Name] = name;
                        }
                    }
                    catch (JsonException)
                    {
                    }
                }
            }

            var attributes = new Dictionary<short, string>();
            using (var names = JsonDocument.Parse(v[5] ?? "{}"))
            {
                foreach (var a in names.RootElement.EnumerateObject())
                {
                    attributes[short.Parse(a.Name, System.Globalization.CultureInfo.InvariantCulture)] = a.Value.GetString()!;
                }
            }

            var oid = uint.Parse(v[0]!, System.Globalization.CultureInfo.InvariantCulture);
            _tables[oid] = new SyncedTable(oid, v[1]!, v[2]!, source, obj, fields) { SyncId = syncId, Attributes = attributes };
        }
    }

    private sealed class AppliedChanges
    {
        public List<(SyncedTable Table, string OldId, string NewId)> IdMap { get; } = [];

        /// <summary>The inserted and updated records as the upstream holds them now (read back with the write).</summary>
        public ReadBackResult ReadBack { get; } = new();
        public List<string> Ids { get; } = [];
        public List<string> Descriptions { get; } = [];
        public List<string> AppliedBefore { get; } = [];
        public (UpstreamRejection Rejection, SyncedTable Table, string Source, int Rows)? RejectionInfo { get; set; }
        public (UpstreamRejection Rejection, SyncedTable Table, string Source, int Rows)? Rejection => RejectionInfo;
    }

    private async Task<AppliedChanges> ApplyUpstreamAsync(List<CapturedChange> captured, CancellationToken ct)
    {
        await LoadTablesAsync(captured.Select(c => c.TableOid), ct);
        var writer = _server.UpstreamWriter;
        var groups = captured.GroupBy(c => (c.TableOid, c.Op)).ToList();
        var result = new AppliedChanges();

        // Refuse before anything is sent upstream when one request could not carry a group.
        foreach (var g in groups)
        {
            var table = _tables[g.Key.TableOid];
            var max = writer.MaxBatchSize(table);
            var count = g.Count();
            if (count > max)
            {
                result.RejectionInfo = (new UpstreamRejection(UpstreamErrorKind.BatchLimit, "BATCH_LIMIT",
                    $"the statement would {OpVerb(g.Key.Op)} {count} rows of {table.Schema}.{table.Name}; one request takes at most {max}"),
                    table, writer.SourceDisplayName(table), count);
                return result;
            }
        }

        foreach (var g in groups)
        {
            var table = _tables[g.Key.TableOid];
            var source = writer.SourceDisplayName(table);
            var op = g.Key.Op switch { 'I' => UpstreamOperation.Insert, 'U' => UpstreamOperation.Update, _ => UpstreamOperation.Delete };
            var rows = g.Select(c => c.Row).ToList();
            UpstreamWriteResult outcome;
            using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct))
            {
                timeout.CancelAfter(TimeSpan.FromSeconds(_options.UpstreamTimeoutSeconds));
                try
                {
                    // Inserts and updates are written and read back in one call (one upstream request, ADR 0013).
                    if (op == UpstreamOperation.Delete)
                    {
                        outcome = await writer.ApplyAsync(new UpstreamWriteBatch(table, op, rows), timeout.Token);
                    }
                    else
                    {
                        var both = await writer.ApplyAndReadBackAsync(new UpstreamWriteBatch(table, op, rows), timeout.Token);
                        outcome = both.Write;
                        if (outcome.Rejection is null)
                        {
                            result.ReadBack.Add(table, both.Records, both.ReadBackFailure);
                        }
                    }
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    outcome = UpstreamWriteResult.Rejected(new UpstreamRejection(UpstreamErrorKind.Timeout, "TIMEOUT",
                        $"no answer within {_options.UpstreamTimeoutSeconds} s"));
                }
                catch (Exception e) when (e is HttpRequestException or IOException or InvalidOperationException)
                {
                    outcome = UpstreamWriteResult.Rejected(new UpstreamRejection(UpstreamErrorKind.Unavailable, "UNAVAILABLE", e.Message));
                }
            }

            if (outcome.Rejection is { } rejection)
            {
                result.RejectionInfo = (rejection, table, source, rows.Count);
                return result;
            }

            var results = outcome.Rows ?? [];
            for (var i = 0; i < rows.Count; i++)
            {
                var oldId = rows[i].Id ?? "";
                var newId = i < results.Count ? results[i].Id : oldId;
                if (op == UpstreamOperation.Insert && newId != oldId)
                {
                    result.IdMap.Add((table, oldId, newId));
                }

                result.Ids.Add(newId);

                var description = $"[{source}] {table.ObjectName ?? table.Name} {op.ToString().ToLowerInvariant()} {newId}";
                result.Descriptions.Add(description);
                result.AppliedBefore.Add(description);
            }
        }

        return result;
    }

    private static string OpVerb(char op) => op switch { 'I' => "insert", 'U' => "update", _ => "delete" };

    private void WriteRejection(ArrayBufferWriter<byte> output,
        (UpstreamRejection Rejection, SyncedTable Table, string Source, int Rows) info, List<string> appliedBefore)
    {
        var (r, table, source, _) = info;
        var (sqlState, what) = r.Kind switch
        {
            UpstreamErrorKind.Validation => (SqlState.CheckViolation, "validation error"),
            UpstreamErrorKind.RequiredField => (SqlState.NotNullViolation, "required field missing"),
            UpstreamErrorKind.Duplicate => (SqlState.UniqueViolation, "duplicate value"),
            UpstreamErrorKind.TooLong => (SqlState.StringDataRightTruncation, "value too long"),
            UpstreamErrorKind.BatchLimit => (SqlState.ProgramLimitExceeded, "too many rows"),
            UpstreamErrorKind.Unavailable => (SqlState.ConnectionFailure, "upstream unavailable"),
            UpstreamErrorKind.Timeout => (SqlState.QueryCanceled, "upstream timeout"),
            UpstreamErrorKind.Permission => (SqlState.InsufficientPrivilege, "permission denied"),
            _ => (SqlState.InternalError, "upstream error"),
        };
        var detail = r.Detail ?? (r.Column is not null && r.Value is not null
            ? $"Key ({r.Column})=({r.Value}) was rejected by {source} ({r.Code})."
            : r.Column is not null ? $"Column {r.Column} was rejected by {source} ({r.Code})." : null);
        var fields = new List<MessageWriter.Field>();
        if (detail is not null)
        {
            fields.Add(new((byte)'D', detail));
        }

        var hint = r.Kind switch
        {
            UpstreamErrorKind.BatchLimit => "Split the statement into smaller ones (for example with a WHERE on id ranges or LIMIT in a subquery).",
            UpstreamErrorKind.Unavailable => "Nothing was committed. Retry the statement.",
            // The request may have reached the upstream and been applied after the proxy stopped waiting.
            UpstreamErrorKind.Timeout => "Nothing was committed in the database, but the upstream may still have applied the write: " +
                "check the source (or wait for the next sync to bring it) before retrying, or a retry may apply it twice.",
            _ => null,
        };
        if (appliedBefore.Count > 0)
        {
            hint = (hint is null ? "" : hint + " ") + "Already applied upstream by this statement and kept there: " + string.Join(", ", appliedBefore) + ".";
        }

        if (hint is not null)
        {
            fields.Add(new((byte)'H', hint));
        }

        fields.Add(new((byte)'s', table.Schema));
        fields.Add(new((byte)'t', table.Name));
        if (r.Column is not null)
        {
            fields.Add(new((byte)'c', r.Column));
        }

        fields.Add(new((byte)'n', r.Code));
        MessageWriter.WriteError(output, "ERROR", sqlState, $"[{source}] {what}: {r.Message}", [.. fields]);
    }

    /// <summary>
    /// The client's own results with temporary ids replaced by upstream ids (RETURNING); for a simple-protocol
    /// write without a result set, a <c>changed_ids</c> result set before the CommandComplete (as the product did).
    /// Extended-protocol results are kept exactly as described (no rows after NoData).
    /// </summary>
    private static void WriteResults(ClientResults results, ArrayBufferWriter<byte> output, AppliedChanges applied, WriteBack writeBack, bool simple)
    {
        var frames = results.Frames;
        var map = applied.IdMap.ToDictionary(p => p.OldId, p => p.NewId, StringComparer.Ordinal);
        var hasRows = frames.Any(f => f.Type == BackendMessageCode.RowDescription) || results.Shapes.Any(shape => shape is not null);

        // A DataRow without an id column may take the values of the only row written to its table only when it is the
        // single row of an INSERT/UPDATE … RETURNING — never a row a SELECT read (e.g. over a writable CTE).
        var soleReturningRow = new bool[frames.Count];
        for (int index = 0, first = -1, rows = 0; index < frames.Count; index++)
        {
            if (frames[index].Type == BackendMessageCode.DataRow)
            {
                first = rows++ == 0 ? index : first;
            }
            else if (frames[index].Type == BackendMessageCode.CommandComplete)
            {
                var tag = Encoding.UTF8.GetString(frames[index].Body.AsSpan().TrimEnd((byte)0));
                if (rows == 1 && (tag.StartsWith("INSERT ", StringComparison.Ordinal) || tag.StartsWith("UPDATE ", StringComparison.Ordinal)))
                {
                    soleReturningRow[first] = true;
                }

                rows = 0;
                first = -1;
            }
        }

        for (var index = 0; index < frames.Count; index++)
        {
            var f = frames[index];
            switch (f.Type)
            {
                case BackendMessageCode.ReadyForQuery:
                    continue;
                case BackendMessageCode.DataRow when map.Count > 0 || writeBack.HasRows:
                    var values = f.DataRowValues();
                    writeBack.Apply(results.Shapes[index], values, soleReturningRow[index]);
                    for (var i = 0; i < values.Count; i++)
                    {
                        if (values[i] is { Length: > 12 } v && v.AsSpan().StartsWith(TemporaryIdPrefix.Select(c => (byte)c).ToArray())
                            && map.TryGetValue(Encoding.UTF8.GetString(v), out var real))
                        {
                            values[i] = Encoding.UTF8.GetBytes(real);
                        }
                    }

                    MessageWriter.WriteDataRow(output, values);
                    continue;
                case BackendMessageCode.CommandComplete when simple && !hasRows:
                    MessageWriter.WriteRowDescriptionText(output, "changed_ids");
                    foreach (var id in applied.Ids.Distinct())
                    {
                        MessageWriter.WriteDataRow(output, [Encoding.UTF8.GetBytes(id)]);
                    }

                    break;
            }

            MessageWriter.WriteRaw(output, f.Code, f.Body);
        }
    }

    // ---------------------------------------------------------------- ROLLBACK warning

    private void ClearPersisted()
    {
        if (_persistedCount == 0)
        {
            return;
        }

        lock (_persisted)
        {
            _persisted.Clear();
            _persistedCount = 0;
        }
    }

    private void WritePersistedWarning(IBufferWriter<byte> writer)
    {
        string detail;
        lock (_persisted)
        {
            detail = "Applied upstream and kept: " + string.Join(", ", _persisted) + ".";
            _persisted.Clear();
            _persistedCount = 0;
        }

        MessageWriter.WriteErrorOrNotice(writer, BackendMessageCode.NoticeResponse, "WARNING", SqlState.Warning,
            "ROLLBACK did not undo changes already applied upstream; they persist there and return with the next sync",
            new MessageWriter.Field((byte)'D', detail),
            new MessageWriter.Field((byte)'H', "Writes through the Sequin proxy are applied upstream when each statement runs, not at COMMIT."));
    }

    /// <summary>An escape-string constant (<c>E'…'</c>): safe whatever the session's <c>standard_conforming_strings</c> is.</summary>
    private static string Literal(string value) =>
        "E'" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "''", StringComparison.Ordinal) + "'";

    private static string Ident(string name) => "\"" + name.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}
