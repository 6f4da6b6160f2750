using System.Net;
using Sequin.Platform.Database;
using Sequin.Testing;
using Shouldly;

namespace Sequin.Host.Tests;

/// <summary>The README's run command path: no connection string → the host runs its own Postgres.</summary>
public sealed class EmbeddedDefaultTests
{
    [Fact]
    public async Task Run_NoConnectionString_StartsEmbeddedPostgresIsReadyAndStopsItOnSigterm()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), $"sequin-embedded-{Guid.NewGuid():N}");
        var port = EmbeddedPostgres.FindFreePort();
        try
        {
            await using var host = HostProcess.Start(new Dictionary<string, string>
            {
                ["SEQUIN__PLATFORM__CONNECTIONSTRING"] = "",
                ["SEQUIN__PLATFORM__EMBEDDED__DATADIRECTORY"] = dataDir,
                ["SEQUIN__HTTP__URLS"] = $"http://127.0.0.1:{port}",
            });

            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            var deadline = DateTime.UtcNow.AddSeconds(60);
            HttpStatusCode? status = null;
            while (DateTime.UtcNow < deadline && !host.HasExited)
            {
                try
                {
                    status = (await http.GetAsync("/health/ready")).StatusCode;
                    if (status == HttpStatusCode.OK)
                    {
                        break;
                    }
                }
                catch (HttpRequestException)
                {
                }

                await Task.Delay(250);
            }

            status.ShouldBe(HttpStatusCode.OK, host.Stdout + host.Stderr);
            File.Exists(Path.Combine(dataDir, "data", "postmaster.pid")).ShouldBeTrue();

            host.Terminate();
            (await host.WaitForExitAsync(TimeSpan.FromSeconds(30))).ShouldBe(0, host.Stderr);
            File.Exists(Path.Combine(dataDir, "data", "postmaster.pid")).ShouldBeFalse("the embedded cluster is stopped on exit");
            host.Stdout.ShouldContain("Embedded Postgres started");
        }
        finally
        {
            await new EmbeddedPostgres(new EmbeddedPostgresOptions { DataDirectory = dataDir }).DestroyAsync(deleteFiles: true);
        }
    }
}
