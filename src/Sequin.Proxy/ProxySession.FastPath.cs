using System.Buffers;
using System.Buffers.Binary;
using System.Net.Sockets;
using Sequin.Proxy.Protocol;

namespace Sequin.Proxy;

/// <summary>
/// The passthrough fast path for databases without synced tables (nothing to classify): each read is forwarded
/// as the same buffer (no copy, no pipe), the client direction only walks message headers to validate them and
/// see Terminate, the backend direction is not parsed at all. Chosen after measuring: the pipe-based pumps cost
/// about a third of PgBouncer's throughput on a 2-core host (docs/proxy.md, "Benchmarks"). The inspected path
/// (ProxySession.Pump.cs) forwards the same way and adds only header walks and in-place classification.
/// </summary>
internal sealed partial class ProxySession
{
    private const int FastBufferSize = 16 * 1024;

    private async Task FastPumpAsync(CancellationToken ct)
    {
        _server.Register(this);
        var backend = _backendStream!;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var toBackend = ClientToBackendFastAsync(_clientStream, backend, stop.Token);
        var toClient = BackendToClientFastAsync(backend, _clientStream, stop.Token);
        var first = await Task.WhenAny(toBackend, toClient);
        await stop.CancelAsync();
        try
        {
            await first;
        }
        finally
        {
            try
            {
                await Task.WhenAll(toBackend, toClient);
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or SocketException
                or ObjectDisposedException or InvalidOperationException or ProtocolException)
            {
                // the other direction ended because this one did
            }
        }
    }

    private async Task ClientToBackendFastAsync(Stream from, Stream to, CancellationToken ct)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(FastBufferSize);
        var header = new byte[5];
        var headerFill = 0;
        long remaining = 0;
        try
        {
            while (true)
            {
                var n = await from.ReadAsync(buffer.AsMemory(), ct);
                if (n == 0)
                {
                    return;
                }

                var terminate = false;
                var i = 0;
                while (i < n)
                {
                    if (remaining > 0)
                    {
                        var skip = (int)Math.Min(remaining, n - i);
                        i += skip;
                        remaining -= skip;
                        continue;
                    }

                    var take = Math.Min(5 - headerFill, n - i);
                    buffer.AsSpan(i, take).CopyTo(header.AsSpan(headerFill));
                    headerFill += take;
                    i += take;
                    if (headerFill < 5)
                    {
                        break;
                    }

                    headerFill = 0;
                    var length = BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(1));
                    ValidateFrontendHeader(header[0], length);
                    remaining = length - 4;
                    terminate |= header[0] == FrontendMessageCode.Terminate;
                }

                await to.WriteAsync(buffer.AsMemory(0, n), ct);
                if (terminate)
                {
                    return;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static async Task BackendToClientFastAsync(Stream from, Stream to, CancellationToken ct)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(FastBufferSize);
        try
        {
            while (true)
            {
                var n = await from.ReadAsync(buffer.AsMemory(), ct);
                if (n == 0)
                {
                    return;
                }

                await to.WriteAsync(buffer.AsMemory(0, n), ct);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
