using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.RegularExpressions;
using Sequin.Proxy.Writes;

namespace Sequin.Proxy.Testing;

/// <summary>
/// An HTTP-free upstream for tests: an in-memory store of records per object that validates like Salesforce does
/// for the fields the tests use (INVALID_EMAIL_ADDRESS, REQUIRED_FIELD_MISSING for Contact.LastName,
/// STRING_TOO_LONG for FirstName over 40, DUPLICATE_VALUE for Email), assigns 18-character ids, and applies each
/// batch all-or-none. Like Salesforce it sets CreatedDate and OwnerId on create, SystemModstamp on every write and
/// NumberOfEmployees to 1 when an Account is created without one (a default), which <see cref="ReadBackAsync"/>
/// returns. Faults can be injected.
/// </summary>
internal sealed partial class InMemoryUpstreamWriter : IUpstreamWriter
{
    private long _counter;
    private readonly object _gate = new();

    /// <summary>Records by object name, then id, then field name → value.</summary>
    public ConcurrentDictionary<string, ConcurrentDictionary<string, Dictionary<string, string?>>> Records { get; } = new();

    /// <summary>Every accepted batch, in order: (object, operation, row count).</summary>
    public ConcurrentQueue<(string Object, UpstreamOperation Operation, int Rows)> Calls { get; } = new();

    /// <summary>When set, the next call fails with this kind (and clears it).</summary>
    public UpstreamErrorKind? FailNext { get; set; }

    /// <summary>Delay of every call.</summary>
    public TimeSpan Latency { get; set; }

    public int MaxBatch { get; set; } = 200;

    /// <summary>When set, every read-back fails with this exception (the write itself succeeds).</summary>
    public Exception? FailReadBack { get; set; }

    /// <summary>When set, read-backs return a value no integer column takes for NumberOfEmployees (as after a type change upstream).</summary>
    public bool ReadBackWrongType { get; set; }

    /// <summary>Number of read-back calls.</summary>
    public int ReadBacks;

    /// <summary>The owner every created record gets (Salesforce: the running user).</summary>
    public const string OwnerId = "005000000000001AAA";

    private long _clock = DateTime.UtcNow.Ticks / TimeSpan.TicksPerMillisecond;

