using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Sequin.Proxy.Protocol;
using Sequin.Proxy.Writes;

namespace Sequin.Proxy;

/// <summary>
/// Upstream-set values (docs/proxy.md "Upstream-set values", ADR 0012, ADR 0013): the written records are read back
/// with the write itself (one upstream request per table and operation) and every synced column is written into the
/// rows before the commit — CreatedDate, SystemModstamp, defaults, formulas — so the committed row and the
/// statement's RETURNING rows equal the upstream record. A failed read-back never fails the statement: the upstream
/// write persisted, so it commits with the ids alone and warns.
/// </summary>
internal sealed partial class ProxySession
{
    private sealed class ReadBackResult
    {
        /// <summary>Records read back, by table oid.</summary>
        public Dictionary<uint, (SyncedTable Table, IReadOnlyList<UpstreamRecord> Records)> Records { get; } = [];

        /// <summary>Tables whose values could not be read back or stored.</summary>
        public List<SyncedTable> Tables { get; } = [];

        public string? Failure { get; set; }

        /// <summary>Adds what one write group read back: its records (merged per table) or why it could not.</summary>
        public void Add(SyncedTable table, IReadOnlyList<UpstreamRecord> records, string? failure)
        {
            if (failure is not null)
            {
                Tables.Add(table);
                Failure = (Failure is null ? "" : Failure + "; ") + $"{table.Schema}.{table.Name}: {failure}";
                return;
            }

            if (records.Count > 0)
            {
                Records[table.Oid] = Records.TryGetValue(table.Oid, out var earlier) ? (table, [.. earlier.Records, .. records]) : (table, records);
            }
        }
    }

    /// <summary>The temporary ids of inserted rows replaced by the upstream's, one UPDATE per table.</summary>
    private static IEnumerable<InternalStatement> IdWriteBack(IEnumerable<(SyncedTable Table, string OldId, string NewId)> idMap)
    {
        foreach (var (table, pairs) in idMap.GroupBy(p => p.Table.Oid).Select(g => (g.First().Table, g.ToList())))
        {
            var values = string.Join(", ", pairs.Select(p => $"({Literal(p.OldId)}, {Literal(p.NewId)})"));
            yield return $"update {Ident(table.Schema)}.{Ident(table.Name)} as t set id = v.new_id from (values {values}) as v(old_id, new_id) where t.id = v.old_id";
        }
    }

    /// <summary>
    /// The sync polls while the proxy writes: a record this statement created upstream may already have been copied
    /// into the table by a poll (under its upstream id, next to the row with the temporary id) before the write-back.
    /// The write-back then fails on the primary key (23505; a copy the sync has not committed yet makes it wait for
    /// that commit first), and runs again with that copy deleted first: the statement's own row takes its place with
    /// the same or newer values.
    /// </summary>
    /// <summary>
    /// Puts the capture trigger in write-back mode for the rest of the wrapper: the proxy's own writes (ids and values
    /// the upstream accepted, dropping a sync's copy of a created record) are neither captured nor tombstoned. The
    /// disarm that follows ends it; a rollback to an earlier savepoint undoes it.
    /// </summary>
    private static InternalStatement WriteBackModeSql(string armed) =>
        armed.StartsWith("armed:", StringComparison.Ordinal) && armed.AsSpan(6).IndexOfAnyExceptInRange('0', '9') < 0 && armed.Length > 6
            ? $"set local sequin.capture = 'write-back:{armed[6..]}'"
            : throw new InvalidOperationException($"unexpected capture arming '{armed}'");

    // In write-back mode (WriteBackModeSql): the record exists upstream, so its copy must not leave a delete tombstone
    // (ADR 0007), or the sync would drop the record's next read as a raced, pre-delete version.
    private static IEnumerable<InternalStatement> DropSyncCopies(IEnumerable<(SyncedTable Table, string OldId, string NewId)> idMap) =>
        idMap.GroupBy(p => p.Table.Oid)
            .Select(g => (InternalStatement)$"delete from {Ident(g.First().Table.Schema)}.{Ident(g.First().Table.Name)} where id in ({string.Join(", ", g.Select(p => Literal(p.NewId)))})");

    /// <summary>
    /// One statement's write-back: the UPDATEs that store the records read back (ids included), and their RETURNING
    /// values in the formats of the client's own result columns, to put into the client's RETURNING rows.
    /// </summary>
    private sealed class WriteBack(Dictionary<uint, (SyncedTable Table, IReadOnlyList<UpstreamRecord> Records)> records, ClientResults results)
    {
        // Per table: (attnum, format) → position in the RETURNING row; rows by old and new id.
        private readonly Dictionary<uint, Dictionary<(short Attnum, short Format), int>> _positions = [];
        private readonly Dictionary<(uint Table, string Id), List<byte[]?>> _rows = [];
        private readonly Dictionary<uint, List<byte[]?>?> _single = []; // null: more than one row

