using Sequin.Sandbox.Salesforce.Store;

namespace Sequin.Sandbox.Salesforce.Writes;

/// <summary>
/// What one composite request changed, in order: each entry is the version a write replaced (null for a create) and
/// the version it stored. <see cref="Rollback"/> restores the replaced versions newest first (Composite with
/// <c>allOrNone: true</c>, REST API Developer Guide "Composite").
/// </summary>
internal sealed class UndoLog
{
    private readonly List<(Table Table, Record? Before, Record After)> _entries = [];

    public void Add(Table table, Record? before, Record after)
    {
        lock (_entries)
        {
            _entries.Add((table, before, after));
        }
    }

    /// <summary>Undoes every recorded write whose stored version is still current (a later writer's change is kept).</summary>
    public void Rollback(Org org)
    {
        lock (org.WriteGate)
        {
            for (var i = _entries.Count - 1; i >= 0; i--)
            {
                var (table, before, after) = _entries[i];
                if (table.Find(after.Id) != after)
                {
                    continue;
                }
                if (before is null)
                {
                    table.Remove(after);
                }
                else
                {
                    table.Replace(after, before);
                }
            }
            _entries.Clear();
        }
    }
}
