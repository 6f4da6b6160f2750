using System.Buffers.Binary;
using System.Text;

namespace Sequin.Proxy.Protocol;

/// <summary>A whole backend message copied out of the stream (slow path: write handling and startup only).</summary>
internal readonly record struct Frame(byte Code, byte[] Body)
{
    public BackendMessageCode Type => (BackendMessageCode)Code;

    /// <summary>Transaction status of a ReadyForQuery.</summary>
    public TransactionStatus Status => (TransactionStatus)Body[0];

    /// <summary>Field values of a DataRow (null = SQL NULL).</summary>
    public List<byte[]?> DataRowValues()
    {
        var count = BinaryPrimitives.ReadInt16BigEndian(Body);
        var values = new List<byte[]?>(count);
        var p = 2;
        for (var i = 0; i < count; i++)
        {
            var len = BinaryPrimitives.ReadInt32BigEndian(Body.AsSpan(p));
            p += 4;
            if (len < 0)
            {
                values.Add(null);
                continue;
            }

            values.Add(Body.AsSpan(p, len).ToArray());
            p += len;
        }

        return values;
    }

    /// <summary>Text of a DataRow field, or null.</summary>
    public static string? Text(byte[]? value) => value is null ? null : Encoding.UTF8.GetString(value);

    /// <summary>CommandComplete tag.</summary>
    public string Tag => Encoding.UTF8.GetString(Body.AsSpan(0, Math.Max(0, Body.Length - 1)));

    /// <summary>Fields of an ErrorResponse/NoticeResponse keyed by field code.</summary>
    public Dictionary<char, string> ErrorFields()
    {
        var fields = new Dictionary<char, string>();
        var p = 0;
        while (p < Body.Length && Body[p] != 0)
        {
            var code = (char)Body[p++];
            var end = Array.IndexOf(Body, (byte)0, p);
            if (end < 0)
            {
                break;
            }

            fields[code] = Encoding.UTF8.GetString(Body, p, end - p);
            p = end + 1;
        }

        return fields;
    }
}
