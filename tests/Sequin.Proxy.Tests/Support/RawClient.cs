using System.Buffers;
using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using Sequin.Proxy.Auth;
using Sequin.Proxy.Protocol;

namespace Sequin.Proxy.Tests.Support;

/// <summary>
/// A scripted fake client: writes raw bytes and reads whole backend messages. Used for protocol tests, for the
/// simple Query protocol (Npgsql always uses the extended protocol) and for SCRAM with a chosen gs2 flag.
/// </summary>
internal sealed class RawClient : IAsyncDisposable
{
    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;

    private RawClient(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
    }

    public static async Task<RawClient> ConnectAsync(int port)
    {
        var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync("127.0.0.1", port);
        return new RawClient(tcp);
    }

    /// <summary>Connects and authenticates with SCRAM (gs2 flag <paramref name="gs2"/>); returns the startup messages.</summary>
    public static async Task<(RawClient Client, List<Frame> Startup)> LoginAsync(int port, string user, string password, string database, char gs2 = 'n')
    {
        var client = await ConnectAsync(port);
        await client.SendStartupAsync(new() { ["user"] = user, ["database"] = database, ["application_name"] = "raw" });
        var frames = await client.AuthenticateAsync(password, gs2);
        return (client, frames);
    }

    public async Task SendStartupAsync(Dictionary<string, string> parameters, int protocol = StartupCode.Protocol30)
    {
        var w = new ArrayBufferWriter<byte>();
        MessageWriter.WriteStartup(w, parameters);
        var bytes = w.WrittenSpan.ToArray();
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), protocol);
        await SendAsync(bytes);
    }

    public async Task<List<Frame>> AuthenticateAsync(string password, char gs2)
    {
        var sasl = await ReadAsync();
        if (sasl.Type != BackendMessageCode.AuthenticationRequest)
        {
            return [sasl];
        }

        var nonce = Convert.ToBase64String(Guid.NewGuid().ToByteArray());
        var gs2Header = gs2 + ",,";
        var clientFirstBare = $"n=*,r={nonce}";
        var first = Encoding.UTF8.GetBytes(gs2Header + clientFirstBare);
        var body = new byte[14 + 4 + first.Length];
        "SCRAM-SHA-256\0"u8.CopyTo(body);
        BinaryPrimitives.WriteInt32BigEndian(body.AsSpan(14), first.Length);
        first.CopyTo(body, 18);
        await SendMessageAsync((byte)'p', body);
        var cont = await ReadAsync();
        if (cont.Type != BackendMessageCode.AuthenticationRequest)
        {
            return [cont];
        }

        var serverFirst = Encoding.UTF8.GetString(cont.Body, 4, cont.Body.Length - 4);
        var attrs = serverFirst.Split(',').ToDictionary(a => a[..1], a => a[2..]);
        var salted = ScramVerifier.SaltedPassword(password, Convert.FromBase64String(attrs["s"]), int.Parse(attrs["i"], System.Globalization.CultureInfo.InvariantCulture));
        var clientKey = System.Security.Cryptography.HMACSHA256.HashData(salted, "Client Key"u8);
        var storedKey = System.Security.Cryptography.SHA256.HashData(clientKey);
        var withoutProof = $"c={Convert.ToBase64String(Encoding.ASCII.GetBytes(gs2Header))},r={attrs["r"]}";
        var authMessage = Encoding.UTF8.GetBytes($"{clientFirstBare},{serverFirst},{withoutProof}");
        var signature = System.Security.Cryptography.HMACSHA256.HashData(storedKey, authMessage);
        for (var i = 0; i < 32; i++)
        {
            clientKey[i] ^= signature[i];
        }

        await SendMessageAsync((byte)'p', Encoding.UTF8.GetBytes($"{withoutProof},p={Convert.ToBase64String(clientKey)}"));
        return await ReadUntilReadyAsync();
    }

    public Task SendAsync(byte[] bytes) => _stream.WriteAsync(bytes).AsTask();

    public Task SendMessageAsync(byte code, byte[] body)
    {
        var w = new ArrayBufferWriter<byte>();
        MessageWriter.WriteRaw(w, code, body);
        return SendAsync(w.WrittenSpan.ToArray());
    }

    public Task QueryAsync(string sql)
    {
        var w = new ArrayBufferWriter<byte>();
        MessageWriter.WriteQuery(w, sql);
        return SendAsync(w.WrittenSpan.ToArray());
    }

    /// <summary>Sends a simple Query and returns every message up to and including ReadyForQuery.</summary>
    public async Task<List<Frame>> SimpleAsync(string sql)
    {
        await QueryAsync(sql);
        return await ReadUntilReadyAsync();
    }

    public async Task<List<Frame>> ReadUntilReadyAsync()
    {
        var frames = new List<Frame>();
        while (true)
        {
            var f = await ReadAsync();
            frames.Add(f);
            if (f.Type is BackendMessageCode.ReadyForQuery)
            {
                return frames;
            }

            if (f.Type == BackendMessageCode.ErrorResponse && f.ErrorFields().GetValueOrDefault('S') == "FATAL")
            {
                return frames;
            }
        }
    }

    public async Task<Frame> ReadAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(20));
        var header = new byte[5];
        await _stream.ReadExactlyAsync(header, cts.Token);
        var length = BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(1));
        var body = new byte[length - 4];
        await _stream.ReadExactlyAsync(body, cts.Token);
        return new Frame(header[0], body);
    }

    /// <summary>Reads one byte (SSLRequest/GSSENCRequest answers).</summary>
    public async Task<int> ReadByteAsync()
    {
        var b = new byte[1];
        var n = await _stream.ReadAsync(b);
        return n == 0 ? -1 : b[0];
    }

    /// <summary>Whether the server closed the connection (reads to EOF, bounded).</summary>
    public async Task<bool> IsClosedAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var buffer = new byte[8192];
        try
        {
            while (true)
            {
                var n = await _stream.ReadAsync(buffer, cts.Token);
                if (n == 0)
                {
                    return true;
                }
            }
        }
        catch (IOException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public static List<string?[]> Rows(IEnumerable<Frame> frames) =>
        frames.Where(f => f.Type == BackendMessageCode.DataRow).Select(f => f.DataRowValues().Select(Frame.Text).ToArray()).ToList();

    public static Dictionary<char, string>? Error(IEnumerable<Frame> frames) =>
        frames.FirstOrDefault(f => f.Type == BackendMessageCode.ErrorResponse) is { Body: not null } e ? e.ErrorFields() : null;

    public static List<string> Tags(IEnumerable<Frame> frames) =>
        frames.Where(f => f.Type == BackendMessageCode.CommandComplete).Select(f => f.Tag).ToList();

    public ValueTask DisposeAsync()
    {
        _tcp.Dispose();
        return ValueTask.CompletedTask;
    }
}