    /// <summary>A SystemModstamp later than every earlier one (milliseconds, as Salesforce stores it).</summary>
    private string Stamp() =>
        DateTime.UnixEpoch.AddMilliseconds(Interlocked.Increment(ref _clock) - (DateTime.UnixEpoch.Ticks / TimeSpan.TicksPerMillisecond))
            .ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Runs before each read-back, after the upstream accepted the write (a test plays the sync's poll here).</summary>
    public Func<SyncedTable, IReadOnlyList<string>, Task>? BeforeReadBack { get; set; }

    public async Task<IReadOnlyList<UpstreamRecord>> ReadBackAsync(SyncedTable table, IReadOnlyList<string> ids, CancellationToken cancellationToken)
    {
        if (BeforeReadBack is { } hook)
        {
            await hook(table, ids);
        }

        return await ReadStoredAsync(table, ids);
    }

    private Task<IReadOnlyList<UpstreamRecord>> ReadStoredAsync(SyncedTable table, IReadOnlyList<string> ids)
    {
        Interlocked.Increment(ref ReadBacks);
        if (FailReadBack is { } failure)
        {
            return Task.FromException<IReadOnlyList<UpstreamRecord>>(failure);
        }

        var store = Records.GetOrAdd(table.ObjectName ?? table.Name, _ => new());
        var result = new List<UpstreamRecord>();
        lock (_gate)
        {
            foreach (var id in ids)
            {
                if (!store.TryGetValue(id, out var fields))
                {
                    continue;
                }

                var columns = new Dictionary<string, object?>();
                foreach (var (column, field) in table.ColumnFields)
                {
                    var value = fields.GetValueOrDefault(field);
                    columns[column] = field != "NumberOfEmployees" || value is null ? value
                        : ReadBackWrongType ? "many" : int.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
                }

                result.Add(new UpstreamRecord(id, JsonSerializer.SerializeToElement(columns)));
            }
        }

        return Task.FromResult<IReadOnlyList<UpstreamRecord>>(result);
    }

    public string SourceDisplayName(SyncedTable table) => "Salesforce";

    public int MaxBatchSize(SyncedTable table) => MaxBatch;

    public IReadOnlyDictionary<string, Dictionary<string, string?>> Objects(string name) =>
        Records.GetOrAdd(name, _ => new());

    public async Task<UpstreamWriteResult> ApplyAsync(UpstreamWriteBatch batch, CancellationToken cancellationToken)
    {
        if (Latency > TimeSpan.Zero)
        {
            await Task.Delay(Latency, cancellationToken);
        }

        if (FailNext is { } fail)
        {
            FailNext = null;
            return UpstreamWriteResult.Rejected(new UpstreamRejection(fail, fail.ToString().ToUpperInvariant(), "injected failure"));
        }

        var objectName = batch.Table.ObjectName ?? batch.Table.Name;
        var store = Records.GetOrAdd(objectName, _ => new());
        lock (_gate)
        {
            // Validate everything first: allOrNone.
            var emailsInBatch = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            for (var i = 0; i < batch.Rows.Count; i++)
            {
                var row = batch.Rows[i];
                if (batch.Operation == UpstreamOperation.Delete)
                {
                    continue;
                }

                var values = Values(row.New!.Value);
                if (objectName == "Contact")
                {
                    if (values.TryGetValue("email", out var email) && email is not null)
                    {
                        if (!EmailPattern().IsMatch(email))
                        {
                            return Reject(UpstreamErrorKind.Validation, "INVALID_EMAIL_ADDRESS", $"Email: invalid email address: {email}",
                                "email", email, i, $"Key (email)=({email}) is not a valid email address.");
                        }

                        var id = row.Id;
                        if (!emailsInBatch.Add(email) || store.Any(r => r.Key != id && string.Equals(r.Value.GetValueOrDefault("Email"), email, StringComparison.OrdinalIgnoreCase)))
                        {
                            return Reject(UpstreamErrorKind.Duplicate, "DUPLICATE_VALUE", $"duplicate value found: Email duplicates value on another record",
                                "email", email, i, $"Key (email)=({email}) already exists.");
                        }
                    }

                    if (values.TryGetValue("last_name", out var last) && last is null)
                    {
                        return Reject(UpstreamErrorKind.RequiredField, "REQUIRED_FIELD_MISSING", "Required fields are missing: [LastName]",
                            "last_name", null, i, "Failing row is missing required field last_name (LastName).");
                    }

                    if (values.TryGetValue("first_name", out var first) && first is { Length: > 40 })
                    {
                        return Reject(UpstreamErrorKind.TooLong, "STRING_TOO_LONG", "First Name: data value too large (max length=40)",
                            "first_name", first, i, null);
                    }
                }

                if (batch.Operation == UpstreamOperation.Update && (row.Id is null || !store.ContainsKey(row.Id)))
                {
                    return Reject(UpstreamErrorKind.Other, "ENTITY_IS_DELETED", "entity is deleted", null, null, i, null);
                }
            }

            var results = new List<UpstreamRowResult>();
            foreach (var row in batch.Rows)
            {
                switch (batch.Operation)
                {
                    case UpstreamOperation.Insert:
                        var id = NewId(objectName);
                        var created = ToFields(batch.Table, Values(row.New!.Value));
                        var now = Stamp();
                        created["CreatedDate"] = now;
                        created["SystemModstamp"] = now;
                        created["OwnerId"] = OwnerId;
                        if (objectName == "Account" && created.GetValueOrDefault("NumberOfEmployees") is null)
                        {
                            created["NumberOfEmployees"] = "1";
                        }

                        store[id] = created;
                        results.Add(new UpstreamRowResult(id));
                        break;
                    case UpstreamOperation.Update:
                        var record = store[row.Id!];
                        var newValues = Values(row.New!.Value);
                        foreach (var column in row.ChangedColumns())
                        {
                            if (Field(batch.Table, column) is { } field)
                            {
                                record[field] = newValues[column];
                            }
                        }

                        record["SystemModstamp"] = Stamp();

                        results.Add(new UpstreamRowResult(row.Id!));
                        break;
                    default:
                        store.TryRemove(row.Id ?? "", out _);
                        results.Add(new UpstreamRowResult(row.Id ?? ""));
                        break;
                }
            }

            Calls.Enqueue((objectName, batch.Operation, batch.Rows.Count));
            return UpstreamWriteResult.Accepted(results);
        }

        static UpstreamWriteResult Reject(UpstreamErrorKind kind, string code, string message, string? column, string? value, int row, string? detail) =>
            UpstreamWriteResult.Rejected(new UpstreamRejection(kind, code, message, column, value, row, detail));
    }

    private string NewId(string objectName)
    {
        var prefix = objectName switch { "Contact" => "003", "Account" => "001", _ => "a00" };
        return $"{prefix}{Interlocked.Increment(ref _counter):D12}AAA";
    }

    private static Dictionary<string, string?> Values(JsonElement row) =>
        row.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.ValueKind switch
        {
            JsonValueKind.Null => null,
            JsonValueKind.String => p.Value.GetString(),
            _ => p.Value.GetRawText(),
        });

    private static string? Field(SyncedTable table, string column) =>
        column is "id" || column.StartsWith("_sync_", StringComparison.Ordinal) ? null : table.ColumnFields.GetValueOrDefault(column) ?? column;

    private static Dictionary<string, string?> ToFields(SyncedTable table, Dictionary<string, string?> values)
    {
        var fields = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var (column, value) in values)
        {
            if (Field(table, column) is { } field)
            {
                fields[field] = value;
            }
        }

        return fields;
    }

    [GeneratedRegex(@"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
    private static partial Regex EmailPattern();
}
