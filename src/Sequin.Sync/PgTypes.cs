using NpgsqlTypes;
using Sequin.Sources;

namespace Sequin.Sync;

/// <summary>The Postgres column type of each <see cref="FieldKind"/> (docs/sync.md "Type mapping").</summary>
public static class PgTypes
{
    public static string SqlType(FieldKind kind) => kind switch
    {
        FieldKind.Text => "text",
        FieldKind.TextArray => "text[]",
        FieldKind.Boolean => "boolean",
        FieldKind.Integer => "integer",
        FieldKind.BigInt => "bigint",
        FieldKind.Numeric => "numeric",
        FieldKind.Date => "date",
        FieldKind.Timestamp => "timestamp with time zone",
        FieldKind.Time => "time without time zone",
        FieldKind.Json => "jsonb",
        _ => "text",
    };

    public static NpgsqlDbType DbType(FieldKind kind) => kind switch
    {
        FieldKind.Text => NpgsqlDbType.Text,
        FieldKind.TextArray => NpgsqlDbType.Array | NpgsqlDbType.Text,
        FieldKind.Boolean => NpgsqlDbType.Boolean,
        FieldKind.Integer => NpgsqlDbType.Integer,
        FieldKind.BigInt => NpgsqlDbType.Bigint,
        FieldKind.Numeric => NpgsqlDbType.Numeric,
        FieldKind.Date => NpgsqlDbType.Date,
        FieldKind.Timestamp => NpgsqlDbType.TimestampTz,
        FieldKind.Time => NpgsqlDbType.Time,
        FieldKind.Json => NpgsqlDbType.Jsonb,
        _ => NpgsqlDbType.Text,
    };
}
