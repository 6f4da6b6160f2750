using System.Collections.Concurrent;
using Sequin.Sandbox.Salesforce.Ids;
using Sequin.Sandbox.Salesforce.Schema;
using Sequin.Sandbox.Salesforce.Writes;

namespace Sequin.Sandbox.Salesforce.Store;

/// <summary>
/// One emulated Salesforce org: its tables, clock, limits, faults, validation rules, live-activity
/// settings and open query cursors. Orgs share nothing but the schema catalogue, until an org's schema
/// changes (<see cref="ChangeType"/>): then it has its own.
/// </summary>
internal sealed class Org
{
    /// <summary>Salesforce keeps recycle-bin records for 15 days before purging them.</summary>
    public static readonly TimeSpan DeletedRetention = TimeSpan.FromDays(15);

    private readonly TimeProvider _time;
    private Dictionary<string, Table> _tables; // by object name; replaced as a whole (copy on write)
    private SchemaCatalog _catalog;
    private long _idCounter;
    private long _lastStampTicks;
    private long _apiUsed;
    private DateOnly _apiDay;
    private int _inFlight;

    public Org(string id, string name, string pod, SchemaCatalog catalog, TimeProvider time, OrgFaults faults)
    {
        Id = id;
        Name = name;
        Pod = pod;
        _catalog = catalog;
        _time = time;
        Faults = faults;
        CreatedDate = TruncateToMs(time.GetUtcNow().UtcDateTime);
        _apiDay = DateOnly.FromDateTime(CreatedDate);
        PurgedThrough = CreatedDate;
        _tables = catalog.Objects.ToDictionary(o => o.Name, o => new Table(o), StringComparer.OrdinalIgnoreCase);
    }

    public string Id { get; }
    public string Name { get; }

    /// <summary>Two characters in every id of this org, so ids of different orgs never collide.</summary>
    public string Pod { get; }

    public SchemaCatalog Catalog => Volatile.Read(ref _catalog);
    public DateTime CreatedDate { get; }

    /// <summary>The integration user API sessions run as (CreatedById/LastModifiedById of API writes).</summary>
    public string UserId { get; set; } = string.Empty;

    /// <summary>Users that own seeded and mutated records.</summary>
    public IReadOnlyList<string> OwnerIds { get; set; } = [];

    /// <summary>Serialises writes. Reads never take it (see <see cref="Table"/>).</summary>
    public Lock WriteGate { get; } = new();

    public OrgFaults Faults { get; set; }

    public IReadOnlyList<CompiledValidationRule> ValidationRules { get; set; } = [];

    public ActivityState Activity { get; } = new();

    public ConcurrentDictionary<string, QueryCursor> Cursors { get; } = new(StringComparer.Ordinal);

    /// <summary>The recycle bin is complete from here on: the getDeleted <c>earliestDateAvailable</c>.</summary>
    public DateTime PurgedThrough { get; private set; }

    public TimeProvider Time => _time;

    /// <summary>The records of an object (by name: a definition from before a schema change finds the current table).</summary>
    public Table Table(ObjectDef type) => Volatile.Read(ref _tables)[type.Name];

    public IEnumerable<Table> Tables => Volatile.Read(ref _tables).Values;

    /// <summary>
    /// Puts a changed object definition in place: a new catalogue for this org and a new table holding every record
    /// (recycle bin included, in the same order) converted by <paramref name="convert"/>. Must be called under
    /// <see cref="WriteGate"/>. Readers that already hold the old table or records go on with that consistent snapshot.
    /// </summary>
    public void ChangeType(ObjectDef changed, Func<Record, Record> convert)
    {
        var old = Table(changed);
        var snapshot = old.Snapshot().Span;
        var table = new Table(changed);
        table.EnsureCapacity(Math.Max(64, snapshot.Length));
        foreach (var record in snapshot)
        {
            if (record is not null)
            {
                table.Append(convert(record));
            }
        }
        var tables = new Dictionary<string, Table>(Volatile.Read(ref _tables), StringComparer.OrdinalIgnoreCase) { [changed.Name] = table };
        Volatile.Write(ref _catalog, Catalog.With(changed));
        Volatile.Write(ref _tables, tables);
    }

    public DateTime UtcNow => TruncateToMs(_time.GetUtcNow().UtcDateTime);

    public string NextId(ObjectDef type) => SalesforceId.Create(type.KeyPrefix, Pod, Interlocked.Increment(ref _idCounter));

    /// <summary>
    /// The SystemModstamp of a write: the clock in milliseconds, never below the org's last stamp
    /// (globally monotonic) and always above the record's previous stamp (strictly increasing per
    /// record). Called under <see cref="WriteGate"/>, so stamp order is commit order.
    /// </summary>
    public DateTime NextStamp(DateTime? previous)
    {
        var ticks = Math.Max(UtcNow.Ticks, _lastStampTicks);
        if (previous is { } p && ticks <= p.Ticks)
        {
            ticks = p.Ticks + TimeSpan.TicksPerMillisecond;
        }
        _lastStampTicks = ticks;
        return new DateTime(ticks, DateTimeKind.Utc);
    }

