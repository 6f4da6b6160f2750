using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Sequin.Sandbox;
using Sequin.Sources;

namespace Sequin.Sync.Tests;

/// <summary>
/// The Salesforce sandbox on a real Kestrel (127.0.0.1, port 0), mounted under a prefix as in the host, so every
/// test also checks that <c>instance_url + nextRecordsUrl</c> is built right. One per test assembly; each test
/// makes its own org.
/// </summary>
public sealed class SandboxServer : IAsyncLifetime
{
    public const string Prefix = "/sandbox/salesforce";

    private static SandboxServer? _instance;
    private WebApplication? _app;

    /// <summary>The assembly's sandbox.</summary>
    public static SandboxServer Instance => _instance ?? throw new InvalidOperationException("SandboxServer is not initialised");

    public string BaseUrl { get; private set; } = "";

    public SalesforceSandbox Sandbox { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        await StartCoreAsync(null);
        _instance = this;
    }

    /// <summary>A sandbox of its own, for a test that needs other options (custom fields); dispose it after.</summary>
    public static async Task<SandboxServer> StartAsync(Action<SalesforceSandboxOptions> configure)
    {
        var server = new SandboxServer();
        await server.StartCoreAsync(configure);
        return server;
    }

    private async Task StartCoreAsync(Action<SalesforceSandboxOptions>? configure)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddSalesforceSandbox(o =>
        {
            o.InjectedTimeoutSeconds = 5;
            configure?.Invoke(o);
        });
        _app = builder.Build();
        _app.MapSalesforceSandbox(Prefix);
        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseUrl = address + Prefix;
        Sandbox = _app.Services.GetRequiredService<SalesforceSandbox>();
    }

    /// <summary>Fresh tokens for an existing org.</summary>
    public Dictionary<string, string> CreateOrgCredentials(string orgId)
    {
        var tokens = Sandbox.IssueTokens(orgId, BaseUrl);
        return new Dictionary<string, string>
        {
            ["instance_url"] = tokens.InstanceUrl,
            ["access_token"] = tokens.AccessToken,
            ["refresh_token"] = tokens.RefreshToken!,
            ["client_id"] = "sequin-tests",
        };
    }

    /// <summary>Creates a seeded org and returns it with connection credentials for it.</summary>
    public (SandboxOrgInfo Org, Dictionary<string, string> Credentials) CreateOrg(SandboxSeedSpec seed, int? dailyApiLimit = null)
    {
        var org = Sandbox.CreateOrg(new SandboxOrgSpec { Name = "org-" + Guid.NewGuid().ToString("N")[..8], Seed = seed, DailyApiLimit = dailyApiLimit });
        return (org, CreateOrgCredentials(org.OrgId));
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }
}

/// <summary>Keeps refreshed credentials in memory.</summary>
internal sealed class MemorySink : ICredentialSink
{
    public SourceCredentials? Last { get; private set; }

    public int Saves { get; private set; }

    public Task SaveAsync(SourceCredentials credentials, CancellationToken cancellationToken)
    {
        Last = credentials;
        Saves++;
        return Task.CompletedTask;
    }
}
