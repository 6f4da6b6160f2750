using Npgsql;
using Sequin.Platform.Database;
using Sequin.Testing;
using Shouldly;

namespace Sequin.Platform.Tests;

public sealed class EmbeddedPostgresTests
{
    [Fact]
    public async Task StartAsync_SecondInstanceOnSameFolder_ReusesRunningServerAndLeavesItRunning()
    {
        var first = await PostgresServer.StartThrowawayClusterAsync("embedded");
        try
        {
            var second = new EmbeddedPostgres(new EmbeddedPostgresOptions { DataDirectory = first.Root });
            await second.StartAsync();
            second.Port.ShouldBe(first.Port);

            await second.StopAsync(); // not its server: must stay up
            await using var connection = new NpgsqlConnection(first.ConnectionString());
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("select current_setting('server_version_num')::int / 10000", connection);
            ((int)(await command.ExecuteScalarAsync())!).ShouldBeGreaterThanOrEqualTo(15);
        }
        finally
        {
            await first.DestroyAsync(deleteFiles: true);
        }

        Directory.Exists(first.Root).ShouldBeFalse();
    }

    [Fact]
    public async Task StartAsync_BinariesMissing_ThrowsWithInstallCommand()
    {
        var cluster = new EmbeddedPostgres(new EmbeddedPostgresOptions
        {
            DataDirectory = Path.Combine(Path.GetTempPath(), $"sequin-nobin-{Guid.NewGuid():N}"),
            BinDirectory = "/nonexistent/bin",
        });

        var error = await Should.ThrowAsync<EmbeddedPostgresException>(() => cluster.StartAsync());
        error.Message.ShouldContain("apt-get install -y postgresql-15");
    }

    [Fact]
    public async Task StartAsync_PasswordAuthentication_RejectsWrongPassword()
    {
        var builder = new NpgsqlConnectionStringBuilder(PostgresServer.Instance.AdminConnectionString) { Password = "wrong" };
        await using var connection = new NpgsqlConnection(builder.ConnectionString);
        var error = await Should.ThrowAsync<PostgresException>(() => connection.OpenAsync());
        error.SqlState.ShouldBe("28P01");
    }

    [Fact]
    public async Task StartAsync_FolderThePostgresUserCannotReach_ThrowsWithTheFix()
    {
        if (Environment.UserName != "root" || OperatingSystem.IsWindows())
        {
            return; // only root runs Postgres as another OS user
        }

        var privateParent = Path.Combine(Path.GetTempPath(), $"sequin-private-{Guid.NewGuid():N}");
        Directory.CreateDirectory(privateParent);
        File.SetUnixFileMode(privateParent, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        try
        {
            var cluster = new EmbeddedPostgres(new EmbeddedPostgresOptions { DataDirectory = Path.Combine(privateParent, "pg") });
            var error = await Should.ThrowAsync<EmbeddedPostgresException>(() => cluster.StartAsync());
            error.Message.ShouldContain("cannot reach");
            error.Message.ShouldContain("chmod o+x");
        }
        finally
        {
            Directory.Delete(privateParent, recursive: true);
        }
    }
}
