using System.Runtime.ExceptionServices;
using System.Threading.Channels;
using Sequin.Sources;

namespace Sequin.Sync.Engine;

/// <summary>
/// Backfill pages read ahead of the loader: one reader follows the pages one after another (each page's
/// <see cref="BackfillPage.NextCursor"/> is the next read) and keeps at most <c>depth</c> pages waiting, so the
/// upstream and Postgres work at the same time. Pages here are only read, never committed: discarding the chain
/// loses nothing, and a new chain starts again from the last committed cursor.
/// </summary>
internal sealed class PageChain
{
    private readonly Channel<BackfillPage> _pages;
    private readonly CancellationTokenSource _stop;
    private readonly Task _reading;

    public PageChain(Func<string?, CancellationToken, Task<BackfillPage>> read, string? start, int depth, CancellationToken cancellationToken)
    {
        Position = start;
        _pages = Channel.CreateBounded<BackfillPage>(new BoundedChannelOptions(depth) { SingleReader = true, SingleWriter = true });
        _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _reading = Task.Run(() => ReadAsync(read, start, _stop.Token), CancellationToken.None);
    }

    /// <summary>The cursor the next page taken from the chain starts at.</summary>
    public string? Position { get; private set; }

    /// <summary>The next page, waiting for it if needed; a failed read surfaces here, in order, after the pages read before it.</summary>
    public async Task<BackfillPage> NextAsync(CancellationToken cancellationToken)
    {
        BackfillPage page;
        try
        {
            page = await _pages.Reader.ReadAsync(cancellationToken);
        }
        catch (ChannelClosedException e) when (e.InnerException is not null)
        {
            ExceptionDispatchInfo.Throw(e.InnerException);
            throw;
        }

        Position = page.NextCursor;
        return page;
    }

    /// <summary>The next page if it has already been read.</summary>
    public bool TryNext(out BackfillPage page)
    {
        if (_pages.Reader.TryRead(out page!))
        {
            Position = page.NextCursor;
            return true;
        }

        return false;
    }

    /// <summary>Stops reading ahead; pages not taken are dropped.</summary>
    public void Discard()
    {
        _stop.Cancel();
        _ = _reading.ContinueWith(_ => _stop.Dispose(), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
    }

    private async Task ReadAsync(Func<string?, CancellationToken, Task<BackfillPage>> read, string? cursor, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                var page = await read(cursor, cancellationToken);
                await _pages.Writer.WriteAsync(page, cancellationToken);
                if (page.Done)
                {
                    break;
                }

                cursor = page.NextCursor;
            }

            _pages.Writer.TryComplete();
        }
        catch (Exception e)
        {
            // Also a cancellation: the consumer that discarded the chain never reads it again.
            _pages.Writer.TryComplete(e);
        }
    }
}
