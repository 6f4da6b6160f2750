using System.Net;
using System.Net.Sockets;
using Sequin.Platform.Database;
using Sequin.Testing;
using Shouldly;

namespace Sequin.Host.Tests;

/// <summary>Start-up failures end the process with one clear line naming the setting and the fix.</summary>
public sealed class StartupFailureTests
{
    private static async Task<(int Code, string Stderr)> RunHostAsync(Dictionary<string, string> env)
    {
        await using var host = HostProcess.Start(env);
        var code = await host.WaitForExitAsync(TimeSpan.FromSeconds(60));
        return (code, host.Stderr);
    }

    private static string OneErrorLine(string stderr)
    {
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        lines.Length.ShouldBe(1, $"expected exactly one line on stderr, got:\n{stderr}");
        lines[0].ShouldStartWith("sequin: error: ");
        lines[0].ShouldNotContain("   at ");
        return lines[0];
    }

    [Fact]
    public async Task Start_BadConnectionString_ExitsWithOneLineNamingTheSetting()
    {
        var (code, stderr) = await RunHostAsync(new()
        {
            ["SEQUIN__PLATFORM__CONNECTIONSTRING"] = "Hots=nowhere;Pasword=x",
            ["SEQUIN__HTTP__URLS"] = $"http://127.0.0.1:{EmbeddedPostgres.FindFreePort()}",
        });

        code.ShouldBe(1);
        var line = OneErrorLine(stderr);
        line.ShouldContain("SEQUIN__PLATFORM__CONNECTIONSTRING");
        line.ShouldContain("not a valid connection string");
    }

    [Fact]
    public async Task Start_UnreachableDatabase_ExitsWithOneLineNamingHostAndFix()
    {
        var closedPort = EmbeddedPostgres.FindFreePort();
        var (code, stderr) = await RunHostAsync(new()
        {
            ["SEQUIN__PLATFORM__CONNECTIONSTRING"] = $"Host=127.0.0.1;Port={closedPort};Username=x;Password=y;Database=z;Timeout=3",
            ["SEQUIN__HTTP__URLS"] = $"http://127.0.0.1:{EmbeddedPostgres.FindFreePort()}",
        });

        code.ShouldBe(1);
        var line = OneErrorLine(stderr);
        line.ShouldContain($"cannot reach the platform database at 127.0.0.1:{closedPort}");
        line.ShouldContain("SEQUIN__PLATFORM__CONNECTIONSTRING");
    }

    [Fact]
    public async Task Start_WrongPassword_ExitsWithOneLineAbout28P01()
    {
        var cs = new Npgsql.NpgsqlConnectionStringBuilder(PostgresServer.Instance.AdminConnectionString) { Password = "wrong" };
        var (code, stderr) = await RunHostAsync(new()
        {
            ["SEQUIN__PLATFORM__CONNECTIONSTRING"] = cs.ConnectionString,
            ["SEQUIN__HTTP__URLS"] = $"http://127.0.0.1:{EmbeddedPostgres.FindFreePort()}",
        });

        code.ShouldBe(1);
        OneErrorLine(stderr).ShouldContain("28P01");
    }

    [Fact]
    public async Task Start_PortInUse_ExitsWithOneLineNamingTheUrlsSetting()
    {
        var cs = await PostgresServer.Instance.CreateDatabaseAsync("port");
        using var occupied = new TcpListener(IPAddress.Loopback, 0);
        occupied.Start();
        var port = ((IPEndPoint)occupied.LocalEndpoint).Port;
        try
        {
            var (code, stderr) = await RunHostAsync(new()
            {
                ["SEQUIN__PLATFORM__CONNECTIONSTRING"] = cs,
                ["SEQUIN__HTTP__URLS"] = $"http://127.0.0.1:{port}",
            });

            code.ShouldBe(1);
            var line = OneErrorLine(stderr);
            line.ShouldContain(port.ToString(System.Globalization.CultureInfo.InvariantCulture));
            line.ShouldContain("SEQUIN__HTTP__URLS");
        }
        finally
        {
            occupied.Stop();
            await PostgresServer.Instance.DropDatabaseAsync(cs);
        }
    }

    [Fact]
    public async Task Start_AppliedMigrationEdited_ExitsWithOneLineNamingTheFile()
    {
        var cs = await PostgresServer.Instance.CreateDatabaseAsync("edited");
        try
        {
            var env = new Dictionary<string, string>
            {
                ["SEQUIN__PLATFORM__CONNECTIONSTRING"] = cs,
                ["SEQUIN__HTTP__URLS"] = $"http://127.0.0.1:{EmbeddedPostgres.FindFreePort()}",
            };
            await using (var dataSource = Npgsql.NpgsqlDataSource.Create(cs))
            {
                await new Sequin.Platform.Migrations.Migrator(dataSource, new Sequin.Platform.Migrations.EmbeddedMigrationSource(),
                    Microsoft.Extensions.Logging.Abstractions.NullLogger<Sequin.Platform.Migrations.Migrator>.Instance).MigrateAsync();
                // What an edit of 0001_platform.sql after it was applied looks like to the migrator.
                await using var tamper = dataSource.CreateCommand("update schema_migrations set checksum = repeat('0', 64) where version = 1");
                await tamper.ExecuteNonQueryAsync();
            }

            var (code, stderr) = await RunHostAsync(env);

            code.ShouldBe(1);
            var line = OneErrorLine(stderr);
            line.ShouldContain("0001_platform.sql");
            line.ShouldContain("changed after it was applied");
        }
        finally
        {
            await PostgresServer.Instance.DropDatabaseAsync(cs);
        }
    }
}
