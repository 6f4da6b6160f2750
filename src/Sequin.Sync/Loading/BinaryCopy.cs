using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Npgsql;
using Sequin.Sources;

namespace Sequin.Sync.Loading;

/// <summary>
/// Writes records as Postgres binary COPY rows (<c>id</c>, then one value per column) straight into a pooled buffer
/// and sends it through a raw COPY stream. This is the loader's hot path: encoding each value here costs a fraction
/// of going through one parameter binding per value. Values must have the CLR type of their column's
/// <see cref="FieldKind"/> (see <see cref="SourceRecord"/>); any other type fails the COPY, and so the page.
/// Formats: PostgreSQL "COPY" (binary format) and the types' send functions (text, bool, int4, int8, numeric, date,
/// timestamptz, time, jsonb, text[]), with Npgsql's conventions for infinities (Min/MaxValue).
/// </summary>
internal static class BinaryCopy
{
    private const long PostgresEpochTicks = 630_822_816_000_000_000; // 2000-01-01T00:00:00Z
    private const int PostgresEpochDayNumber = 730_119; // DateOnly(2000, 1, 1).DayNumber
    private const int TextOid = 25;
    private const int FlushAt = 64 << 10;

    /// <summary>The signature of binary COPY data: <c>PGCOPY\n\377\r\n\0</c>.</summary>
    private static ReadOnlySpan<byte> Header => [(byte)'P', (byte)'G', (byte)'C', (byte)'O', (byte)'P', (byte)'Y', (byte)'\n', 0xFF, (byte)'\r', (byte)'\n', 0];

    /// <summary>
    /// Runs <paramref name="copySql"/> (<c>copy … from stdin (format binary)</c>) with the records. Errors of the server
    /// (a duplicate key, a value it refuses) surface as <see cref="PostgresException"/> when the COPY ends; an error
    /// while encoding cancels the COPY. Either way nothing of it stays, and the transaction is the caller's.
    /// </summary>
    public static async Task WriteAsync(NpgsqlConnection connection, string copySql, IReadOnlyList<SourceRecord> records, FieldKind[] kinds,
        CancellationToken cancellationToken)
    {
        var stream = await connection.BeginRawBinaryCopyAsync(copySql, cancellationToken);
        var buffer = ArrayPool<byte>.Shared.Rent(FlushAt * 2);
        try
        {
            var position = 0;
            Header.CopyTo(buffer);
            position += Header.Length;
            BinaryPrimitives.WriteInt32BigEndian(buffer.AsSpan(position), 0); // flags
            BinaryPrimitives.WriteInt32BigEndian(buffer.AsSpan(position + 4), 0); // header extension length
            position += 8;
            foreach (var record in records)
            {
                var bound = RowBound(record, kinds);
                if (position + bound > buffer.Length || position >= FlushAt)
                {
                    await stream.WriteAsync(buffer.AsMemory(0, position), cancellationToken);
                    position = 0;
                    if (bound > buffer.Length)
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = ArrayPool<byte>.Shared.Rent(bound);
                    }
                }

                position = WriteRow(buffer, position, record, kinds);
            }

            if (position + 2 > buffer.Length)
            {
                await stream.WriteAsync(buffer.AsMemory(0, position), cancellationToken);
                position = 0;
            }

            BinaryPrimitives.WriteInt16BigEndian(buffer.AsSpan(position), -1); // trailer
            position += 2;
            await stream.WriteAsync(buffer.AsMemory(0, position), cancellationToken);
        }
        catch
        {
            try
            {
                await stream.CancelAsync();
                await stream.DisposeAsync();
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException or IOException)
            {
                // The connection is broken or the COPY already over: the transaction does not commit either way.
            }

            throw;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        await stream.DisposeAsync(); // ends the COPY: the server's verdict arrives here
    }

