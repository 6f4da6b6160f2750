using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Sequin.Proxy.Protocol;

/// <summary>
/// Writes the protocol messages the proxy produces itself into a buffer writer. Each message is
/// type byte + Int32 length (counting itself, not the type) + body ("Message Formats" of the PostgreSQL docs).
/// </summary>
internal static class MessageWriter
{
    private static readonly UTF8Encoding Utf8 = new(false);

    /// <summary>One field of an ErrorResponse/NoticeResponse: code byte + value.</summary>
    internal readonly record struct Field(byte Code, string Value);

    public static void WriteAuthenticationOk(IBufferWriter<byte> w) => WriteAuth(w, 0, []);

    /// <summary>AuthenticationSASL (10): the mechanism list, each a C string, ending with an empty string.</summary>
    public static void WriteAuthenticationSasl(IBufferWriter<byte> w)
    {
        ReadOnlySpan<byte> mechanisms = "SCRAM-SHA-256\0\0"u8;
        WriteAuth(w, 10, mechanisms);
    }

    public static void WriteAuthenticationSaslContinue(IBufferWriter<byte> w, ReadOnlySpan<byte> data) => WriteAuth(w, 11, data);

    public static void WriteAuthenticationSaslFinal(IBufferWriter<byte> w, ReadOnlySpan<byte> data) => WriteAuth(w, 12, data);

    private static void WriteAuth(IBufferWriter<byte> w, int code, ReadOnlySpan<byte> data)
    {
        var span = w.GetSpan(9 + data.Length);
        span[0] = (byte)BackendMessageCode.AuthenticationRequest;
        BinaryPrimitives.WriteInt32BigEndian(span[1..], 4 + 4 + data.Length); // length + auth code + data
        BinaryPrimitives.WriteInt32BigEndian(span[5..], code);
        data.CopyTo(span[9..]);
        w.Advance(9 + data.Length);
    }

    public static void WriteParameterStatus(IBufferWriter<byte> w, string name, string value)
    {
        var n = Utf8.GetByteCount(name);
        var v = Utf8.GetByteCount(value);
        var total = 1 + 4 + n + 1 + v + 1;
        var span = w.GetSpan(total);
        span[0] = (byte)BackendMessageCode.ParameterStatus;
        BinaryPrimitives.WriteInt32BigEndian(span[1..], total - 1);
        var p = 5;
        p += Utf8.GetBytes(name, span[p..]);
        span[p++] = 0;
        p += Utf8.GetBytes(value, span[p..]);
        span[p] = 0;
        w.Advance(total);
    }

    public static void WriteBackendKeyData(IBufferWriter<byte> w, int processId, int secretKey)
    {
        var span = w.GetSpan(13);
        span[0] = (byte)BackendMessageCode.BackendKeyData;
        BinaryPrimitives.WriteInt32BigEndian(span[1..], 12); // length + pid + key
        BinaryPrimitives.WriteInt32BigEndian(span[5..], processId);
        BinaryPrimitives.WriteInt32BigEndian(span[9..], secretKey);
        w.Advance(13);
    }

    public static void WriteReadyForQuery(IBufferWriter<byte> w, TransactionStatus status)
    {
        var span = w.GetSpan(6);
        span[0] = (byte)BackendMessageCode.ReadyForQuery;
        BinaryPrimitives.WriteInt32BigEndian(span[1..], 5);
        span[5] = (byte)status;
        w.Advance(6);
    }

    /// <summary>NegotiateProtocolVersion: newest minor version supported + the options not recognised.</summary>
    public static void WriteNegotiateProtocolVersion(IBufferWriter<byte> w, int minorVersion, IReadOnlyList<string> options)
    {
        var total = 1 + 4 + 4 + 4 + options.Sum(o => Utf8.GetByteCount(o) + 1);
        var span = w.GetSpan(total);
        span[0] = (byte)BackendMessageCode.NegotiateProtocolVersion;
        BinaryPrimitives.WriteInt32BigEndian(span[1..], total - 1);
        BinaryPrimitives.WriteInt32BigEndian(span[5..], minorVersion);
        BinaryPrimitives.WriteInt32BigEndian(span[9..], options.Count);
        var p = 13;
        foreach (var o in options)
        {
            p += Utf8.GetBytes(o, span[p..]);
            span[p++] = 0;
        }

        w.Advance(total);
    }

