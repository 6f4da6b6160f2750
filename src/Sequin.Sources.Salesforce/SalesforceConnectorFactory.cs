using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Sequin.Sources.Salesforce;

/// <summary>
/// Creates Salesforce connectors. One shared <see cref="SocketsHttpHandler"/> serves every connection of the host;
/// the connectors of one connection share its request budget; each connector has its own token and describe cache.
/// </summary>
public sealed class SalesforceConnectorFactory : ISourceConnectorFactory, IDisposable
{
    private readonly SalesforceOptions _options;
    private readonly TimeProvider _time;
    private readonly ILoggerFactory _loggerFactory;
    private readonly HttpClient _http;

    // One budget per connection (and configured limits): the connectors of a connection draw from it together.
    private readonly ConcurrentDictionary<(Guid Connection, double RequestsPerSecond, double DailyShare), RateBudget> _budgets = new();

    /// <summary>Creates the factory (registered as a singleton by the sync engine).</summary>
    public SalesforceConnectorFactory(IOptions<SalesforceOptions> options, TimeProvider time, ILoggerFactory loggerFactory)
        : this(options, time, loggerFactory, new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            AutomaticDecompression = System.Net.DecompressionMethods.All,
            MaxConnectionsPerServer = 64,
        })
    {
    }

    /// <summary>Creates the factory over a given handler (tests script the upstream with it).</summary>
    internal SalesforceConnectorFactory(IOptions<SalesforceOptions> options, TimeProvider time, ILoggerFactory loggerFactory, HttpMessageHandler handler)
    {
        _options = options.Value;
        _time = time;
        _loggerFactory = loggerFactory;
        _http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
    }

    /// <inheritdoc />
    public string Kind => "salesforce";

    /// <summary>Default limits: 200 records per write, 2000 per page, and the configured budget.</summary>
    /// <inheritdoc />
    public ConnectorLimits DefaultLimits => new(200, 2000, _options.RequestsPerSecond, _options.DailyShare);

    /// <inheritdoc />
    public ISourceConnector Create(SourceCredentials credentials, ICredentialSink sink, ConnectorLimits? limits = null, Guid? connectionId = null)
    {
        ArgumentNullException.ThrowIfNull(credentials);
        var effective = limits ?? DefaultLimits;
        effective = effective with { MaxWriteBatch = Math.Clamp(effective.MaxWriteBatch, 1, 200) };
        var budget = connectionId is { } id
            ? _budgets.GetOrAdd((id, effective.RequestsPerSecond, effective.DailyShare),
                key => new RateBudget(key.RequestsPerSecond, key.DailyShare, _time))
            : new RateBudget(effective.RequestsPerSecond, effective.DailyShare, _time);
        var api = new SalesforceApiClient(_http, _options, budget, credentials, sink, _time, _loggerFactory.CreateLogger("Sequin.Sources.Salesforce"));
        return new SalesforceConnector(api, _options, effective, _time);
    }

    /// <inheritdoc />
    public void Dispose() => _http.Dispose();
}