    /// <summary>An upper bound of a row's encoded size.</summary>
    private static int RowBound(SourceRecord record, FieldKind[] kinds)
    {
        var bound = 2 + 4 + Encoding.UTF8.GetMaxByteCount(record.Id.Length);
        var values = record.Values;
        for (var i = 0; i < kinds.Length; i++)
        {
            bound += 4 + (i < values.Length ? values[i] : null) switch
            {
                null => 0,
                string s => 1 + Encoding.UTF8.GetMaxByteCount(s.Length),
                string[] a => 20 + a.Sum(e => 4 + Encoding.UTF8.GetMaxByteCount(e?.Length ?? 0)),
                decimal => 8 + (2 * 16),
                _ => 8,
            };
        }

        return bound;
    }

    private static int WriteRow(byte[] buffer, int position, SourceRecord record, FieldKind[] kinds)
    {
        var span = buffer.AsSpan();
        BinaryPrimitives.WriteInt16BigEndian(span[position..], (short)(kinds.Length + 1));
        position += 2;
        position = WriteText(span, position, record.Id, jsonb: false);
        var values = record.Values;
        for (var i = 0; i < kinds.Length; i++)
        {
            var value = i < values.Length ? values[i] : null;
            if (value is null)
            {
                BinaryPrimitives.WriteInt32BigEndian(span[position..], -1);
                position += 4;
                continue;
            }

            position = (kinds[i], value) switch
            {
                (FieldKind.Text, string s) => WriteText(span, position, s, jsonb: false),
                (FieldKind.Json, string s) => WriteText(span, position, s, jsonb: true),
                (FieldKind.Timestamp, DateTime t) => WriteInt64(span, position, TimestampTz(t)),
                (FieldKind.Boolean, bool b) => WriteBool(span, position, b),
                (FieldKind.Numeric, decimal m) => WriteNumeric(span, position, m),
                (FieldKind.Date, DateOnly d) => WriteInt32(span, position, d == DateOnly.MinValue ? int.MinValue
                    : d == DateOnly.MaxValue ? int.MaxValue : d.DayNumber - PostgresEpochDayNumber),
                (FieldKind.Integer, int n) => WriteInt32(span, position, n),
                (FieldKind.BigInt, long n) => WriteInt64(span, position, n),
                (FieldKind.Time, TimeOnly t) => WriteInt64(span, position, t.Ticks / TimeSpan.TicksPerMicrosecond),
                (FieldKind.TextArray, string[] a) => WriteTextArray(span, position, a),
                _ => throw new InvalidCastException($"a {value.GetType().Name} value cannot be written to a {kinds[i]} column"),
            };
        }

        return position;
    }

    private static long TimestampTz(DateTime value)
    {
        if (value == DateTime.MinValue)
        {
            return long.MinValue;
        }

        if (value == DateTime.MaxValue)
        {
            return long.MaxValue;
        }

        if (value.Kind != DateTimeKind.Utc)
        {
            throw new InvalidCastException($"a timestamp with time zone needs a UTC DateTime, not {value.Kind}");
        }

        return (value.Ticks - PostgresEpochTicks) / TimeSpan.TicksPerMicrosecond;
    }

    private static int WriteText(Span<byte> span, int position, string value, bool jsonb)
    {
        var start = position + 4;
        if (jsonb)
        {
            span[start++] = 1; // jsonb binary format version
        }

        var length = Encoding.UTF8.GetBytes(value, span[start..]);
        BinaryPrimitives.WriteInt32BigEndian(span[position..], length + (jsonb ? 1 : 0));
        return start + length;
    }

    private static int WriteTextArray(Span<byte> span, int position, string[] values)
    {
        var start = position;
        position += 4;
        var hasNull = Array.IndexOf(values, null) >= 0;
        BinaryPrimitives.WriteInt32BigEndian(span[position..], values.Length == 0 ? 0 : 1); // dimensions
        BinaryPrimitives.WriteInt32BigEndian(span[(position + 4)..], hasNull ? 1 : 0);
        BinaryPrimitives.WriteInt32BigEndian(span[(position + 8)..], TextOid);
        position += 12;
        if (values.Length > 0)
        {
            BinaryPrimitives.WriteInt32BigEndian(span[position..], values.Length);
            BinaryPrimitives.WriteInt32BigEndian(span[(position + 4)..], 1); // lower bound
            position += 8;
            foreach (var element in values)
            {
                if (element is null)
                {
                    BinaryPrimitives.WriteInt32BigEndian(span[position..], -1);
                    position += 4;
                }
                else
                {
                    position = WriteText(span, position, element, jsonb: false);
                }
            }
        }

        BinaryPrimitives.WriteInt32BigEndian(span[start..], position - start - 4);
        return position;
    }