    /// <summary>ErrorResponse ('E') or NoticeResponse ('N') with S, V, C, M and the extra fields given.</summary>
    public static void WriteErrorOrNotice(IBufferWriter<byte> w, BackendMessageCode code, string severity, string sqlState,
        string message, params ReadOnlySpan<Field> extra)
    {
        var total = 1 + 4 + 1;
        total += 2 * (2 + Utf8.GetByteCount(severity)) + 2 + sqlState.Length + 2 + Utf8.GetByteCount(message);
        foreach (var f in extra)
        {
            total += 2 + Utf8.GetByteCount(f.Value);
        }

        var span = w.GetSpan(total);
        span[0] = (byte)code;
        BinaryPrimitives.WriteInt32BigEndian(span[1..], total - 1);
        var p = 5;
        p = Put(span, p, (byte)'S', severity);
        p = Put(span, p, (byte)'V', severity);
        p = Put(span, p, (byte)'C', sqlState);
        p = Put(span, p, (byte)'M', message);
        foreach (var f in extra)
        {
            p = Put(span, p, f.Code, f.Value);
        }

        span[p] = 0;
        w.Advance(total);

        static int Put(Span<byte> span, int p, byte fieldCode, string value)
        {
            span[p++] = fieldCode;
            p += Utf8.GetBytes(value, span[p..]);
            span[p++] = 0;
            return p;
        }
    }

    public static void WriteError(IBufferWriter<byte> w, string severity, string sqlState, string message, params ReadOnlySpan<Field> extra) =>
        WriteErrorOrNotice(w, BackendMessageCode.ErrorResponse, severity, sqlState, message, extra);

    /// <summary>RowDescription of one text column (type oid 25, format text).</summary>
    public static void WriteRowDescriptionText(IBufferWriter<byte> w, string column)
    {
        var n = Utf8.GetByteCount(column);
        var total = 1 + 4 + 2 + n + 1 + 4 + 2 + 4 + 2 + 4 + 2;
        var span = w.GetSpan(total);
        span[0] = (byte)BackendMessageCode.RowDescription;
        BinaryPrimitives.WriteInt32BigEndian(span[1..], total - 1);
        BinaryPrimitives.WriteInt16BigEndian(span[5..], 1); // field count
        var p = 7 + Utf8.GetBytes(column, span[7..]);
        span[p++] = 0;
        BinaryPrimitives.WriteInt32BigEndian(span[p..], 0); // table oid
        BinaryPrimitives.WriteInt16BigEndian(span[(p + 4)..], 0); // attribute number
        BinaryPrimitives.WriteInt32BigEndian(span[(p + 6)..], 25); // type oid: text
        BinaryPrimitives.WriteInt16BigEndian(span[(p + 10)..], -1); // type size: varlena
        BinaryPrimitives.WriteInt32BigEndian(span[(p + 12)..], -1); // type modifier
        BinaryPrimitives.WriteInt16BigEndian(span[(p + 16)..], 0); // format: text
        w.Advance(total);
    }

    /// <summary>DataRow with the given text values (null → SQL NULL).</summary>
    public static void WriteDataRow(IBufferWriter<byte> w, IReadOnlyList<byte[]?> values)
    {
        var total = 1 + 4 + 2 + values.Sum(v => 4 + (v?.Length ?? 0));
        var span = w.GetSpan(total);
        span[0] = (byte)BackendMessageCode.DataRow;
        BinaryPrimitives.WriteInt32BigEndian(span[1..], total - 1);
        BinaryPrimitives.WriteInt16BigEndian(span[5..], (short)values.Count);
        var p = 7;
        foreach (var v in values)
        {
            BinaryPrimitives.WriteInt32BigEndian(span[p..], v?.Length ?? -1);
            p += 4;
            if (v is not null)
            {
                v.CopyTo(span[p..]);
                p += v.Length;
            }
        }

        w.Advance(total);
    }

