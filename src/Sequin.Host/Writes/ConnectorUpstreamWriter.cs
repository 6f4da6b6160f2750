using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using Sequin.Platform.Database;
using Sequin.Platform.Security;
using Sequin.Proxy.Writes;
using Sequin.Sources;
using Sequin.Sources.Salesforce;
using Sequin.Sync;

namespace Sequin.Host.Writes;

/// <summary>
/// The proxy's <see cref="IUpstreamWriter"/> over the sync engine's connectors: finds the connection of the table's
/// sync (<c>sync_id</c> of the table comment, ADR 0007), turns the captured rows into a <see cref="WriteBatch"/>
/// (columns mapped back to fields, JSON values to the field's type; only createable fields on insert), applies it
/// with allOrNone (Salesforce <c>composite/sobjects</c>) and maps the upstream error codes to the proxy's
/// rejection kinds (and so to SQLSTATEs). Connectors are cached per connection; refreshed tokens are stored.
/// </summary>
internal sealed partial class ConnectorUpstreamWriter(
    PlatformDatabase platform,
    ISecretProtector secrets,
    SalesforceConnectorFactory salesforce,
    ILogger<ConnectorUpstreamWriter> logger) : IUpstreamWriter, IAsyncDisposable
{
    private readonly ConcurrentDictionary<Guid, Lazy<Task<(ISourceConnector Connector, string Kind)>>> _connectors = new();
    private readonly ConcurrentDictionary<(Guid Connection, string Object), Task<SourceObject>> _described = new();

    public string SourceDisplayName(SyncedTable table) => table.Source switch
    {
        "salesforce" => "Salesforce",
        "hubspot" => "HubSpot",
        "airtable" => "Airtable",
        "stripe" => "Stripe",
        { Length: > 0 } other => char.ToUpperInvariant(other[0]) + other[1..],
        _ => "Sequin",
    };

    public int MaxBatchSize(SyncedTable table) => table.Source == "salesforce" ? 200 : 100;

    public async Task<UpstreamWriteResult> ApplyAsync(UpstreamWriteBatch batch, CancellationToken cancellationToken) =>
        (await WriteAsync(batch, readBack: false, cancellationToken)).Write;

    /// <summary>
    /// The write and the read-back of every synced column in one connector call (<see cref="ISourceConnector.WriteAndReadAsync"/>:
    /// Salesforce sends one Composite request). Rejections map exactly as in <see cref="ApplyAsync"/>; a failed read after an
    /// accepted write comes back as <see cref="UpstreamWriteAndRead.ReadBackFailure"/>.
    /// </summary>
    public Task<UpstreamWriteAndRead> ApplyAndReadBackAsync(UpstreamWriteBatch batch, CancellationToken cancellationToken) =>
        WriteAsync(batch, readBack: batch.Operation != UpstreamOperation.Delete, cancellationToken);

    private async Task<UpstreamWriteAndRead> WriteAsync(UpstreamWriteBatch batch, bool readBack, CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(batch.Table.SyncId, out var syncId) || batch.Table.ObjectName is not { } objectName)
        {
            return new(Reject(UpstreamErrorKind.Permission, "NOT_A_SYNCED_TABLE",
                $"{batch.Table.Schema}.{batch.Table.Name} has no Sequin sync metadata; it cannot be written through the proxy"), []);
        }

        var connectionId = await ConnectionOfAsync(syncId, cancellationToken);
        if (connectionId is null)
        {
            return new(Reject(UpstreamErrorKind.Permission, "SYNC_NOT_FOUND", "the sync of this table no longer exists"), []);
        }

        for (var attempt = 0; ; attempt++)
        {
            try
            {
                var (connector, _) = await ConnectorAsync(connectionId.Value, cancellationToken);
                var described = await _described.GetOrAdd((connectionId.Value, objectName), key => connector.DescribeObjectAsync(key.Object, CancellationToken.None));
                var records = batch.Rows.Select(row => ToRecord(batch, row, described)).ToList();
                var operation = batch.Operation switch
                {
                    UpstreamOperation.Insert => WriteOperation.Create,
                    UpstreamOperation.Update => WriteOperation.Update,
                    _ => WriteOperation.Delete,
                };
                var write = new WriteBatch(described.Name, operation, records);
                var columns = readBack ? ReadColumns(batch.Table, described) : [];
                if (columns.Count == 0)
                {
                    return new(MapResults(batch, await connector.WriteAsync(write, cancellationToken)), []);
                }

                var both = await connector.WriteAndReadAsync(write, new ReadRequest(described.Name, [.. columns.Select(c => c.Field)]), cancellationToken);
                var mapped = MapResults(batch, both.Results);
                if (mapped.Rejection is not null || both.Records is not { } read)
                {
                    return new(mapped, [], mapped.Rejection is null ? both.ReadFailure ?? "nothing was read back" : null);
                }

                return new(mapped, [.. read.Select(record => new UpstreamRecord(record.Id, ColumnsJson(columns, record.Values)))]);
            }
            catch (SourceAuthException) when (attempt == 0)
            {
                // Credentials may have been replaced (reconnect): build the connector again from the stored ones.
                Evict(connectionId.Value);
            }
            catch (SourceAuthException e)
            {
                return new(Reject(UpstreamErrorKind.Permission, "INVALID_SESSION_ID", $"the source rejected the stored credentials ({e.Message}); reconnect the source"), []);
            }
            catch (SourceThrottledException e)
            {
                return new(Reject(UpstreamErrorKind.Unavailable, "REQUEST_LIMIT_EXCEEDED", e.Message), []);
            }
            catch (SourceException e)
            {
                LogWriteFailed(logger, batch.Table.Schema, batch.Table.Name, e.Message);
                return new(Reject(UpstreamErrorKind.Unavailable, "UPSTREAM_ERROR", e.Message), []);
            }
            catch (HttpRequestException e)
            {
                return new(Reject(UpstreamErrorKind.Unavailable, "UPSTREAM_UNREACHABLE", e.Message), []);
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return new(Reject(UpstreamErrorKind.Timeout, "UPSTREAM_TIMEOUT", "the source did not answer in time"), []);
            }
        }
    }

    /// <summary>Every synced column (but the id) whose field the source still describes, with that field.</summary>
    private static List<(string Column, SourceField Field)> ReadColumns(SyncedTable table, SourceObject described)
    {
        var columns = new List<(string Column, SourceField Field)>();
        foreach (var (column, fieldName) in table.ColumnFields)
        {
            if (column != "id" && described.Find(fieldName) is { } field && !string.Equals(field.Name, described.IdField, StringComparison.OrdinalIgnoreCase))
            {
                columns.Add((column, field));
            }
        }

        return columns;
    }

    /// <summary>
    /// The connector's read by id (Salesforce sObject Collections retrieve) of every synced column the source still
    /// describes, parsed by the connector exactly as the sync parses pages; the typed values then go out as JSON for
    /// Postgres to turn into the column types (<see cref="UpstreamRecord"/>). Failures throw: the proxy warns.
    /// </summary>
    public async Task<IReadOnlyList<UpstreamRecord>> ReadBackAsync(SyncedTable table, IReadOnlyList<string> ids, CancellationToken cancellationToken)
    {
        if (ids.Count == 0 || !Guid.TryParse(table.SyncId, out var syncId) || table.ObjectName is not { } objectName
            || await ConnectionOfAsync(syncId, cancellationToken) is not { } connectionId)
        {
            return [];
        }

        try
        {
            return await ReadBackOnceAsync(table, ids, connectionId, objectName, cancellationToken);
        }
        catch (SourceAuthException)
        {
            // Credentials may have been replaced (reconnect), as in ApplyAsync: build the connector again, once.
            Evict(connectionId);
            return await ReadBackOnceAsync(table, ids, connectionId, objectName, cancellationToken);
        }
    }

    private async Task<IReadOnlyList<UpstreamRecord>> ReadBackOnceAsync(SyncedTable table, IReadOnlyList<string> ids, Guid connectionId, string objectName,
        CancellationToken cancellationToken)
    {
        var (connector, _) = await ConnectorAsync(connectionId, cancellationToken);
        var described = await _described.GetOrAdd((connectionId, objectName), key => connector.DescribeObjectAsync(key.Object, CancellationToken.None));
        var columns = ReadColumns(table, described);
        if (columns.Count == 0)
        {
            return [];
        }

        var records = await connector.ReadRecordsAsync(new ReadRequest(described.Name, [.. columns.Select(c => c.Field)]), ids, cancellationToken);
        var result = new List<UpstreamRecord>(records.Count);
        foreach (var record in records)
        {
            result.Add(new UpstreamRecord(record.Id, ColumnsJson(columns, record.Values)));
        }

        return result;
    }

    /// <summary>A record's typed values (<see cref="SourceRecord"/>'s CLR types) as the JSON object of <see cref="UpstreamRecord.Columns"/>.</summary>
    private static JsonElement ColumnsJson(List<(string Column, SourceField Field)> columns, object?[] values)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            for (var i = 0; i < columns.Count; i++)
            {
                w.WritePropertyName(columns[i].Column);
                switch (values[i])
                {
                    case null: w.WriteNullValue(); break;
                    case string json when columns[i].Field.Kind == FieldKind.Json: w.WriteRawValue(json); break;
                    case string text: w.WriteStringValue(text); break;
                    case string[] list:
                        w.WriteStartArray();
                        foreach (var item in list)
                        {
                            w.WriteStringValue(item);
                        }

                        w.WriteEndArray();
                        break;
                    case bool b: w.WriteBooleanValue(b); break;
                    case int n: w.WriteNumberValue(n); break;
                    case long n: w.WriteNumberValue(n); break;
                    case decimal n: w.WriteNumberValue(n); break;
                    case DateOnly d: w.WriteStringValue(d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)); break;
                    case DateTime t: w.WriteStringValue(DateTime.SpecifyKind(t, DateTimeKind.Utc).ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture)); break;
                    case TimeOnly t: w.WriteStringValue(t.ToString("HH:mm:ss.ffffff", CultureInfo.InvariantCulture)); break;
                    case var other: w.WriteStringValue(System.Convert.ToString(other, CultureInfo.InvariantCulture)); break;
                }
            }

            w.WriteEndObject();
        }

        using var document = JsonDocument.Parse(buffer.WrittenMemory);
        return document.RootElement.Clone();
    }

    private static UpstreamWriteResult Reject(UpstreamErrorKind kind, string code, string message) =>
        UpstreamWriteResult.Rejected(new UpstreamRejection(kind, code, message));

    /// <summary>Captured row → upstream record. Insert: every mapped, createable, non-null column. Update: changed columns.</summary>
    private static WriteRecord ToRecord(UpstreamWriteBatch batch, CapturedRow row, SourceObject described)
    {
        if (batch.Operation == UpstreamOperation.Delete)
        {
            return new WriteRecord(row.Id, new Dictionary<string, object?>());
        }

        var values = row.New!.Value;
        var columns = batch.Operation == UpstreamOperation.Insert ? values.EnumerateObject().Select(p => p.Name) : row.ChangedColumns();
        var fields = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var column in columns)
        {
            if (column == "id" || !batch.Table.ColumnFields.TryGetValue(column, out var fieldName) || described.Find(fieldName) is not { } field
                || string.Equals(field.Name, described.IdField, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            var value = values.GetProperty(column);
            if (batch.Operation == UpstreamOperation.Insert && (value.ValueKind == JsonValueKind.Null || !field.Createable))
            {
                continue; // unset, or set by the source (CreatedDate, SystemModstamp…)
            }

            fields[field.Name] = Convert(value, field.Kind);
        }

        return new WriteRecord(batch.Operation == UpstreamOperation.Insert ? null : row.Id, fields);
    }

    private static object? Convert(JsonElement value, FieldKind kind)
    {
        if (value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return kind switch
        {
            FieldKind.Boolean => value.ValueKind == JsonValueKind.True || (value.ValueKind == JsonValueKind.String && bool.Parse(value.GetString()!)),
            FieldKind.Integer => value.ValueKind == JsonValueKind.Number ? value.GetInt32() : int.Parse(value.GetString()!, CultureInfo.InvariantCulture),
            FieldKind.BigInt => value.ValueKind == JsonValueKind.Number ? value.GetInt64() : long.Parse(value.GetString()!, CultureInfo.InvariantCulture),
            FieldKind.Numeric => value.ValueKind == JsonValueKind.Number ? value.GetDecimal() : decimal.Parse(value.GetString()!, CultureInfo.InvariantCulture),
            FieldKind.Date => DateOnly.Parse(value.GetString()!, CultureInfo.InvariantCulture),
            FieldKind.Timestamp => DateTimeOffset.Parse(value.GetString()!, CultureInfo.InvariantCulture).UtcDateTime,
            FieldKind.Time => TimeOnly.Parse(value.GetString()!, CultureInfo.InvariantCulture),
            FieldKind.TextArray => value.ValueKind == JsonValueKind.Array ? value.EnumerateArray().Select(e => e.ToString()).ToArray() : new[] { value.ToString() },
            FieldKind.Json => value.GetRawText(),
            _ => value.ValueKind == JsonValueKind.String ? value.GetString() : value.GetRawText(),
        };
    }

    private static UpstreamWriteResult MapResults(UpstreamWriteBatch batch, IReadOnlyList<WriteResult> results)
    {
        // A delete of a record that is already gone upstream leaves both sides agreeing: not an error.
        static bool Gone(WriteResult r) => r.Errors.Any(e => e.Code is "ENTITY_IS_DELETED" or "NOT_FOUND" or "INVALID_CROSS_REFERENCE_KEY");
        var failed = results.Select((r, i) => (Result: r, Index: i))
            .Where(x => !x.Result.Success && !(batch.Operation == UpstreamOperation.Delete && Gone(x.Result)))
            .ToList();
        if (failed.Count == 0)
        {
            return UpstreamWriteResult.Accepted(results.Select((r, i) => new UpstreamRowResult(r.Id ?? batch.Rows[i].Id ?? "")).ToList());
        }

        // With allOrNone every record fails; the culprit carries the real error, the others ALL_OR_NONE_OPERATION_ROLLED_BACK.
        var (culprit, index) = failed.FirstOrDefault(x => x.Result.Errors.Any(e => e.Code != "ALL_OR_NONE_OPERATION_ROLLED_BACK"));
        culprit ??= failed[0].Result;
        var error = culprit.Errors.FirstOrDefault(e => e.Code != "ALL_OR_NONE_OPERATION_ROLLED_BACK") ?? culprit.Errors.FirstOrDefault()
            ?? new WriteError("UNKNOWN", "the source refused the write without a reason", []);
        var column = error.Fields.Count > 0
            ? batch.Table.ColumnFields.FirstOrDefault(kv => string.Equals(kv.Value, error.Fields[0], StringComparison.OrdinalIgnoreCase)).Key
            : null;
        var row = batch.Rows[index];
        string? value = null;
        if (column is not null && (row.New ?? row.Old) is { } values && values.TryGetProperty(column, out var v))
        {
            value = v.ValueKind == JsonValueKind.String ? v.GetString() : v.ValueKind == JsonValueKind.Null ? null : v.GetRawText();
        }

        var kind = error.Code switch
        {
            "REQUIRED_FIELD_MISSING" => UpstreamErrorKind.RequiredField,
            "DUPLICATE_VALUE" or "DUPLICATES_DETECTED" => UpstreamErrorKind.Duplicate,
            "STRING_TOO_LONG" => UpstreamErrorKind.TooLong,
            "INVALID_FIELD_FOR_INSERT_UPDATE" or "INSUFFICIENT_ACCESS_OR_READONLY" or "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY"
                or "INVALID_SESSION_ID" => UpstreamErrorKind.Permission,
            "INVALID_EMAIL_ADDRESS" or "FIELD_CUSTOM_VALIDATION_EXCEPTION" or "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
                or "FIELD_INTEGRITY_EXCEPTION" or "INVALID_TYPE_ON_FIELD_IN_RECORD" or "MALFORMED_ID" or "NUMBER_OUTSIDE_VALID_RANGE" => UpstreamErrorKind.Validation,
            "REQUEST_LIMIT_EXCEEDED" or "SERVER_UNAVAILABLE" => UpstreamErrorKind.Unavailable,
            _ => UpstreamErrorKind.Other,
        };
        var detail = (error.Code, column) switch
        {
            ("INVALID_EMAIL_ADDRESS", { } c) => $"Key ({c})=({value}) is not a valid email address.",
            ("REQUIRED_FIELD_MISSING", { } c) => $"Failing row lacks a value for column \"{c}\", which {batch.Table.ObjectName} requires.",
            ("STRING_TOO_LONG", { } c) => $"Key ({c})=({Shorten(value)}) is longer than the field allows.",
            ("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", { } c) => $"Key ({c})=({value}) is not one of the field's picklist values.",
            ("DUPLICATE_VALUE", { } c) => $"Key ({c})=({value}) already exists.",
            ("INVALID_FIELD_FOR_INSERT_UPDATE", { } c) => $"Column \"{c}\" is read-only in {batch.Table.ObjectName}.",
            _ => null,
        };
        return UpstreamWriteResult.Rejected(new UpstreamRejection(kind, error.Code, error.Message, column, value, index, detail));
    }

    private static string? Shorten(string? value) => value is { Length: > 40 } ? value[..37] + "..." : value;

    /// <summary>
    /// The connection of a sync (null once it is being deleted), remembered for <see cref="ConnectionCacheTime"/>: every
    /// write and read-back needs it, and a platform-database round trip each time was a measurable part of a write's
    /// latency. A sync deleted meanwhile is caught anyway — deleting it drops the destination schema.
    /// </summary>
    private async Task<Guid?> ConnectionOfAsync(Guid syncId, CancellationToken cancellationToken)
    {
        var now = Environment.TickCount64;
        if (_connectionOf.TryGetValue(syncId, out var known) && now - known.At < ConnectionCacheTime.TotalMilliseconds)
        {
            return known.Connection;
        }

        await using var command = platform.DataSource.CreateCommand("select connection_id from syncs where id = $1 and state <> 'deleting'");
        command.Parameters.AddWithValue(syncId);
        var connection = await command.ExecuteScalarAsync(cancellationToken) as Guid?;
        _connectionOf[syncId] = (connection, now);
        return connection;
    }

    private static readonly TimeSpan ConnectionCacheTime = TimeSpan.FromSeconds(5);
    private readonly ConcurrentDictionary<Guid, (Guid? Connection, long At)> _connectionOf = new();

    private Task<(ISourceConnector Connector, string Kind)> ConnectorAsync(Guid connectionId, CancellationToken cancellationToken) =>
        _connectors.GetOrAdd(connectionId, id => new Lazy<Task<(ISourceConnector, string)>>(() => CreateAsync(id))).Value.WaitAsync(cancellationToken);

    private async Task<(ISourceConnector, string)> CreateAsync(Guid connectionId)
    {
        await using var command = platform.DataSource.CreateCommand(
            "select kind, credentials_protected, requests_per_second, daily_share from source_connections where id = $1");
        command.Parameters.AddWithValue(connectionId);
        await using var reader = await command.ExecuteReaderAsync();
        if (!await reader.ReadAsync() || reader.IsDBNull(1))
        {
            throw new SourceAuthException("the connection has no credentials");
        }

        var kind = reader.GetString(0);
        var credentials = ConnectionCredentials.Unprotect(secrets, reader.GetString(1));
        var limits = reader.IsDBNull(2) && reader.IsDBNull(3)
            ? null
            : salesforce.DefaultLimits with
            {
                RequestsPerSecond = reader.IsDBNull(2) ? salesforce.DefaultLimits.RequestsPerSecond : reader.GetDouble(2),
                DailyShare = reader.IsDBNull(3) ? salesforce.DefaultLimits.DailyShare : reader.GetDouble(3),
            };
        return kind switch
        {
            "salesforce" => (salesforce.Create(credentials, ConnectionCredentials.SinkFor(platform, secrets, connectionId), limits, connectionId), kind),
            _ => throw new SourceException($"writes to '{kind}' sources are not supported yet"),
        };
    }

    private void Evict(Guid connectionId)
    {
        if (_connectors.TryRemove(connectionId, out var entry) && entry.IsValueCreated && entry.Value.IsCompletedSuccessfully)
        {
            _ = entry.Value.Result.Connector.DisposeAsync().AsTask();
        }

        foreach (var key in _described.Keys.Where(k => k.Connection == connectionId))
        {
            _described.TryRemove(key, out _);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var entry in _connectors.Values.Where(e => e.IsValueCreated && e.Value.IsCompletedSuccessfully))
        {
            await entry.Value.Result.Connector.DisposeAsync();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Write to {Schema}.{Table} failed upstream: {Reason}")]
    private static partial void LogWriteFailed(ILogger logger, string schema, string table, string reason);
}
