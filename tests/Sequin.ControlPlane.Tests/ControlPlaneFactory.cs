using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Sequin.Testing;
using Shouldly;

namespace Sequin.ControlPlane.Tests;

/// <summary>
/// The real host in-process with a fresh platform database per test class. Clients keep cookies like a browser.
/// </summary>
public class ControlPlaneFactory : WebApplicationFactory<Program>, IAsyncLifetime
{
    public string ConnectionString { get; private set; } = "";

    /// <summary>Error logs of the host (for assertion messages).</summary>
    public ServerErrors Errors { get; } = new();

    /// <summary>The proxy's port in this host.</summary>
    public int ProxyPort { get; } = Sequin.Platform.Database.EmbeddedPostgres.FindFreePort();

    protected virtual int AuthAttemptsPerMinute => 1000;

    /// <summary>True: a real Kestrel server on a loopback port (connectors, workers and the proxy make real
    /// network calls to it). False: the in-memory test server.</summary>
    protected virtual bool RealServer => false;

    /// <summary>Base URL of the real server (after the first client was created).</summary>
    public string BaseUrl => Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
        .Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses.First();

    public async ValueTask InitializeAsync()
    {
        ConnectionString = await PostgresServer.Instance.CreateDatabaseAsync("cp");
        if (RealServer)
        {
            UseKestrel(o => o.Listen(System.Net.IPAddress.Loopback, 0));
            StartServer();
            ClientOptions.BaseAddress = new Uri(BaseUrl);
        }
    }

    /// <summary>A client of this host (in-memory or real) with the given cookie and redirect handling.</summary>
    public HttpClient NewClient(bool allowAutoRedirect = true, bool handleCookies = true) => RealServer
        ? new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = allowAutoRedirect, UseCookies = handleCookies })
        {
            BaseAddress = ClientOptions.BaseAddress,
        }
        : CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = allowAutoRedirect, HandleCookies = handleCookies });

    public new async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await PostgresServer.Instance.DropDatabaseAsync(ConnectionString);
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.ConfigureAppConfiguration(c => c.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Sequin:Platform:ConnectionString"] = ConnectionString,
            ["Sequin:ControlPlane:AuthAttemptsPerMinute"] = AuthAttemptsPerMinute.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Sequin:Sandbox:Salesforce:AdminKey"] = "test-admin-key",
            ["Sequin:Proxy:Port"] = ProxyPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Serilog:MinimumLevel:Default"] = "Warning",
        }));
        builder.ConfigureTestServices(services => services.AddSingleton<Microsoft.Extensions.Logging.ILoggerProvider>(Errors));
        if (!RealServer)
        {
            // Server-to-server OAuth calls (token exchange, revoke) reach the embedded sandbox inside the test server.
            builder.ConfigureTestServices(services => services.AddHttpClient(Connections.SalesforceOAuthClient.HttpClientName)
                .ConfigurePrimaryHttpMessageHandler(() => Server.CreateHandler()));
        }
    }

    /// <summary>A browser-like client (cookies) with a fresh account and organization, CSRF header set.</summary>
    public async Task<Tenant> SignUpAsync(string? email = null, string organization = "Acme")
    {
        var client = CreateClient();
        email ??= $"user-{Guid.NewGuid():N}@example.com";
        var response = await client.PostAsJsonAsync("/api/v1/auth/signup", new { email, password = "correct horse battery", name = "Ada", organizationName = organization });
        response.StatusCode.ShouldBe(System.Net.HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var orgId = body.RootElement.GetProperty("organizations")[0].GetProperty("id").GetGuid();
        await client.UseCsrfAsync();
        return new Tenant(client, email, orgId);
    }
}

/// <summary>The host on a real loopback Kestrel port.</summary>
public sealed class KestrelControlPlaneFactory : ControlPlaneFactory
{
    protected override bool RealServer => true;
}

public sealed record Tenant(HttpClient Client, string Email, Guid OrgId);

public static class HttpClientCsrfExtensions
{
    /// <summary>Fetches the antiforgery token and sends it on every later request, as the dashboard does.</summary>
    public static async Task UseCsrfAsync(this HttpClient client)
    {
        var csrf = await client.GetFromJsonAsync<JsonElement>("/api/v1/auth/csrf");
        client.DefaultRequestHeaders.Remove("X-CSRF-TOKEN");
        client.DefaultRequestHeaders.Add("X-CSRF-TOKEN", csrf.GetProperty("token").GetString());
    }

    public static async Task<JsonElement> JsonAsync(this HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        return JsonDocument.Parse(string.IsNullOrEmpty(text) ? "null" : text).RootElement.Clone();
    }
}
