using System.Collections.Concurrent;
using Npgsql;

namespace Sequin.Sync.Engine;

/// <summary>
/// One small connection pool per destination, shared by every sync writing to it (a hosted org database serves
/// all its syncs). Sessions carry <c>sequin.origin = sync</c>. Pools stay small and drop idle connections quickly,
/// because one worker runs hundreds of mostly idle syncs.
/// </summary>
internal sealed class DestinationPools : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<NpgsqlDataSource>> _pools = new(StringComparer.Ordinal);

    public NpgsqlDataSource Get(string connectionString) =>
        _pools.GetOrAdd(connectionString, cs => new Lazy<NpgsqlDataSource>(() => Build(cs, pooled: true))).Value;

    /// <summary>A data source for the sync role's sessions (<c>sequin.origin = sync</c>).</summary>
    public static NpgsqlDataSource Build(string connectionString, bool pooled)
    {
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        var cs = builder.ConnectionStringBuilder;
        cs.Options = "-c sequin.origin=sync";
        cs.ApplicationName ??= "sequin-sync";
        if (pooled)
        {
            // A page uses one connection (plus one for status updates): 8 serve several syncs at once.
            if (cs.MaxPoolSize == 100)
            {
                cs.MaxPoolSize = 8;
            }

            cs.ConnectionIdleLifetime = 30;
            cs.ConnectionPruningInterval = 10;
        }

        return builder.Build();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var pool in _pools.Values.Where(p => p.IsValueCreated))
        {
            await pool.Value.DisposeAsync();
        }

        _pools.Clear();
    }
}