    /// <summary>A message with an arbitrary body (used to re-emit buffered frames).</summary>
    public static void WriteRaw(IBufferWriter<byte> w, byte code, ReadOnlySpan<byte> body)
    {
        var span = w.GetSpan(5 + body.Length);
        span[0] = code;
        BinaryPrimitives.WriteInt32BigEndian(span[1..], 4 + body.Length);
        body.CopyTo(span[5..]);
        w.Advance(5 + body.Length);
    }

    /// <summary>Simple Query ('Q') with <paramref name="sql"/>.</summary>
    public static void WriteQuery(IBufferWriter<byte> w, string sql)
    {
        var n = Utf8.GetByteCount(sql);
        var span = w.GetSpan(6 + n);
        span[0] = FrontendMessageCode.Query;
        BinaryPrimitives.WriteInt32BigEndian(span[1..], 4 + n + 1);
        Utf8.GetBytes(sql, span[5..]);
        span[5 + n] = 0;
        w.Advance(6 + n);
    }

    public static void WriteSync(IBufferWriter<byte> w)
    {
        var span = w.GetSpan(5);
        span[0] = FrontendMessageCode.Sync;
        BinaryPrimitives.WriteInt32BigEndian(span[1..], 4);
        w.Advance(5);
    }

    /// <summary>Untyped StartupMessage (protocol 3.0) with the given parameters.</summary>
    public static void WriteStartup(IBufferWriter<byte> w, IEnumerable<KeyValuePair<string, string>> parameters)
    {
        var list = parameters.ToList();
        var total = 4 + 4 + list.Sum(kv => Utf8.GetByteCount(kv.Key) + 1 + Utf8.GetByteCount(kv.Value) + 1) + 1;
        var span = w.GetSpan(total);
        BinaryPrimitives.WriteInt32BigEndian(span, total);
        BinaryPrimitives.WriteInt32BigEndian(span[4..], StartupCode.Protocol30);
        var p = 8;
        foreach (var (k, v) in list)
        {
            p += Utf8.GetBytes(k, span[p..]);
            span[p++] = 0;
            p += Utf8.GetBytes(v, span[p..]);
            span[p++] = 0;
        }

        span[p] = 0;
        w.Advance(total);
    }

    /// <summary>Close ('C') of a prepared statement.</summary>
    public static void WriteCloseStatement(IBufferWriter<byte> w, string name) => WriteClose(w, (byte)'S', name);

    /// <summary>Close ('C') of a portal (closing one that does not exist is not an error).</summary>
    public static void WriteClosePortal(IBufferWriter<byte> w, string name) => WriteClose(w, (byte)'P', name);

    private static void WriteClose(IBufferWriter<byte> w, byte kind, string name)
    {
        var n = Utf8.GetByteCount(name);
        var span = w.GetSpan(7 + n);
        span[0] = FrontendMessageCode.Close;
        BinaryPrimitives.WriteInt32BigEndian(span[1..], 4 + 1 + n + 1); // length + kind + name
        span[5] = kind;
        Utf8.GetBytes(name, span[6..]);
        span[6 + n] = 0;
        w.Advance(7 + n);
    }

    /// <summary>Describe ('D') of a portal: the backend answers RowDescription (with the portal's result formats) or NoData.</summary>
    public static void WriteDescribePortal(IBufferWriter<byte> w, ReadOnlySpan<byte> portal)
    {
        var span = w.GetSpan(7 + portal.Length);
        span[0] = FrontendMessageCode.Describe;
        BinaryPrimitives.WriteInt32BigEndian(span[1..], 4 + 1 + portal.Length + 1); // length + 'P' + name
        span[5] = (byte)'P';
        portal.CopyTo(span[6..]);
        span[6 + portal.Length] = 0;
        w.Advance(7 + portal.Length);
    }

