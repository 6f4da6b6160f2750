using System.Xml.Linq;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using Sequin.Platform.Database;
using Sequin.Platform.Migrations;
using Sequin.Platform.Security;
using Sequin.Testing;
using Shouldly;

namespace Sequin.Platform.Tests;

/// <summary>
/// The Data Protection key ring's synchronous methods must never touch the database (docs/proxy.md: a synchronous
/// socket read on the epoll thread deadlocks the host under inline socket completions). Proven by answering them
/// while every connection to the database is refused.
/// </summary>
public sealed class PlatformXmlRepositoryTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    private static XElement Key(string id) => new("key", new XAttribute("id", id));

    private async Task<(PlatformDatabase Db, PlatformXmlRepository Repository)> StartAsync()
    {
        var db = new PlatformDatabase(
            Options.Create(new PlatformOptions { ConnectionString = database.ConnectionString, ApplyMigrations = true }),
            new EmbeddedMigrationSource(), NullLoggerFactory.Instance);
        await db.StartAsync(CancellationToken.None);
        return (db, new PlatformXmlRepository(db, NullLogger<PlatformXmlRepository>.Instance));
    }

    private async Task<long> StoredAsync(string friendlyName)
    {
        await using var dataSource = NpgsqlDataSource.Create(database.ConnectionString);
        await using var command = dataSource.CreateCommand("select count(*) from data_protection_keys where friendly_name = $1");
        command.Parameters.AddWithValue(friendlyName);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private async Task AllowConnectionsAsync(bool allow)
    {
        var builder = new NpgsqlConnectionStringBuilder(database.ConnectionString);
        await using var admin = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(database.ConnectionString) { Database = "postgres" }.ConnectionString);
        await using var command = admin.CreateCommand($"alter database \"{builder.Database}\" allow_connections {(allow ? "true" : "false")}");
        await command.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task SynchronousMethods_AfterStart_AnswerWithoutTheDatabase_AndKeysAreStoredAsynchronously()
    {
        var (db, repository) = await StartAsync();
        var first = $"key-{Guid.NewGuid():N}";
        await repository.StartAsync(() => repository.StoreElement(Key(first), first), CancellationToken.None);
        (await StoredAsync(first)).ShouldBe(1, "the key made during start-up is stored before StartAsync returns");

        // Take the database away: with the pool cleared and connections refused, any synchronous I/O would throw.
        await AllowConnectionsAsync(false);
        db.DataSource.Clear(); // no idle pooled connection to fall back on
        var second = $"key-{Guid.NewGuid():N}";
        try
        {
            repository.StoreElement(Key(second), second);
            repository.GetAllElements().Select(e => (string?)e.Attribute("id")).ShouldContain(second);
            repository.GetAllElements().Select(e => (string?)e.Attribute("id")).ShouldContain(first);
        }
        finally
        {
            await AllowConnectionsAsync(true);
        }

        // The queued key reaches the database once it is reachable again (the background loop retries; stop flushes).
        await repository.StopAsync(CancellationToken.None);
        (await StoredAsync(second)).ShouldBe(1);
        await db.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task GetAllElements_BeforeStart_ThrowsInsteadOfReadingSynchronously()
    {
        var (db, repository) = await StartAsync();
        Should.Throw<InvalidOperationException>(() => repository.GetAllElements());
        await db.StopAsync(CancellationToken.None);
    }
}
