using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Sequin.Proxy.Net;
using Shouldly;

namespace Sequin.Proxy.Tests;

/// <summary>The proxy's own socket engine over real loopback TCP connections (Linux only, like the engine).</summary>
public sealed class SocketEngineTests : IAsyncLifetime
{
    private readonly SocketEngine _engine = SocketEngine.Start("test engine");
    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

    public ValueTask InitializeAsync()
    {
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(16);
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        _listener.Dispose();
        _engine.Dispose();
        return ValueTask.CompletedTask;
    }

    private int Port => ((IPEndPoint)_listener.LocalEndPoint!).Port;

    /// <summary>A connected pair: the connecting side through <see cref="SocketEngine.ConnectAsync"/>, the accepted side attached.</summary>
    private async Task<(Stream Client, Stream Server)> PairAsync()
    {
        var accept = _listener.AcceptAsync();
        var (client, _, endPoint) = await _engine.ConnectAsync("127.0.0.1", Port, TestContext.Current.CancellationToken);
        endPoint.Port.ShouldBe(Port);
        return (client, _engine.Attach(await accept));
    }

    [Fact(Timeout = 30_000)]
    public async Task ReadAndWrite_RoundTripInBothDirections()
    {
        var (client, server) = await PairAsync();
        await using (client)
        await using (server)
        {
            for (var i = 0; i < 200; i++)
            {
                await client.WriteAsync(BitConverter.GetBytes(i));
                var got = new byte[4];
                await server.ReadExactlyAsync(got);
                BitConverter.ToInt32(got).ShouldBe(i);
                await server.WriteAsync(BitConverter.GetBytes(-i));
                await client.ReadExactlyAsync(got);
                BitConverter.ToInt32(got).ShouldBe(-i);
            }
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task LargeWrite_WaitsForTheSlowReaderAndLosesNothing()
    {
        var (client, server) = await PairAsync();
        await using (client)
        await using (server)
        {
            // Far more than the socket buffers hold: the sender must wait for writable events.
            var data = RandomNumberGenerator.GetBytes(24 * 1024 * 1024);
            var send = Task.Run(async () => await client.WriteAsync(data));
            var received = new MemoryStream();
            var buffer = new byte[7001];
            while (received.Length < data.Length)
            {
                var n = await server.ReadAsync(buffer);
                n.ShouldBeGreaterThan(0);
                received.Write(buffer, 0, n);
                if (received.Length < 1024 * 1024)
                {
                    await Task.Delay(1); // slow at first, so the send buffer fills
                }
            }

            await send;
            SHA256.HashData(received.ToArray()).ShouldBe(SHA256.HashData(data));
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task PendingRead_IsCancelled_AndTheStreamStaysUsable()
    {
        var (client, server) = await PairAsync();
        await using (client)
        await using (server)
        {
            using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
            await Should.ThrowAsync<OperationCanceledException>(async () => _ = await server.ReadAsync(new byte[16], cancel.Token));

            await client.WriteAsync("after"u8.ToArray());
            var got = new byte[5];
            await server.ReadExactlyAsync(got);
            got.ShouldBe("after"u8.ToArray());
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task PeerClose_EndsTheStream()
    {
        var (client, server) = await PairAsync();
        await using (server)
        {
            var read = server.ReadAsync(new byte[16]).AsTask();
            await Task.Delay(50);
            read.IsCompleted.ShouldBeFalse();
            await client.WriteAsync("x"u8.ToArray());
            (await read).ShouldBe(1);
            await client.DisposeAsync();
            (await server.ReadAsync(new byte[16])).ShouldBe(0);
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task DataFollowedByClose_BeforeAnyRead_GivesTheDataThenTheEnd()
    {
        // A backend that sends a FATAL error and closes at once (idle_session_timeout, pg_terminate_backend): both the
        // data and the FIN are reported before the proxy reads, and the short read of the data must not hide the FIN.
        var (client, server) = await PairAsync();
        await using (server)
        {
            await client.WriteAsync("bye"u8.ToArray());
            await client.DisposeAsync();
            await Task.Delay(100);
            var got = new byte[16];
            (await server.ReadAsync(got)).ShouldBe(3);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            (await server.ReadAsync(got, timeout.Token)).ShouldBe(0);
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task Dispose_FailsAPendingRead()
    {
        var (client, server) = await PairAsync();
        await using (client)
        {
            var read = server.ReadAsync(new byte[16]).AsTask();
            await Task.Delay(50);
            await server.DisposeAsync();
            await Should.ThrowAsync<ObjectDisposedException>(read);
            await Should.ThrowAsync<ObjectDisposedException>(async () => _ = await server.ReadAsync(new byte[1]));
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task ZeroLengthRead_WaitsForDataWithoutConsumingIt()
    {
        var (client, server) = await PairAsync();
        await using (client)
        await using (server)
        {
            var probe = server.ReadAsync(Memory<byte>.Empty).AsTask();
            await Task.Delay(50);
            probe.IsCompleted.ShouldBeFalse();
            await client.WriteAsync("abc"u8.ToArray());
            (await probe).ShouldBe(0);
            var got = new byte[3];
            await server.ReadExactlyAsync(got);
            got.ShouldBe("abc"u8.ToArray());
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task Connect_ToAClosedPort_FailsWithConnectionRefused()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var closedPort = ((IPEndPoint)probe.LocalEndPoint!).Port; // bound, never listening

        var e = await Should.ThrowAsync<SocketException>(() => _engine.ConnectAsync("127.0.0.1", closedPort, TestContext.Current.CancellationToken));
        e.SocketErrorCode.ShouldBe(SocketError.ConnectionRefused);
    }

    [Fact(Timeout = 30_000)]
    public async Task WriteToAClosedPeer_FailsWithIOException()
    {
        var (client, server) = await PairAsync();
        await using (client)
        {
            await server.DisposeAsync();
            await Should.ThrowAsync<IOException>(async () =>
            {
                for (var i = 0; i < 100; i++)
                {
                    await client.WriteAsync(new byte[64 * 1024]); // the first sends may still land in the buffer
                    await Task.Delay(5);
                }
            });
        }
    }
}
