using System.Buffers.Binary;
using System.Diagnostics;
using Npgsql;
using Sequin.Proxy.Protocol;
using Sequin.Proxy.Tests.Support;
using Shouldly;

namespace Sequin.Proxy.Tests;

/// <summary>Bad input from a scripted fake client: the session ends with 08P01 and a log line; nothing else suffers.</summary>
public sealed class ProtocolTests(ProxyFixture proxy) : IClassFixture<ProxyFixture>
{
    private static byte[] Message(byte code, int length, int bodyBytes = 0)
    {
        var bytes = new byte[5 + bodyBytes];
        bytes[0] = code;
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(1), length);
        return bytes;
    }

    private async Task AssertEndsWith08P01Async(RawClient client)
    {
        var frame = await client.ReadAsync();
        frame.Type.ShouldBe(BackendMessageCode.ErrorResponse);
        var fields = frame.ErrorFields();
        fields['S'].ShouldBe("FATAL");
        fields['C'].ShouldBe("08P01");
        (await client.IsClosedAsync(TimeSpan.FromSeconds(5))).ShouldBeTrue();
        proxy.Logs.Lines.ShouldContain(l => l.Contains("08P01", StringComparison.Ordinal));
    }

    [Fact]
    public async Task QueryBeforeStartup_Is08P01()
    {
        await using var client = await RawClient.ConnectAsync(proxy.Port);
        await client.SendAsync([(byte)'Q', 0, 0, 0, 13, .. "select 1"u8, 0]);
        await AssertEndsWith08P01Async(client);
    }

    [Fact]
    public async Task QueryDuringSasl_Is08P01()
    {
        await using var client = await RawClient.ConnectAsync(proxy.Port);
        await client.SendStartupAsync(new() { ["user"] = proxy.User, ["database"] = proxy.Database });
        (await client.ReadAsync()).Type.ShouldBe(BackendMessageCode.AuthenticationRequest);
        await client.SendAsync([(byte)'Q', 0, 0, 0, 13, .. "select 1"u8, 0]);
        await AssertEndsWith08P01Async(client);
    }

    [Fact]
    public async Task StartupPacketTooLong_Is08P01()
    {
        await using var client = await RawClient.ConnectAsync(proxy.Port);
        var packet = new byte[8];
        BinaryPrimitives.WriteInt32BigEndian(packet, 1_000_000_000);
        BinaryPrimitives.WriteInt32BigEndian(packet.AsSpan(4), StartupCode.Protocol30);
        await client.SendAsync(packet);
        await AssertEndsWith08P01Async(client);
    }

    [Theory]
    [InlineData((byte)'Z', 4)]      // unknown frontend type
    [InlineData((byte)0, 4)]
    [InlineData((byte)'Q', 3)]      // length below its own size
    [InlineData((byte)'Q', -5)]
    [InlineData((byte)'S', 9)]      // Sync has no body
    [InlineData((byte)'Q', 0x4000_0000)] // 1 GB: over Postgres's message limit
    public async Task MalformedFrameAfterLogin_Is08P01(byte code, int length)
    {
        var (client, _) = await RawClient.LoginAsync(proxy.Port, proxy.User, ProxyFixture.Password, proxy.Database);
        await using var _c = client;
        await client.SendAsync(Message(code, length));
        await AssertEndsWith08P01Async(client);
    }

    [Fact]
    public async Task LengthNear1GB_WithoutTheBytes_DoesNotAllocate_AndOthersAreUnaffected()
    {
        var before = GC.GetTotalMemory(false);
        var clients = new List<RawClient>();
        for (var i = 0; i < 5; i++)
        {
            var (client, _) = await RawClient.LoginAsync(proxy.Port, proxy.User, ProxyFixture.Password, proxy.Database);
            clients.Add(client);
            await client.SendAsync(Message((byte)'Q', 0x3FFF_FFF0, 100));
        }

        await Task.Delay(300);
        (GC.GetTotalMemory(false) - before).ShouldBeLessThan(64L * 1024 * 1024);
        await using (var healthy = await proxy.OpenAsync())
        {
            (await new NpgsqlCommand("select 1", healthy).ExecuteScalarAsync()).ShouldBe(1);
        }

        foreach (var c in clients)
        {
            await c.DisposeAsync();
        }
    }

    [Fact]
    public async Task PasswordMessageAfterLogin_Is08P01()
    {
        var (client, _) = await RawClient.LoginAsync(proxy.Port, proxy.User, ProxyFixture.Password, proxy.Database);
        await using var _c = client;
        await client.SendMessageAsync((byte)'p', "secret\0"u8.ToArray());
        await AssertEndsWith08P01Async(client);
    }

    [Fact]
    public async Task Terminate_ClosesCleanly()
    {
        var (client, _) = await RawClient.LoginAsync(proxy.Port, proxy.User, ProxyFixture.Password, proxy.Database);
        await using var _c = client;
        await client.SendAsync(Message((byte)'X', 4));
        (await client.IsClosedAsync(TimeSpan.FromSeconds(5))).ShouldBeTrue();
    }

    [Fact]
    public async Task Flush_AnswersParseAndDescribe_BeforeSync()
    {
        // asyncpg/postgres.js: Parse + Describe + Flush, then wait.
        var (client, _) = await RawClient.LoginAsync(proxy.Port, proxy.User, ProxyFixture.Password, proxy.Database);
        await using var _c = client;
        var w = new System.Buffers.ArrayBufferWriter<byte>();
        MessageWriter.WriteParse(w, "s1", "select $1::int + 1");
        MessageWriter.WriteRaw(w, (byte)'D', "Ss1\0"u8);
        MessageWriter.WriteRaw(w, (byte)'H', []);
        await client.SendAsync(w.WrittenSpan.ToArray());
        (await client.ReadAsync()).Type.ShouldBe(BackendMessageCode.ParseComplete);
        (await client.ReadAsync()).Type.ShouldBe(BackendMessageCode.ParameterDescription);
        (await client.ReadAsync()).Type.ShouldBe(BackendMessageCode.RowDescription);
        await client.SendAsync(Message((byte)'S', 4));
        (await client.ReadAsync()).Type.ShouldBe(BackendMessageCode.ReadyForQuery);
    }

    [Fact]
    public async Task Fuzz_RandomAndMutatedFrames_EndSessionsCleanly_AndServerStaysHealthy()
    {
        var random = new Random(20261122);
        var valid = new System.Buffers.ArrayBufferWriter<byte>();
        MessageWriter.WriteParse(valid, "", "select 1");
        MessageWriter.WriteBindExecute(valid, "");
        MessageWriter.WriteSync(valid);
        MessageWriter.WriteQuery(valid, "select 2");
        var seed = valid.WrittenSpan.ToArray();
        var watch = Stopwatch.StartNew();
        var sessions = 0;
        while (sessions < 60 && watch.Elapsed < TimeSpan.FromSeconds(20))
        {
            sessions++;
            var authenticated = sessions % 2 == 0;
            RawClient client;
            if (authenticated)
            {
                (client, _) = await RawClient.LoginAsync(proxy.Port, proxy.User, ProxyFixture.Password, proxy.Database);
            }
            else
            {
                client = await RawClient.ConnectAsync(proxy.Port);
            }

            await using (client)
            {
                byte[] payload;
                if (sessions % 3 == 0)
                {
                    payload = new byte[random.Next(1, 512)];
                    random.NextBytes(payload);
                }
                else
                {
                    payload = (byte[])seed.Clone();
                    for (var m = 0; m < 1 + random.Next(4); m++)
                    {
                        payload[random.Next(payload.Length)] = (byte)random.Next(256);
                    }
                }

                try
                {
                    await client.SendAsync(payload);
                    await client.IsClosedAsync(TimeSpan.FromMilliseconds(300));
                }
                catch (IOException)
                {
                    // the proxy closed first: fine
                }
            }
        }

        await using var healthy = await proxy.OpenAsync();
        (await new NpgsqlCommand("select 1", healthy).ExecuteScalarAsync()).ShouldBe(1);
        await Task.Delay(500);
        proxy.Server.Connections.ShouldBeLessThanOrEqualTo(1);
    }
}
