using System.Collections.Concurrent;
using Sequin.Sandbox.Salesforce.Schema;

namespace Sequin.Sandbox.Salesforce.Store;

/// <summary>
/// The records of one sObject in one org, in creation (= id) order, which is also the order
/// Salesforce returns rows in when a query has no ORDER BY.
/// </summary>
/// <remarks>
/// Readers never lock: they read <see cref="_count"/> and then <see cref="_rows"/> (the writer publishes
/// in the opposite order) and skip null slots, so a query scans a consistent-enough snapshot at memory
/// speed. Writers are serialised by <see cref="Org.WriteGate"/>; every mutating method here must be
/// called while holding it.
/// </remarks>
internal sealed class Table(ObjectDef type)
{
    private ConcurrentDictionary<string, int> _index = new(StringComparer.Ordinal);
    private Record?[] _rows = new Record?[64];
    private int _count;

    public ObjectDef Type { get; } = type;

    /// <summary>Records not in the recycle bin.</summary>
    public int LiveCount { get; private set; }

    /// <summary>Records in the recycle bin (soft-deleted, not yet purged).</summary>
    public int DeletedCount { get; private set; }

    /// <summary>A lock-free snapshot of the rows; may contain nulls after a purge.</summary>
    public ReadOnlyMemory<Record?> Snapshot()
    {
        var count = Volatile.Read(ref _count);
        var rows = Volatile.Read(ref _rows);
        return rows.AsMemory(0, Math.Min(count, rows.Length));
    }

    public Record? Find(string id18)
    {
        if (!Volatile.Read(ref _index).TryGetValue(id18, out var slot))
        {
            return null;
        }
        var rows = Volatile.Read(ref _rows);
        var record = slot < rows.Length ? rows[slot] : null;
        // A purge may have moved the slot between the two reads; fall back to a scan of the index.
        return record is not null && record.Id == id18 ? record : FindSlow(id18);
    }

    private Record? FindSlow(string id18)
    {
        var snapshot = Snapshot().Span;
        foreach (var record in snapshot)
        {
            if (record is not null && record.Id == id18)
            {
                return record;
            }
        }
        return null;
    }

    public void Append(Record record)
    {
        var rows = _rows;
        if (_count == rows.Length)
        {
            Array.Resize(ref rows, rows.Length * 2);
        }
        rows[_count] = record;
        _index[record.Id] = _count;
        Volatile.Write(ref _rows, rows);
        Volatile.Write(ref _count, _count + 1);
        if (record.IsDeleted)
        {
            DeletedCount++;
        }
        else
        {
            LiveCount++;
        }
    }

    /// <summary>Pre-sizes the row array before a bulk seed, so a million appends do not re-copy it.</summary>
    public void EnsureCapacity(int capacity)
    {
        if (_rows.Length < capacity)
        {
            var rows = _rows;
            Array.Resize(ref rows, capacity);
            Volatile.Write(ref _rows, rows);
        }
    }

    /// <summary>
    /// Takes back a record <see cref="Append"/> added (a rolled-back composite request): its slot becomes empty, as after
    /// a purge, so readers skip it. Returns false when the slot no longer holds that record.
    /// </summary>
    public bool Remove(Record appended)
    {
        if (!_index.TryGetValue(appended.Id, out var slot) || _rows[slot] != appended)
        {
            return false;
        }
        _rows[slot] = null;
        _index.TryRemove(appended.Id, out _);
        if (appended.IsDeleted)
        {
            DeletedCount--;
        }
        else
        {
            LiveCount--;
        }
        return true;
    }

    public void Replace(Record current, Record next)
    {
        var slot = _index[current.Id];
        _rows[slot] = next;
        if (current.IsDeleted != next.IsDeleted)
        {
            LiveCount += next.IsDeleted ? -1 : 1;
            DeletedCount += next.IsDeleted ? 1 : -1;
        }
    }

    /// <summary>
    /// Physically removes recycle-bin records deleted before <paramref name="cutoff"/> (Salesforce
    /// empties the recycle bin after 15 days). Publishes a compacted array; returns how many were removed.
    /// </summary>
    public int Purge(DateTime cutoff)
    {
        var removed = 0;
        for (var i = 0; i < _count; i++)
        {
            if (_rows[i] is { DeletedDate: { } d } && d < cutoff)
            {
                removed++;
            }
        }
        if (removed == 0)
        {
            return 0;
        }
        var next = new Record?[Math.Max(64, _rows.Length)];
        var n = 0;
        var index = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < _count; i++)
        {
            var record = _rows[i]!;
            if (record.DeletedDate is { } d && d < cutoff)
            {
                continue;
            }
            next[n] = record;
            index[record.Id] = n++;
        }
        Volatile.Write(ref _index, index);
        Volatile.Write(ref _rows, next);
        Volatile.Write(ref _count, n);
        DeletedCount -= removed;
        return removed;
    }
}
