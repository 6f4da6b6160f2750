using Sequin.Sources;
using Sequin.Sync.Engine;
using Shouldly;

namespace Sequin.Sync.Tests;

/// <summary>The backfill read-ahead: pages in order, at most a few ahead, a failed read surfacing after the pages before it.</summary>
public sealed class PageChainTests
{
    private static BackfillPage Page(int n, bool done = false) =>
        new([new SourceRecord($"r{n}", [], null)], $"after-{n}", done, done ? "changes" : null, []);

    [Fact]
    public async Task Pages_ComeInOrder_FollowingEachNextCursor_AndReadingStaysAFewPagesAhead()
    {
        var reads = new List<string?>();
        var chain = new PageChain((cursor, _) =>
        {
            lock (reads)
            {
                reads.Add(cursor);
            }

            var n = cursor is null ? 0 : int.Parse(cursor["after-".Length..], System.Globalization.CultureInfo.InvariantCulture) + 1;
            return Task.FromResult(Page(n, done: n == 9));
        }, null, depth: 2, default);

        (await chain.NextAsync(default)).Records[0].Id.ShouldBe("r0");
        chain.Position.ShouldBe("after-0");
        await Task.Delay(200);
        lock (reads)
        {
            reads.Count.ShouldBeLessThanOrEqualTo(4); // the one taken, two waiting, one blocked on writing
        }

        var ids = new List<string> { "r0" };
        while (true)
        {
            var page = await chain.NextAsync(default);
            ids.Add(page.Records[0].Id);
            if (page.Done)
            {
                break;
            }
        }

        ids.ShouldBe(Enumerable.Range(0, 10).Select(i => $"r{i}"));
        reads.ShouldBe(new string?[] { null }.Concat(Enumerable.Range(0, 9).Select(i => $"after-{i}")));
    }

    [Fact]
    public async Task AFailedRead_SurfacesAfterThePagesReadBeforeIt_WithItsOwnType()
    {
        var chain = new PageChain((cursor, _) => cursor == "after-1"
            ? Task.FromException<BackfillPage>(new SourceException("upstream down"))
            : Task.FromResult(Page(cursor is null ? 0 : 1)), null, depth: 2, default);
        (await chain.NextAsync(default)).Records[0].Id.ShouldBe("r0");
        (await chain.NextAsync(default)).Records[0].Id.ShouldBe("r1");
        (await Should.ThrowAsync<SourceException>(() => chain.NextAsync(default))).Message.ShouldBe("upstream down");
    }

    [Fact]
    public async Task Discard_StopsReading()
    {
        var reads = 0;
        var chain = new PageChain(async (cursor, ct) =>
        {
            Interlocked.Increment(ref reads);
            await Task.Delay(10, ct);
            return Page(Volatile.Read(ref reads));
        }, null, depth: 1, default);
        await chain.NextAsync(default);
        chain.Discard();
        await Task.Delay(100);
        var after = Volatile.Read(ref reads);
        await Task.Delay(200);
        Volatile.Read(ref reads).ShouldBe(after);
    }
}