        public bool HasRows => _rows.Count > 0;

        /// <summary>The write-back statements; with <paramref name="dropSyncCopies"/>, the sync's copies of created records are dropped first.</summary>
        public IEnumerable<InternalStatement> Statements(List<(SyncedTable Table, string OldId, string NewId)> idMap, bool dropSyncCopies)
        {
            foreach (var statement in dropSyncCopies ? DropSyncCopies(idMap) : [])
            {
                yield return statement;
            }

            var covered = new HashSet<(uint, string)>();
            foreach (var (oid, (table, read)) in records)
            {
                var oldIds = idMap.Where(p => p.Table.Oid == oid).ToDictionary(p => p.NewId, p => p.OldId, StringComparer.Ordinal);
                var columns = new HashSet<string>(table.Attributes.Values, StringComparer.Ordinal);
                var set = new List<string>();
                var json = new ArrayBufferWriter<byte>();
                using (var w = new Utf8JsonWriter(json))
                {
                    w.WriteStartArray();
                    foreach (var record in read)
                    {
                        covered.Add((oid, record.Id));
                        w.WriteStartObject();
                        w.WriteString("o", oldIds.GetValueOrDefault(record.Id, record.Id));
                        w.WriteString("n", record.Id);
                        w.WritePropertyName("r");
                        record.Columns.WriteTo(w);
                        w.WriteEndObject();
                        foreach (var p in record.Columns.EnumerateObject())
                        {
                            if (p.Name != "id" && columns.Contains(p.Name) && !set.Contains(p.Name))
                            {
                                set.Add(p.Name);
                            }
                        }
                    }

                    w.WriteEndArray();
                }

                var qualified = $"{Ident(table.Schema)}.{Ident(table.Name)}";
                var sql = new StringBuilder($"update {qualified} as t set id = v.n");
                foreach (var column in set)
                {
                    sql.Append(", ").Append(Ident(column)).Append(" = u.").Append(Ident(column));
                }

                // The records go as the parameter, so the text depends only on the table, columns and RETURNING shape:
                // the statement is kept prepared and planned once per session (planning it took ≈ 0.7 ms per write).
                var parameter = Encoding.UTF8.GetString(json.WrittenSpan);
                // The rows are found through the primary key: the generic plan estimates 100 records for the recordset
                // and, on a table of some ten thousand rows, hash-joined them with a sequential scan of the whole table
                // (≈ 1 ms per write at 11,000 rows). `t.id = any(<the old ids>)` is an index condition at any size.
                sql.Append(CultureInfo.InvariantCulture, $" from jsonb_to_recordset($1::jsonb) as v(o text, n text, r jsonb), ")
                    .Append(CultureInfo.InvariantCulture, $"jsonb_populate_record(null::{qualified}, v.r) as u where t.id = v.o")
                    .Append(" and t.id = any(array(select e->>'o' from jsonb_array_elements($1::jsonb) as e))");

                // The client's result columns of this table, in their formats, for its RETURNING rows.
                var needed = results.Columns(oid).Where(c => table.Attributes.ContainsKey(c.Attnum)).ToList();
                if (needed.Count == 0)
                {
                    yield return new InternalStatement(sql.ToString(), null, parameter);
                    continue;
                }

                var positions = new Dictionary<(short, short), int>();
                sql.Append(CultureInfo.InvariantCulture, $" returning {oid}, v.o, v.n");
                var formats = new short[3 + needed.Count];
                for (var i = 0; i < needed.Count; i++)
                {
                    sql.Append(", t.").Append(Ident(table.Attributes[needed[i].Attnum]));
                    formats[3 + i] = needed[i].Format;
                    positions[needed[i]] = 3 + i;
                }

                _positions[oid] = positions;
                yield return new InternalStatement(sql.ToString(), formats, parameter);
            }

            foreach (var statement in IdWriteBack(idMap.Where(p => !covered.Contains((p.Table.Oid, p.NewId)))))
            {
                yield return statement;
            }
        }

        /// <summary>Takes the RETURNING rows of the write-back UPDATEs from their frames.</summary>
        public void Read(List<Frame> frames)
        {
            foreach (var f in frames.Where(f => f.Type == BackendMessageCode.DataRow))
            {
                var values = f.DataRowValues();
                var oid = uint.Parse(Frame.Text(values[0])!, CultureInfo.InvariantCulture);
                _rows[(oid, Frame.Text(values[1])!)] = values;
                _rows[(oid, Frame.Text(values[2])!)] = values;
                if (!_single.TryAdd(oid, values))
                {
                    _single[oid] = null;
                }
            }
        }

