using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Sequin.Platform.Migrations;
using Sequin.Platform.Security;
using Sequin.Testing;
using Shouldly;

namespace Sequin.Host.Tests;

public sealed class HealthTests
{
    [Fact]
    public async Task HealthReady_MigratedDatabase_Returns200WithCheckDetails()
    {
        var cs = await PostgresServer.Instance.CreateDatabaseAsync("host");
        try
        {
            await using var factory = new SequinHostFactory(cs);
            using var client = factory.CreateClient();

            var live = await client.GetAsync("/health");
            live.StatusCode.ShouldBe(HttpStatusCode.OK);

            var ready = await client.GetAsync("/health/ready");
            ready.StatusCode.ShouldBe(HttpStatusCode.OK);
            using var body = JsonDocument.Parse(await ready.Content.ReadAsStringAsync());
            body.RootElement.GetProperty("checks").GetProperty("platform-database").GetProperty("status").GetString().ShouldBe("Healthy");
        }
        finally
        {
            await PostgresServer.Instance.DropDatabaseAsync(cs);
        }
    }

    [Fact]
    public async Task HealthReady_DatabaseStopped_Returns503WhileLiveStays200()
    {
        var cluster = await PostgresServer.StartThrowawayClusterAsync("ready");
        try
        {
            await using var factory = new SequinHostFactory(cluster.ConnectionString());
            using var client = factory.CreateClient();
            (await client.GetAsync("/health/ready")).StatusCode.ShouldBe(HttpStatusCode.OK);

            await cluster.StopAsync();
            NpgsqlConnection.ClearAllPools();

            var ready = await client.GetAsync("/health/ready");
            ready.StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable);
            (await ready.Content.ReadAsStringAsync()).ShouldContain("unreachable");
            (await client.GetAsync("/health")).StatusCode.ShouldBe(HttpStatusCode.OK);
        }
        finally
        {
            await cluster.DestroyAsync(deleteFiles: true);
        }
    }

    [Fact]
    public async Task Start_TwoHostsOnOnePlatformDatabase_MigrateOnceAndBothBecomeReady()
    {
        var cs = await PostgresServer.Instance.CreateDatabaseAsync("twohosts");
        try
        {
            await using var first = new SequinHostFactory(cs);
            await using var second = new SequinHostFactory(cs);
            var clients = await Task.WhenAll(Task.Run(first.CreateClient), Task.Run(second.CreateClient));

            foreach (var client in clients)
            {
                (await client.GetAsync("/health/ready")).StatusCode.ShouldBe(HttpStatusCode.OK);
            }

            await using var connection = new NpgsqlConnection(cs);
            await connection.OpenAsync();
            await using var count = new NpgsqlCommand("select count(*), count(distinct version) from schema_migrations", connection);
            await using var reader = await count.ExecuteReaderAsync();
            await reader.ReadAsync();
            reader.GetInt64(0).ShouldBe(new EmbeddedMigrationSource().Load().Count);
            reader.GetInt64(1).ShouldBe(reader.GetInt64(0));
        }
        finally
        {
            await PostgresServer.Instance.DropDatabaseAsync(cs);
        }
    }

    [Fact]
    public async Task Start_FailingMigration_RefusesToStartAndNamesTheFile()
    {
        var cs = await PostgresServer.Instance.CreateDatabaseAsync("badmig");
        try
        {
            var broken = new ListMigrationSource([
                Migration.FromFile("0001_ok.sql", "create table ok (id int);"),
                Migration.FromFile("0002_typo.sql", "create tabel oops (id int);"),
            ]);
            await using var factory = new SequinHostFactory(cs, services => services.AddSingleton<IMigrationSource>(broken));

            // The host refuses to start (Program prints the one-line reason; see StartupFailureTests).
            Should.Throw<Exception>(() => factory.CreateClient());

            await using var connection = new NpgsqlConnection(cs);
            await connection.OpenAsync();
            await using var applied = new NpgsqlCommand("select string_agg(name, ',') from schema_migrations", connection);
            (await applied.ExecuteScalarAsync()).ShouldBe("ok");
            await using var oops = new NpgsqlCommand("select to_regclass('oops') is null", connection);
            ((bool)(await oops.ExecuteScalarAsync())!).ShouldBeTrue();
        }
        finally
        {
            await PostgresServer.Instance.DropDatabaseAsync(cs);
        }
    }

    [Fact]
    public async Task SecretProtector_TwoHostsSharingTheDatabase_DecryptEachOthersSecrets()
    {
        var cs = await PostgresServer.Instance.CreateDatabaseAsync("secrets");
        try
        {
            string protectedText;
            await using (var first = new SequinHostFactory(cs))
            {
                first.CreateClient().Dispose();
                protectedText = first.Services.GetRequiredService<ISecretProtector>().Protect(SecretPurposes.SourceCredentials, "refresh-token-123");
            }

            protectedText.ShouldNotContain("refresh-token-123");
            await using (var connection = new NpgsqlConnection(cs))
            {
                await connection.OpenAsync();
                await using var keys = new NpgsqlCommand("select string_agg(xml, '') from data_protection_keys", connection);
                var ring = (string)(await keys.ExecuteScalarAsync())!;
                ring.ShouldContain("MasterKeyXmlDecryptor", customMessage: "the key ring is encrypted with the master key at rest");
                ring.ShouldNotContain("<masterKey");
            }

            await using var second = new SequinHostFactory(cs);
            second.CreateClient().Dispose();
            var protector = second.Services.GetRequiredService<ISecretProtector>();
            protector.Unprotect(SecretPurposes.SourceCredentials, protectedText).ShouldBe("refresh-token-123");
            Should.Throw<System.Security.Cryptography.CryptographicException>(
                () => protector.Unprotect(SecretPurposes.BackendPassword, protectedText));
        }
        finally
        {
            await PostgresServer.Instance.DropDatabaseAsync(cs);
        }
    }
}
