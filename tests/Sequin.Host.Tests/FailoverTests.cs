using System.Diagnostics;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Sequin.Platform.Database;
using Sequin.Sandbox;
using Sequin.Testing;
using Shouldly;

namespace Sequin.Host.Tests;

/// <summary>
/// Two real host processes share one platform database; the one running a sync is killed with SIGKILL (no
/// graceful shutdown, no check-out from the Quartz cluster) and the other must take the sync over and keep the
/// destination current.
/// </summary>
public sealed class FailoverTests
{
    [Fact]
    public async Task Sync_HostKilledWithSigkill_OtherHostTakesOverWithinSeconds()
    {
        var platform = await PostgresServer.Instance.CreateDatabaseAsync("fo_platform");
        var destination = await PostgresServer.Instance.CreateDatabaseAsync("fo_dest");
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddSalesforceSandbox();
        await using var sandboxApp = builder.Build();
        sandboxApp.MapSalesforceSandbox("/sandbox/salesforce");
        await sandboxApp.StartAsync();
        var sandboxBase = sandboxApp.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/sandbox/salesforce";
        var sandbox = sandboxApp.Services.GetRequiredService<SalesforceSandbox>();
        var org = sandbox.CreateOrg(new SandboxOrgSpec { Name = "failover", Seed = new SandboxSeedSpec { Accounts = 10, ContactsPerAccount = 3, RandomSeed = 3 } });
        var tokens = sandbox.IssueTokens(org.OrgId, sandboxBase);
        var masterKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

        Dictionary<string, string> Env() => new()
        {
            ["SEQUIN__PLATFORM__CONNECTIONSTRING"] = platform,
            ["SEQUIN__HTTP__URLS"] = $"http://127.0.0.1:{EmbeddedPostgres.FindFreePort()}",
            ["SEQUIN__SECRETS__MASTERKEY"] = masterKey,
            ["SEQUIN__SANDBOX__ENABLED"] = "false",
            ["SEQUIN__PROXY__ENABLED"] = "false",
            ["SEQUIN__SYNC__SYNCS__0__NAME"] = "failover",
            ["SEQUIN__SYNC__SYNCS__0__ORGANIZATION"] = "failover",
            ["SEQUIN__SYNC__SYNCS__0__CREDENTIALS__instance_url"] = tokens.InstanceUrl,
            ["SEQUIN__SYNC__SYNCS__0__CREDENTIALS__access_token"] = tokens.AccessToken,
            ["SEQUIN__SYNC__SYNCS__0__CREDENTIALS__refresh_token"] = tokens.RefreshToken!,
            ["SEQUIN__SYNC__SYNCS__0__CREDENTIALS__client_id"] = "sequin-tests",
            ["SEQUIN__SYNC__SYNCS__0__CREDENTIALS__login_url"] = sandboxBase,
            ["SEQUIN__SYNC__SYNCS__0__DESTINATION"] = destination,
            ["SEQUIN__SYNC__SYNCS__0__OBJECTS__0"] = "Contact",
            ["SEQUIN__SYNC__SYNCS__0__POLLINTERVALMS"] = "500",
        };

        await using var first = HostProcess.Start(Env());
        await using var second = HostProcess.Start(Env());
        try
        {
            (await WaitForAsync(async () => await CountAsync(destination, "select count(*) from salesforce.contact") == 30, TimeSpan.FromSeconds(90)))
                .ShouldBeTrue($"the backfill did not complete\n{first.Stdout}\n{second.Stdout}");

            // The host running the sync now: its last "starting" line comes after its last "stopped" line.
            static bool Runs(HostProcess host) =>
                host.Stdout.LastIndexOf(" starting: schema", StringComparison.Ordinal) > host.Stdout.LastIndexOf(" stopped", StringComparison.Ordinal);
            (Runs(first) ^ Runs(second)).ShouldBeTrue($"exactly one host runs the sync\n{first.Stdout}\n{second.Stdout}");
            var (runner, survivor) = Runs(first) ? (first, second) : (second, first);
            var survivorStartsBefore = survivor.Stdout.Split(" starting: schema").Length;
            runner.KillHard();

            // A change made upstream after the kill must still arrive, through the surviving host.
            using var http = new HttpClient();
            http.DefaultRequestHeaders.Authorization = new("Bearer", sandbox.IssueTokens(org.OrgId, sandboxBase).AccessToken);
            var created = await http.PostAsJsonAsync($"{sandboxBase}/services/data/v62.0/sobjects/Contact", new { LastName = "Failover", Email = "failover@example.com" });
            created.EnsureSuccessStatusCode();
            var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;

            var stopwatch = Stopwatch.StartNew();
            (await WaitForAsync(async () => await CountAsync(destination, $"select count(*) from salesforce.contact where id = '{id}'") == 1, TimeSpan.FromSeconds(45)))
                .ShouldBeTrue($"the surviving host did not take the sync over\n{survivor.Stdout}");
            stopwatch.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(30), "handover within seconds (cluster check-in 1 s + misfire 3 s + retrigger + poll)");
            survivor.Stdout.Split(" starting: schema").Length.ShouldBeGreaterThan(survivorStartsBefore, "the survivor started the sync's job after the kill");
            survivor.HasExited.ShouldBeFalse();
        }
        finally
        {
            await sandboxApp.StopAsync();
            await PostgresServer.Instance.DropDatabaseAsync(destination);
            await PostgresServer.Instance.DropDatabaseAsync(platform);
        }
    }

    private static async Task<long> CountAsync(string connectionString, string sql)
    {
        try
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand(sql, connection);
            return (long)(await command.ExecuteScalarAsync())!;
        }
        catch (PostgresException e) when (e.SqlState is "42P01" or "3F000")
        {
            return -1; // not provisioned yet
        }
    }

    private static async Task<bool> WaitForAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (await condition())
            {
                return true;
            }

            await Task.Delay(250);
        }

        return false;
    }
}