        /// <summary>
        /// Puts the stored values into one of the client's DataRows: each column that is a column of a written table
        /// gets the value of the row with the same id (the row's id column), or — when the client's row has no id column
        /// and is the single row of an INSERT/UPDATE … RETURNING (<paramref name="soleReturningRow"/>) — of the only row
        /// written to that table. Other rows are left as Postgres produced them.
        /// </summary>
        public void Apply(RowShape? shape, List<byte[]?> values, bool soleReturningRow)
        {
            if (shape is null || _rows.Count == 0)
            {
                return;
            }

            foreach (var (oid, positions) in _positions)
            {
                if (!records.TryGetValue(oid, out var entry))
                {
                    continue;
                }

                List<byte[]?>? row = null;
                var found = false;
                for (var i = 0; i < shape.TableOids.Length && i < values.Count; i++)
                {
                    if (shape.TableOids[i] == oid && entry.Table.Attributes.GetValueOrDefault(shape.Attnums[i]) == "id" && values[i] is { } id)
                    {
                        found = true;
                        _rows.TryGetValue((oid, Encoding.UTF8.GetString(id)), out row);
                        break;
                    }
                }

                if (!found && soleReturningRow)
                {
                    row = _single.GetValueOrDefault(oid);
                }

                if (row is null)
                {
                    continue;
                }

                for (var i = 0; i < shape.TableOids.Length && i < values.Count; i++)
                {
                    if (shape.TableOids[i] == oid && positions.TryGetValue((shape.Attnums[i], shape.Formats[i]), out var p))
                    {
                        values[i] = row[p];
                    }
                }
            }
        }
    }

    /// <summary>The columns of a RowDescription: source table oid, attribute number and format of each.</summary>
    private sealed record RowShape(uint[] TableOids, short[] Attnums, short[] Formats)
    {
        public static RowShape Parse(byte[] body)
        {
            var count = BinaryPrimitives.ReadInt16BigEndian(body);
            var oids = new uint[count];
            var attnums = new short[count];
            var formats = new short[count];
            var p = 2;
            for (var i = 0; i < count; i++)
            {
                p = Array.IndexOf(body, (byte)0, p) + 1; // field name
                oids[i] = BinaryPrimitives.ReadUInt32BigEndian(body.AsSpan(p));
                attnums[i] = BinaryPrimitives.ReadInt16BigEndian(body.AsSpan(p + 4));
                formats[i] = BinaryPrimitives.ReadInt16BigEndian(body.AsSpan(p + 16));
                p += 18; // table oid 4, attnum 2, type oid 4, typlen 2, typmod 4, format 2
            }

            return new RowShape(oids, attnums, formats);
        }
    }

    /// <summary>
    /// The backend's answer to the client's statement with the answers to the proxy's own Describes of portals
    /// removed, and for each DataRow the RowDescription it belongs to (from the client's Describe, the proxy's, or a
    /// simple Query's own).
    /// </summary>
    private sealed record ClientResults(List<Frame> Frames, RowShape?[] Shapes)
    {
        public static ClientResults From(List<Frame> frames, List<bool>? injectedDescribes)
        {
            var clean = new List<Frame>(frames.Count);
            var shapes = new List<RowShape?>(frames.Count);
            RowShape? current = null;
            var bind = -1;
            var hidden = false;
            var statementDescribe = false;
            foreach (var f in frames)
            {
                if (statementDescribe && f.Type is BackendMessageCode.RowDescription or BackendMessageCode.NoData)
                {
                    // The answer to a Describe of a prepared statement (ParameterDescription first) between Bind and
                    // Execute: its columns are all text (a statement has no result formats yet), so it must not
                    // replace the portal's shape, which the rows come in.
                    statementDescribe = false;
                    clean.Add(f);
                    shapes.Add(null);
                    continue;
                }

                statementDescribe = f.Type == BackendMessageCode.ParameterDescription;
                switch (f.Type)
                {
                    case BackendMessageCode.BindComplete:
                        bind++;
                        hidden = injectedDescribes is not null && bind < injectedDescribes.Count && injectedDescribes[bind];
                        current = null;
                        break;
                    case BackendMessageCode.RowDescription:
                        current = RowShape.Parse(f.Body);
                        if (hidden)
                        {
                            hidden = false;
                            continue;
                        }

                        break;
                    case BackendMessageCode.NoData:
                        current = null;
                        if (hidden)
                        {
                            hidden = false;
                            continue;
                        }

                        break;
                }

                clean.Add(f);
                shapes.Add(f.Type == BackendMessageCode.DataRow ? current : null);
            }

            return new ClientResults(clean, [.. shapes]);
        }

        /// <summary>Distinct (attnum, format) of the result columns from <paramref name="tableOid"/> that came with rows.</summary>
        public IEnumerable<(short Attnum, short Format)> Columns(uint tableOid) =>
            Shapes.OfType<RowShape>().Distinct()
                .SelectMany(s => s.TableOids.Select((oid, i) => (oid, s.Attnums[i], s.Formats[i])))
                .Where(c => c.oid == tableOid && c.Item2 > 0)
                .Select(c => (c.Item2, c.Item3))
                .Distinct();
    }
}
