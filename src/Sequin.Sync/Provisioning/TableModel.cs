using Sequin.Sources;

namespace Sequin.Sync.Provisioning;

/// <summary>A synced column: the upstream field and its Postgres name and shape.</summary>
/// <param name="Name">Column name (snake_case of the field).</param>
/// <param name="Field">The upstream field.</param>
internal sealed record ColumnModel(string Name, SourceField Field)
{
    public string SqlType => PgTypes.SqlType(Field.Kind);
}

/// <summary>
/// The shape of one synced table: <c>id</c> plus <see cref="Columns"/> (in the order values are read), and the
/// system columns <c>_sync_inserted_at</c>, <c>_sync_updated_at</c>.
/// </summary>
internal sealed record TableModel(string Schema, string Table, string Object, string Source, Guid SyncId,
    IReadOnlyList<ColumnModel> Columns, int VersionIndex)
{
    public string Qualified => Naming.Qualified(Schema, Table);

    /// <summary>Fields to read, aligned with <see cref="Columns"/>.</summary>
    public IReadOnlyList<SourceField> Fields => [.. Columns.Select(c => c.Field)];

    public ColumnModel? VersionColumn => VersionIndex >= 0 ? Columns[VersionIndex] : null;

    /// <summary>
    /// Builds the model from the describe and the selection (null: every field). The id field maps to <c>id</c>;
    /// the version field is always included; names that collide get a numeric suffix. Columns that already exist keep
    /// their name (<paramref name="existingColumns"/>: field → column), so an upstream rename never renames a column.
    /// </summary>
    public static TableModel Build(string schema, string table, string source, Guid syncId, SourceObject describe, IReadOnlyCollection<string>? selected,
        IReadOnlyDictionary<string, string>? existingColumns = null)
    {
        var wanted = selected is null ? null : new HashSet<string>(selected, StringComparer.OrdinalIgnoreCase);
        var used = new HashSet<string>(StringComparer.Ordinal) { "id", "_sync_inserted_at", "_sync_updated_at" };
        foreach (var existing in existingColumns?.Values ?? [])
        {
            used.Add(existing);
        }

        var columns = new List<ColumnModel>();
        var version = -1;
        foreach (var field in describe.Fields)
        {
            if (string.Equals(field.Name, describe.IdField, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            var isVersion = string.Equals(field.Name, describe.VersionField, StringComparison.OrdinalIgnoreCase);
            if (wanted is not null && !wanted.Contains(field.Name) && !isVersion)
            {
                continue;
            }

            string unique;
            if (existingColumns is not null && existingColumns.TryGetValue(field.Name, out var kept))
            {
                unique = kept;
            }
            else
            {
                var name = Naming.SnakeCase(field.Name);
                unique = name;
                for (var n = 2; !used.Add(unique); n++)
                {
                    unique = Naming.Limit($"{name}_{n}");
                }
            }

            if (isVersion)
            {
                version = columns.Count;
            }

            columns.Add(new ColumnModel(unique, field));
        }

        return new TableModel(schema, table, describe.Name, source, syncId, columns, version);
    }
}