    /// <summary>
    /// numeric's binary form: digit count, weight (of the first base-10000 digit), sign, display scale, then the
    /// base-10000 digits without leading or trailing zero digits.
    /// </summary>
    private static int WriteNumeric(Span<byte> span, int position, decimal value)
    {
        Span<char> text = stackalloc char[64];
        (value < 0 ? -value : value).TryFormat(text, out var written, default, CultureInfo.InvariantCulture);
        text = text[..written];
        var point = text.IndexOf('.');
        var integer = point < 0 ? text : text[..point];
        var fraction = point < 0 ? [] : text[(point + 1)..];
        while (integer.Length > 0 && integer[0] == '0')
        {
            integer = integer[1..];
        }

        // Base-10000 digits: the integer part grouped from the point leftwards, the fraction from the point rightwards.
        Span<short> digits = stackalloc short[16];
        var count = 0;
        var head = integer.Length % 4;
        var weight = ((integer.Length + 3) / 4) - 1;
        for (var i = 0; i < integer.Length;)
        {
            var take = i == 0 && head > 0 ? head : 4;
            digits[count++] = (short)Group(integer.Slice(i, take), 0);
            i += take;
        }

        for (var i = 0; i < fraction.Length; i += 4)
        {
            var take = Math.Min(4, fraction.Length - i);
            digits[count++] = (short)Group(fraction.Slice(i, take), 4 - take);
        }

        // Leading zero digits (a value under 1) move the weight; trailing zero digits are dropped.
        var first = 0;
        while (first < count && digits[first] == 0)
        {
            first++;
            weight--;
        }

        var last = count;
        while (last > first && digits[last - 1] == 0)
        {
            last--;
        }

        var ndigits = last - first;
        if (ndigits == 0)
        {
            weight = 0;
        }

        BinaryPrimitives.WriteInt32BigEndian(span[position..], 8 + (2 * ndigits));
        BinaryPrimitives.WriteInt16BigEndian(span[(position + 4)..], (short)ndigits);
        BinaryPrimitives.WriteInt16BigEndian(span[(position + 6)..], (short)weight);
        BinaryPrimitives.WriteUInt16BigEndian(span[(position + 8)..], value < 0 && ndigits > 0 ? (ushort)0x4000 : (ushort)0);
        BinaryPrimitives.WriteInt16BigEndian(span[(position + 10)..], (short)fraction.Length);
        position += 12;
        for (var i = first; i < last; i++)
        {
            BinaryPrimitives.WriteInt16BigEndian(span[position..], digits[i]);
            position += 2;
        }

        return position;
    }

    /// <summary>The decimal digits as a number, times 10^<paramref name="pad"/> (a fraction group shorter than 4).</summary>
    private static int Group(ReadOnlySpan<char> digits, int pad)
    {
        var n = 0;
        foreach (var c in digits)
        {
            n = (n * 10) + (c - '0');
        }

        for (var i = 0; i < pad; i++)
        {
            n *= 10;
        }

        return n;
    }

    private static int WriteInt32(Span<byte> span, int position, int value)
    {
        BinaryPrimitives.WriteInt32BigEndian(span[position..], 4);
        BinaryPrimitives.WriteInt32BigEndian(span[(position + 4)..], value);
        return position + 8;
    }

    private static int WriteInt64(Span<byte> span, int position, long value)
    {
        BinaryPrimitives.WriteInt32BigEndian(span[position..], 8);
        BinaryPrimitives.WriteInt64BigEndian(span[(position + 4)..], value);
        return position + 12;
    }

    private static int WriteBool(Span<byte> span, int position, bool value)
    {
        BinaryPrimitives.WriteInt32BigEndian(span[position..], 1);
        span[position + 4] = value ? (byte)1 : (byte)0;
        return position + 5;
    }
}
