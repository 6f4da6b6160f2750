using System.Threading.Channels;
using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.Extensions.Logging;
using Npgsql;
using Sequin.Platform.Database;

namespace Sequin.Platform.Security;

/// <summary>
/// ASP.NET Data Protection key ring stored in the platform table <c>data_protection_keys</c>, so every host
/// sharing the platform database can decrypt what another host encrypted. (The EF Core key-store package is
/// not in our package mirror; this is the whole of what it would do.)
/// </summary>
/// <remarks>
/// <para>The <see cref="IXmlRepository"/> contract is synchronous, and Data Protection calls it from whatever thread
/// needs the key ring. With <c>DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1</c> (the proxy's deployment setting)
/// that can be the socket engine's epoll thread, running an inline continuation; a synchronous socket read there
/// waits for the epoll thread to report the socket readable — itself — and every socket of the process stalls until
/// the command times out (seen: a 90-second start-up stall in about one start of four). So this repository does no
/// I/O in its synchronous methods: <see cref="GetAllElements"/> answers from memory, <see cref="StoreElement"/> adds
/// to memory and queues the insert, and the database is read and written asynchronously by
/// <see cref="StartAsync"/> (load, and persist the first key before the host serves anything), a background loop
/// (persist queued keys with retries; reload every <see cref="ReloadInterval"/> to see keys other hosts created)
/// and <see cref="StopAsync"/> (flush).</para>
/// <para>Data Protection creates each new key two days before it becomes the default, so the reload interval is far
/// shorter than the time other hosts have to see it. The first key of a new cluster is the exception: it is made
/// and persisted during start-up, before the first secret is protected.</para>
/// </remarks>
internal sealed partial class PlatformXmlRepository(PlatformDatabase database, ILogger<PlatformXmlRepository> logger) : IXmlRepository
{
    /// <summary>How often keys created by other hosts are read. 30 s.</summary>
    public static readonly TimeSpan ReloadInterval = TimeSpan.FromSeconds(30);

    private readonly Channel<(string FriendlyName, XElement Element)> _pending = Channel.CreateUnbounded<(string, XElement)>();
    private readonly Lock _lock = new();
    private readonly TaskCompletionSource _stopping = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private List<(string FriendlyName, XElement Element)> _elements = [];
    private bool _loaded;
    private Task? _loop;

    /// <summary>The key ring as last read, plus keys this host made since.</summary>
    /// <exception cref="InvalidOperationException">before <see cref="StartAsync"/> loaded the key ring.</exception>
    public IReadOnlyCollection<XElement> GetAllElements()
    {
        lock (_lock)
        {
            return _loaded
                ? _elements.Select(e => e.Element).ToList()
                : throw new InvalidOperationException("the Data Protection key ring is read before the platform database started");
        }
    }

    /// <summary>Adds a key in memory at once and queues it for the database.</summary>
    public void StoreElement(XElement element, string friendlyName)
    {
        lock (_lock)
        {
            _elements = [.. _elements.Where(e => e.FriendlyName != friendlyName), (friendlyName, element)];
        }

        _pending.Writer.TryWrite((friendlyName, element));
    }

    /// <summary>Loads the key ring, runs <paramref name="ensureKey"/> (which makes Data Protection create its first key
    /// when there is none), persists what it created, then starts the background loop.</summary>
    public async Task StartAsync(Action ensureKey, CancellationToken cancellationToken)
    {
        await ReloadAsync(cancellationToken);
        ensureKey();
        await FlushAsync(cancellationToken);
        _loop = Task.Run(RunAsync, CancellationToken.None);
    }

    /// <summary>Stops the background loop and persists queued keys.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _stopping.TrySetResult();
        if (_loop is not null)
        {
            await _loop;
        }

        await FlushAsync(cancellationToken);
    }

    private async Task RunAsync()
    {
        var nextReload = DateTime.UtcNow + ReloadInterval;
        Task<bool>? pending = null; // one outstanding waiter, reused until it completes
        while (!_stopping.Task.IsCompleted)
        {
            pending ??= _pending.Reader.WaitToReadAsync().AsTask();
            var untilReload = nextReload - DateTime.UtcNow;
            await Task.WhenAny(pending, Task.Delay(untilReload > TimeSpan.Zero ? untilReload : TimeSpan.Zero), _stopping.Task);
            if (_stopping.Task.IsCompleted)
            {
                return;
            }

            if (pending.IsCompleted)
            {
                pending = null;
            }

            try
            {
                await FlushAsync(CancellationToken.None);
                if (DateTime.UtcNow >= nextReload)
                {
                    await ReloadAsync(CancellationToken.None);
                    nextReload = DateTime.UtcNow + ReloadInterval;
                }
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException)
            {
                LogKeyRingIoFailed(logger, e.Message);
                await Task.WhenAny(Task.Delay(TimeSpan.FromSeconds(2)), _stopping.Task);
            }
        }
    }

    private async Task FlushAsync(CancellationToken cancellationToken)
    {
        while (_pending.Reader.TryPeek(out var item))
        {
            await using var command = database.DataSource.CreateCommand(
                "insert into data_protection_keys (friendly_name, xml) values ($1, $2) on conflict (friendly_name) do nothing");
            command.Parameters.Add(new NpgsqlParameter { Value = item.FriendlyName });
            command.Parameters.Add(new NpgsqlParameter { Value = item.Element.ToString(SaveOptions.DisableFormatting) });
            await command.ExecuteNonQueryAsync(cancellationToken);
            _pending.Reader.TryRead(out _); // removed only once stored: a failed insert is retried
        }
    }

    private async Task ReloadAsync(CancellationToken cancellationToken)
    {
        await using var command = database.DataSource.CreateCommand("select friendly_name, xml from data_protection_keys order by id");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var stored = new List<(string, XElement)>();
        while (await reader.ReadAsync(cancellationToken))
        {
            stored.Add((reader.GetString(0), XElement.Parse(reader.GetString(1))));
        }

        lock (_lock)
        {
            // Keys made here and not stored yet stay in the ring.
            var storedNames = stored.Select(s => s.Item1).ToHashSet(StringComparer.Ordinal);
            _elements = [.. stored, .. _elements.Where(e => !storedNames.Contains(e.FriendlyName))];
            _loaded = true;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Data Protection key ring: platform database I/O failed, retrying: {Reason}")]
    private static partial void LogKeyRingIoFailed(ILogger logger, string reason);
}
