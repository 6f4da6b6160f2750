using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using Sequin.Platform.Migrations;
using Sequin.Platform.Security;
using Sequin.Proxy.Auth;
using Sequin.Proxy.Credentials;
using Sequin.Proxy.Tests.Support;
using Sequin.Testing;
using Shouldly;

namespace Sequin.Proxy.Tests;

/// <summary>Credentials from the platform database: migration 0001's verifier columns + 0003's backend route.</summary>
public sealed class PlatformCredentialTests(ProxyFixture proxy) : IClassFixture<ProxyFixture>
{
    private sealed class PrefixProtector : ISecretProtector
    {
        public string Protect(string purpose, string plaintext) => $"{purpose}:{plaintext}";

        public string Unprotect(string purpose, string protectedText) =>
            protectedText.StartsWith(purpose + ":", StringComparison.Ordinal) ? protectedText[(purpose.Length + 1)..]
                : throw new System.Security.Cryptography.CryptographicException("wrong purpose");
    }

    [Fact]
    public async Task PlatformCredential_RoutesALoginThroughTheProxy_AndRevokedOnesAreUnknown()
    {
        var platform = await PostgresServer.Instance.CreateDatabaseAsync("platform");
        await using var dataSource = NpgsqlDataSource.Create(platform);
        try
        {
            await new Migrator(dataSource, new EmbeddedMigrationSource(), NullLogger<Migrator>.Instance).MigrateAsync();
            var verifier = ScramVerifier.FromPassword("platform-pass");
            var backend = new NpgsqlConnectionStringBuilder(proxy.DatabaseConnectionString);
            var protector = new PrefixProtector();
            await using (var command = dataSource.CreateCommand(
                "with org as (insert into organizations (id, name, slug) values ($1, 'Org', $2) returning id) " +
                "insert into proxy_credentials (id, org_id, username, scram_salt, scram_iterations, stored_key, server_key, " +
                "database_name, backend_role, backend_host, backend_port, backend_password_protected, revoked_at) values " +
                "(gen_random_uuid(), (select id from org), 'from_platform', $3, $4, $5, $6, $7, $8, $9, $10, $11, null), " +
                "(gen_random_uuid(), (select id from org), 'revoked_one', $3, $4, $5, $6, $7, $8, $9, $10, $11, now())"))
            {
                var org = Guid.NewGuid();
                foreach (var value in new object[]
                {
                    org, "org-" + org.ToString("N")[..8], verifier.Salt, verifier.Iterations, verifier.StoredKey, verifier.ServerKey,
                    proxy.Database, proxy.BackendRole, backend.Host!, backend.Port, protector.Protect(SecretPurposes.BackendPassword, ProxyFixture.Password),
                })
                {
                    command.Parameters.Add(new NpgsqlParameter { Value = value });
                }

                await command.ExecuteNonQueryAsync();
            }

            var services = new ServiceCollection()
                .AddSingleton(dataSource)
                .AddSingleton<ISecretProtector>(protector)
                .BuildServiceProvider();
            var options = Options.Create(new ProxyOptions { Host = "127.0.0.1", Port = 0 });
            var store = new PlatformCredentialStore(services, options, NullLogger<PlatformCredentialStore>.Instance);
            var found = (await store.FindAsync("from_platform", CancellationToken.None))!;
            found.Database.ShouldBe(proxy.Database);
            found.BackendRole.ShouldBe(proxy.BackendRole);
            found.BackendPassword.ShouldBe(ProxyFixture.Password);
            found.BackendPort.ShouldBe(backend.Port);
            (await store.FindAsync("revoked_one", CancellationToken.None)).ShouldBeNull();

            using var server = new ProxyServer(options, new CompositeCredentialStore(new ConfigurationCredentialStore(options), store),
                proxy.Upstream, new CertificateProvider(options), NullLogger<ProxyServer>.Instance);
            await server.StartAsync(CancellationToken.None);
            try
            {
                await using var connection = new NpgsqlConnection(proxy.ProxyConnectionString(b =>
                {
                    b.Port = server.EndPoint.Port;
                    b.Username = "from_platform";
                    b.Password = "platform-pass";
                }));
                await connection.OpenAsync();
                (await new NpgsqlCommand("select current_user", connection).ExecuteScalarAsync()).ShouldBe(proxy.BackendRole);
            }
            finally
            {
                await server.StopAsync(CancellationToken.None);
            }
        }
        finally
        {
            await PostgresServer.Instance.DropDatabaseAsync(platform);
        }
    }
}
