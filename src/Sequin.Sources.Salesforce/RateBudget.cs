using System.Globalization;

namespace Sequin.Sources.Salesforce;

/// <summary>
/// The request budget of one connection: a token bucket of <c>requestsPerSecond</c> (burst of one second) and the
/// daily share, read from <c>Sforce-Limit-Info: api-usage=used/max</c> on every response. When the daily share is
/// spent, <see cref="AcquireAsync"/> throws <see cref="SourceThrottledException"/> (the sync pauses, it does not fail).
/// </summary>
internal sealed class RateBudget(double requestsPerSecond, double dailyShare, TimeProvider time)
{
    private readonly Lock _lock = new();
    private readonly double _rate = Math.Max(0.1, requestsPerSecond);
    private double _tokens = Math.Max(1, requestsPerSecond);
    private long _last = time.GetTimestamp();
    private long _used;
    private long _max;

    /// <summary>Last seen org-wide usage and allocation (0 when not seen yet).</summary>
    public (long Used, long Max) DailyUsage
    {
        get
        {
            lock (_lock)
            {
                return (_used, _max);
            }
        }
    }

    /// <summary>Waits for a request token; throws when the daily share is spent.</summary>
    public async ValueTask AcquireAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            TimeSpan wait;
            lock (_lock)
            {
                if (_max > 0 && _used >= _max * dailyShare)
                {
                    throw new SourceThrottledException(
                        $"daily API budget spent: the org used {_used} of {_max} requests and this connection may use up to {dailyShare:P0} of them; pausing",
                        TimeSpan.FromMinutes(5));
                }

                var now = time.GetTimestamp();
                _tokens = Math.Min(Math.Max(1, _rate), _tokens + (time.GetElapsedTime(_last, now).TotalSeconds * _rate));
                _last = now;
                if (_tokens >= 1)
                {
                    _tokens -= 1;
                    return;
                }

                wait = TimeSpan.FromSeconds((1 - _tokens) / _rate);
            }

            await Task.Delay(wait, time, cancellationToken);
        }
    }

    /// <summary>Records <c>Sforce-Limit-Info</c> (<c>api-usage=10018/100000</c>).</summary>
    public void Observe(string? limitInfo)
    {
        if (limitInfo is null)
        {
            return;
        }

        var at = limitInfo.IndexOf("api-usage=", StringComparison.Ordinal);
        if (at < 0)
        {
            return;
        }

        var value = limitInfo.AsSpan(at + "api-usage=".Length);
        var comma = value.IndexOf(',');
        if (comma >= 0)
        {
            value = value[..comma];
        }

        var slash = value.IndexOf('/');
        if (slash > 0 && long.TryParse(value[..slash], NumberStyles.Integer, CultureInfo.InvariantCulture, out var used)
            && long.TryParse(value[(slash + 1)..].Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var max))
        {
            lock (_lock)
            {
                _used = used;
                _max = max;
            }
        }
    }
}