    /// <summary>Lets the seeder stamp backdated records without pushing the clock.</summary>
    public void AdvanceStampFloor(DateTime stamp) => _lastStampTicks = Math.Max(_lastStampTicks, stamp.Ticks);

    /// <summary>Removes recycle-bin records older than the retention window. Takes the write gate.</summary>
    public void PurgeRecycleBin()
    {
        var cutoff = UtcNow - DeletedRetention;
        if (cutoff <= PurgedThrough)
        {
            return;
        }
        lock (WriteGate)
        {
            foreach (var table in _tables.Values)
            {
                table.Purge(cutoff);
            }
            PurgedThrough = cutoff;
        }
    }

    /// <summary>Counts one API request against the daily allocation; false when it is used up.</summary>
    public bool TryCountApiRequest(out long used)
    {
        var today = DateOnly.FromDateTime(UtcNow);
        if (today != _apiDay)
        {
            // Salesforce measures a rolling 24 hours; resetting at midnight UTC is close enough here.
            lock (WriteGate)
            {
                if (today != _apiDay)
                {
                    _apiDay = today;
                    Interlocked.Exchange(ref _apiUsed, 0);
                }
            }
        }
        used = Interlocked.Increment(ref _apiUsed);
        if (used > Faults.DailyApiLimit)
        {
            used = Interlocked.Decrement(ref _apiUsed);
            return false;
        }
        return true;
    }

    public long ApiUsed => Interlocked.Read(ref _apiUsed);

    public bool TryEnter()
    {
        var n = Interlocked.Increment(ref _inFlight);
        if (Faults.MaxConcurrentRequests > 0 && n > Faults.MaxConcurrentRequests)
        {
            Interlocked.Decrement(ref _inFlight);
            return false;
        }
        return true;
    }

    public void Exit() => Interlocked.Decrement(ref _inFlight);

    public static DateTime TruncateToMs(DateTime value) =>
        new(value.Ticks - (value.Ticks % TimeSpan.TicksPerMillisecond), DateTimeKind.Utc);
}

/// <summary>An immutable snapshot of an org's limits and faults; replaced as a whole on update.</summary>
internal sealed record OrgFaults(
    int DailyApiLimit,
    int MaxConcurrentRequests = 0,
    int LatencyMs = 0,
    int JitterMs = 0,
    double ErrorRate500 = 0,
    double ErrorRate503 = 0,
    double TimeoutRate = 0,
    double DropConnectionRate = 0,
    int AccessTokenLifetimeSeconds = 7200)
{
    public bool AnyInjected => LatencyMs > 0 || JitterMs > 0 || ErrorRate500 > 0 || ErrorRate503 > 0
        || TimeoutRate > 0 || DropConnectionRate > 0;

    public OrgFaults With(SandboxFaults change) => new(
        change.DailyApiLimit ?? DailyApiLimit,
        change.MaxConcurrentRequests ?? MaxConcurrentRequests,
        change.LatencyMs ?? LatencyMs,
        change.JitterMs ?? JitterMs,
        change.ErrorRate500 ?? ErrorRate500,
        change.ErrorRate503 ?? ErrorRate503,
        change.TimeoutRate ?? TimeoutRate,
        change.DropConnectionRate ?? DropConnectionRate,
        change.AccessTokenLifetimeSeconds ?? AccessTokenLifetimeSeconds);

    public SandboxFaults ToContract() => new()
    {
        DailyApiLimit = DailyApiLimit,
        MaxConcurrentRequests = MaxConcurrentRequests,
        LatencyMs = LatencyMs,
        JitterMs = JitterMs,
        ErrorRate500 = ErrorRate500,
        ErrorRate503 = ErrorRate503,
        TimeoutRate = TimeoutRate,
        DropConnectionRate = DropConnectionRate,
        AccessTokenLifetimeSeconds = AccessTokenLifetimeSeconds,
    };
}

/// <summary>Live-activity settings of an org plus its counters.</summary>
internal sealed class ActivityState
{
    private long _creates;
    private long _updates;
    private long _deletes;

    public ActivitySettings Settings { get; set; } = new(false, 1, 1, 3, 1, ["Contact", "Account"]);

    /// <summary>The mutator's own generator, so a run is reproducible for a given org.</summary>
    public Random Random { get; } = new(1234);

    /// <summary>Fractional operations carried from one tick to the next, so low rates still happen.</summary>
    public double Carry { get; set; }

    public long Creates => Interlocked.Read(ref _creates);
    public long Updates => Interlocked.Read(ref _updates);
    public long Deletes => Interlocked.Read(ref _deletes);

    public void CountCreate() => Interlocked.Increment(ref _creates);
    public void CountUpdate() => Interlocked.Increment(ref _updates);
    public void CountDelete() => Interlocked.Increment(ref _deletes);
}

internal sealed record ActivitySettings(bool Enabled, double OperationsPerSecond, int CreateWeight, int UpdateWeight,
    int DeleteWeight, IReadOnlyList<string> Objects);
