using Npgsql;
using Sequin.Sources;
using Sequin.Sync.Loading;
using Shouldly;

namespace Sequin.Sync.Tests;

/// <summary>The loader's own binary COPY encoding stores exactly what Npgsql's parameters store, for every column kind.</summary>
public sealed class BinaryCopyTests
{
    private static readonly FieldKind[] Kinds =
    [
        FieldKind.Text, FieldKind.TextArray, FieldKind.Boolean, FieldKind.Integer, FieldKind.BigInt, FieldKind.Numeric, FieldKind.Date,
        FieldKind.Timestamp, FieldKind.Time, FieldKind.Json,
    ];

    private static readonly object?[][] Rows =
    [
        ["Ada", new[] { "a", "b c" }, true, 1, 1L, 0m, new DateOnly(2000, 1, 1), new DateTime(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc), new TimeOnly(0, 0), "{}"],
        ["", Array.Empty<string>(), false, -1, long.MaxValue, 0.00m, new DateOnly(1999, 12, 31), new DateTime(1999, 12, 31, 23, 59, 59, 999, DateTimeKind.Utc).AddTicks(9999),
            new TimeOnly(23, 59, 59, 999, 999), """{"city": "Oslo", "lat": 59.9}"""],
        ["Åsa Ünïcødé — 漢字 🎉", new[] { "x;y", "" }, null, int.MinValue, long.MinValue, -12345.678m, new DateOnly(1, 1, 1).AddDays(1), new DateTime(1900, 2, 28, 12, 0, 0, DateTimeKind.Utc),
            new TimeOnly(12, 34, 56, 789), "[1, 2, 3]"],
        [null, null, true, int.MaxValue, 0L, 79228162514264337593543950335m, new DateOnly(9999, 12, 30), new DateTime(2026, 11, 22, 4, 5, 6, 7, DateTimeKind.Utc),
            null, null],
        ["it's \"quoted\"\\n", new[] { "only" }, false, 0, 42L, -79228162514264337593543950335m, DateOnly.MinValue, DateTime.MinValue, TimeOnly.MinValue, "null"],
        [new string('x', 200_000), null, null, null, null, 0.0000000000000000000000000001m, DateOnly.MaxValue, DateTime.MaxValue, null, "\"text\""],
        ["n", null, null, null, null, 10000m, null, DateTime.SpecifyKind(new DateTime(2024, 5, 8, 21, 20, 0, 123), DateTimeKind.Utc), null, null],
        ["n", null, null, null, null, 0.0001m, null, null, null, null],
        ["n", null, null, null, null, 0.00010m, null, null, null, null],
        ["n", null, null, null, null, 1.5m, null, null, null, null],
        ["n", null, null, null, null, -0.5m, null, null, null, null],
        ["n", null, null, null, null, 100000000.00000001m, null, null, null, null],
        ["n", null, null, null, null, 123456789012345678.9012345678m, null, null, null, null],
        ["n", null, null, null, null, 1234.5678m, null, null, null, null],
        ["n", null, null, null, null, 9999.9999m, null, null, null, null],
        ["n", null, null, null, null, 10000.0001m, null, null, null, null],
        ["n", null, null, null, null, -0.0001m, null, null, null, null],
        ["n", null, null, null, null, 0.1m, null, null, null, null],
        ["n", null, null, null, null, 1e-28m * 123456789, null, null, null, null],
    ];

    [Fact]
    public async Task EveryKind_StoresWhatNpgsqlParametersStore()
    {
        var destination = await Destination.CreateAsync();
        await using var connection = new NpgsqlConnection(destination);
        await connection.OpenAsync();
        var columns = string.Join(", ", Kinds.Select((k, i) => $"c{i} {PgTypes.SqlType(k)}"));
        await using (var create = new NpgsqlCommand($"create table copied (id text primary key, {columns}); create table reference (id text primary key, {columns})", connection))
        {
            await create.ExecuteNonQueryAsync();
        }

        var records = Rows.Select((values, i) => new SourceRecord($"r{i:D2}", values, null)).ToList();
        var list = "id, " + string.Join(", ", Kinds.Select((_, i) => $"c{i}"));
        await BinaryCopy.WriteAsync(connection, $"copy copied ({list}) from stdin (format binary)", records, Kinds, default);

        foreach (var record in records)
        {
            await using var insert = new NpgsqlCommand($"insert into reference ({list}) values ($1, {string.Join(", ", Kinds.Select((_, i) => $"${i + 2}"))})", connection);
            insert.Parameters.AddWithValue(record.Id);
            for (var i = 0; i < Kinds.Length; i++)
            {
                insert.Parameters.AddWithValue(PgTypes.DbType(Kinds[i]), record.Values[i] ?? DBNull.Value);
            }

            await insert.ExecuteNonQueryAsync();
        }

        var copied = await ReadAsync(connection, "copied");
        var reference = await ReadAsync(connection, "reference");
        copied.Count.ShouldBe(Rows.Length);
        for (var i = 0; i < Rows.Length; i++)
        {
            copied[i].ShouldBe(reference[i], $"row {i}");
        }
    }

    [Fact]
    public async Task AValueOfTheWrongType_FailsTheCopy_AndNothingOfItStays()
    {
        var destination = await Destination.CreateAsync();
        await using var connection = new NpgsqlConnection(destination);
        await connection.OpenAsync();
        await using (var create = new NpgsqlCommand("create table t (id text primary key, n integer)", connection))
        {
            await create.ExecuteNonQueryAsync();
        }

        SourceRecord[] records = [new("a", [1], null), new("b", ["one"], null)];
        await Should.ThrowAsync<InvalidCastException>(() => BinaryCopy.WriteAsync(connection, "copy t (id, n) from stdin (format binary)", records, [FieldKind.Integer], default));
        await using var count = new NpgsqlCommand("select count(*) from t", connection);
        ((long)(await count.ExecuteScalarAsync())!).ShouldBe(0);
    }

    private static async Task<List<string>> ReadAsync(NpgsqlConnection connection, string table)
    {
        var rows = new List<string>();
        await using var cmd = new NpgsqlCommand($"select t::text from {table} t order by id", connection);
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add(reader.GetString(0));
        }

        return rows;
    }
}
