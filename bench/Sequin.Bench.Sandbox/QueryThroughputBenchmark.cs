using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Sequin.Sandbox;

namespace Sequin.Bench.Sandbox;

/// <summary>
/// Query-page throughput of the Salesforce sandbox over real loopback HTTP.
/// <code>
/// dotnet run -c Release --project bench/Sequin.Bench.Sandbox -- [--url http://127.0.0.1:5180] [--admin-key K]
///     [--contacts 200000] [--clients 1,2,4] [--rounds 3]
/// </code>
/// Without <c>--url</c> the sandbox runs in this process on 127.0.0.1:0 (Kestrel, real sockets); with it,
/// the benchmark drives a standalone sandbox process (the figure in docs/sandbox.md). Each client
/// pages through every Contact with <c>nextRecordsUrl</c> (2000 records per page) and the result is
/// records received per second across all clients.
/// </summary>
public static class QueryThroughputBenchmark
{
    private const string Version = "v62.0";

    public static async Task<int> Main(string[] args)
    {
        var options = Parse(args);
        WebApplication? app = null;
        var url = options.GetValueOrDefault("url");
        var adminKey = options.GetValueOrDefault("admin-key");
        var contacts = int.Parse(options.GetValueOrDefault("contacts", "200000"), CultureInfo.InvariantCulture);
        var clientCounts = options.GetValueOrDefault("clients", "1,2,4").Split(',').Select(c => int.Parse(c, CultureInfo.InvariantCulture)).ToArray();
        var rounds = int.Parse(options.GetValueOrDefault("rounds", "3"), CultureInfo.InvariantCulture);
        if (url is null)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Services.AddSalesforceSandbox();
            app = builder.Build();
            app.MapSalesforceSandbox();
            await app.StartAsync();
            url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        }
        using var http = new HttpClient { BaseAddress = new Uri(url.TrimEnd('/') + "/"), Timeout = TimeSpan.FromMinutes(5) };
        if (adminKey is not null)
        {
            http.DefaultRequestHeaders.Add("X-Sandbox-Admin-Key", adminKey);
        }
        var seedWatch = Stopwatch.StartNew();
        var created = await http.PostAsJsonAsync("_sandbox/orgs", new
        {
            name = "bench",
            seed = new { accounts = contacts / 5, contactsPerAccount = 5, opportunitiesPerAccount = 0, leads = 0, randomSeed = 42 },
            dailyApiLimit = 10_000_000,
        });
        created.EnsureSuccessStatusCode();
        var orgId = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("orgId").GetString()!;
        Console.WriteLine($"seeded {contacts:N0} contacts (+{contacts / 5:N0} accounts) in {seedWatch.Elapsed.TotalSeconds:F1} s");
        var tokens = await (await http.PostAsync($"_sandbox/orgs/{orgId}/tokens", null)).Content.ReadFromJsonAsync<JsonElement>();
        var accessToken = tokens.GetProperty("access_token").GetString()!;

        var allFields = await AllFields(http, accessToken);
        var queries = new (string Name, string Soql)[]
        {
            ("8 fields", "SELECT Id, FirstName, LastName, Email, Phone, AccountId, OwnerId, SystemModstamp FROM Contact"),
            ($"all {allFields.Length} fields", "SELECT " + string.Join(", ", allFields) + " FROM Contact"),
        };
        foreach (var (name, soql) in queries)
        {
            await PageAll(url, accessToken, soql); // warm-up
            foreach (var clients in clientCounts)
            {
                var best = 0.0;
                for (var round = 0; round < rounds; round++)
                {
                    var watch = Stopwatch.StartNew();
                    var counts = await Task.WhenAll(Enumerable.Range(0, clients).Select(_ => PageAll(url, accessToken, soql)));
                    watch.Stop();
                    best = Math.Max(best, counts.Sum() / watch.Elapsed.TotalSeconds);
                }
                Console.WriteLine($"{name,-14} clients={clients}  {best,12:N0} records/s  (best of {rounds})");
            }
        }
        await http.DeleteAsync($"_sandbox/orgs/{orgId}");
        if (app is not null)
        {
            await app.StopAsync();
        }
        return 0;
    }

    private static async Task<string[]> AllFields(HttpClient http, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"services/data/{Version}/sobjects/Contact/describe");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        var describe = await (await http.SendAsync(request)).Content.ReadFromJsonAsync<JsonElement>();
        return [.. describe.GetProperty("fields").EnumerateArray().Select(f => f.GetProperty("name").GetString()!)];
    }

    /// <summary>Pages through the whole result like a sync client; returns the records received.</summary>
    private static async Task<long> PageAll(string baseUrl, string token, string soql)
    {
        using var client = new HttpClient { BaseAddress = new Uri(baseUrl.TrimEnd('/') + "/") };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        var next = $"services/data/{Version}/query?q={Uri.EscapeDataString(soql)}";
        long received = 0;
        while (next is not null)
        {
            await using var stream = await client.GetStreamAsync(next);
            using var page = await JsonDocument.ParseAsync(stream);
            received += page.RootElement.GetProperty("records").GetArrayLength();
            next = page.RootElement.TryGetProperty("nextRecordsUrl", out var url) ? url.GetString()!.TrimStart('/') : null;
        }
        return received;
    }

    private static Dictionary<string, string> Parse(string[] args)
    {
        var options = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            options[args[i].TrimStart('-')] = args[i + 1];
        }
        return options;
    }
}