    /// <summary>Parse ('P') of a named statement without parameter types.</summary>
    public static void WriteParse(IBufferWriter<byte> w, string name, string sql)
    {
        var n = Utf8.GetByteCount(name);
        var q = Utf8.GetByteCount(sql);
        var total = 1 + 4 + n + 1 + q + 1 + 2;
        var span = w.GetSpan(total);
        span[0] = FrontendMessageCode.Parse;
        BinaryPrimitives.WriteInt32BigEndian(span[1..], total - 1);
        var p = 5 + Utf8.GetBytes(name, span[5..]);
        span[p++] = 0;
        p += Utf8.GetBytes(sql, span[p..]);
        span[p++] = 0;
        BinaryPrimitives.WriteInt16BigEndian(span[p..], 0); // parameter type count
        w.Advance(total);
    }

    /// <summary>
    /// Bind of <paramref name="statement"/> to <paramref name="portal"/> (default the unnamed portal) + Execute
    /// (protocol §55.7, Bind). With <paramref name="parameter"/>, one text-format parameter value (<c>$1</c>, UTF-8);
    /// without, no parameters. Results are text unless <paramref name="resultFormats"/> gives a format code (0 text,
    /// 1 binary) per result column.
    /// </summary>
    public static void WriteBindExecute(IBufferWriter<byte> w, string statement, ReadOnlySpan<short> resultFormats = default, string? parameter = null,
        string portal = "")
    {
        var pn = Utf8.GetByteCount(portal);
        var n = Utf8.GetByteCount(statement);
        var v = parameter is null ? 0 : 4 + Utf8.GetByteCount(parameter);
        var bind = 1 + 4 + pn + 1 + n + 1 + 2 + 2 + v + 2 + (2 * resultFormats.Length);
        var execute = 1 + 4 + pn + 1 + 4;
        var span = w.GetSpan(bind + execute);
        span[0] = FrontendMessageCode.Bind;
        BinaryPrimitives.WriteInt32BigEndian(span[1..], bind - 1);
        var p = 5 + Utf8.GetBytes(portal, span[5..]);
        span[p++] = 0;
        p += Utf8.GetBytes(statement, span[p..]);
        span[p++] = 0;
        BinaryPrimitives.WriteInt16BigEndian(span[p..], 0); // parameter format codes: all text
        p += 2;
        BinaryPrimitives.WriteInt16BigEndian(span[p..], (short)(parameter is null ? 0 : 1)); // parameter values
        p += 2;
        if (parameter is not null)
        {
            BinaryPrimitives.WriteInt32BigEndian(span[p..], v - 4);
            p += 4;
            p += Utf8.GetBytes(parameter, span[p..]);
        }

        BinaryPrimitives.WriteInt16BigEndian(span[p..], (short)resultFormats.Length); // result format codes (0: all text)
        p += 2;
        foreach (var format in resultFormats)
        {
            BinaryPrimitives.WriteInt16BigEndian(span[p..], format);
            p += 2;
        }

        var e = span[bind..];
        e[0] = FrontendMessageCode.Execute;
        BinaryPrimitives.WriteInt32BigEndian(e[1..], execute - 1); // length + portal + max rows
        Utf8.GetBytes(portal, e[5..]);
        e[5 + pn] = 0;
        BinaryPrimitives.WriteInt32BigEndian(e[(6 + pn)..], 0); // all rows
        w.Advance(bind + execute);
    }

    /// <summary>CancelRequest packet (16 bytes).</summary>
    public static byte[] CancelRequest(int processId, int secretKey)
    {
        var bytes = new byte[16];
        BinaryPrimitives.WriteInt32BigEndian(bytes, 16);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), StartupCode.CancelRequest);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(8), processId);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(12), secretKey);
        return bytes;
    }
}
