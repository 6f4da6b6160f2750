using System.Security.Cryptography;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using Npgsql;
using Sequin.Platform.Database;
using Sequin.Proxy.Auth;
using Sequin.Sync;

namespace Sequin.ControlPlane.Hosting;

/// <summary>Settings of section <c>Sequin:Hosted</c>: the Postgres server that holds the organizations' hosted databases.</summary>
public sealed class HostedDatabaseOptions
{
    public const string Section = "Sequin:Hosted";

    /// <summary>A connection with CREATEDB and CREATEROLE on that server. Default: the platform database's server and credentials.</summary>
    public string? AdminConnectionString { get; set; }

    /// <summary>Host name clients use for direct (read-only) connections. Default <c>127.0.0.1</c>.</summary>
    public string PublicHost { get; set; } = "127.0.0.1";

    /// <summary>Port clients use for direct connections. Default: the admin connection's port.</summary>
    public int? PublicPort { get; set; }
}

/// <summary>
/// Creates and removes what a hosted destination needs on the platform's Postgres server: one database per
/// organization (<c>sequin_o_&lt;id&gt;</c>, CONNECT revoked from PUBLIC), the sync engine's login role of that
/// database (member of <c>sequin_sync</c>, ADR 0007), and per sync a proxy backend role and a read-only role.
/// Passwords reach Postgres only as SCRAM verifiers, never in clear text (so they never appear in server logs).
/// </summary>
internal sealed class HostedDatabases(IOptions<HostedDatabaseOptions> options, PlatformDatabase platform)
{
    private NpgsqlConnectionStringBuilder Admin()
    {
        var builder = new NpgsqlConnectionStringBuilder(options.Value.AdminConnectionString is { Length: > 0 } configured
            ? configured
            : platform.ConnectionString)
        {
            Database = "postgres",
            Pooling = false,
        };
        return builder;
    }

    public string AdminHost => Admin().Host!;

    public int AdminPort => Admin().Port;

    /// <summary>Host and port for direct connections in the connection instructions.</summary>
    public (string Host, int Port) Public => (options.Value.PublicHost, options.Value.PublicPort ?? AdminPort);

    public static string DatabaseName(Guid orgId) => $"sequin_o_{Short(orgId)}";

    public static string EngineRole(Guid orgId) => $"sequin_o_{Short(orgId)}_engine";

    /// <summary>Random part of a UUIDv7 (its first 12 hex digits are a timestamp).</summary>
    public static string Short(Guid id) => id.ToString("N")[^12..];

    public static string NewPassword() =>
        WebEncoders.Base64UrlEncode(RandomNumberGenerator.GetBytes(24));

    /// <summary>Creates the organization's database and engine role when missing; sets the engine role's password.</summary>
    public async Task EnsureOrganizationDatabaseAsync(Guid orgId, string enginePassword, CancellationToken cancellationToken)
    {
        var database = DatabaseName(orgId);
        var engine = EngineRole(orgId);
        await using var admin = new NpgsqlConnection(Admin().ConnectionString);
        await admin.OpenAsync(cancellationToken);
        await ExecuteAsync(admin, $"""
            do $$ begin
              if not exists (select from pg_roles where rolname = 'sequin_sync') then create role sequin_sync nologin; end if;
              if not exists (select from pg_roles where rolname = {Literal(engine)}) then
                create role {Naming.Quote(engine)} login password {Literal(ScramVerifier.FromPassword(enginePassword).ToString())};
              else
                alter role {Naming.Quote(engine)} login password {Literal(ScramVerifier.FromPassword(enginePassword).ToString())};
              end if;
            end $$;
            grant sequin_sync to {Naming.Quote(engine)};
            """, cancellationToken);

        await using (var exists = new NpgsqlCommand("select 1 from pg_database where datname = $1", admin))
        {
            exists.Parameters.AddWithValue(database);
            if (await exists.ExecuteScalarAsync(cancellationToken) is null)
            {
                try
                {
                    await ExecuteAsync(admin, $"create database {Naming.Quote(database)}", cancellationToken);
                }
                catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.DuplicateDatabase)
                {
                }
            }
        }

        await ExecuteAsync(admin, $"""
            revoke all on database {Naming.Quote(database)} from public;
            grant connect, create, temporary on database {Naming.Quote(database)} to {Naming.Quote(engine)};
            """, cancellationToken);
    }

    /// <summary>
    /// Creates a sync's proxy backend role and read-only role, lets them connect, creates the schema owned by the
    /// engine role and gives both roles USAGE and (for tables the engine creates later) SELECT. The proxy role's
    /// INSERT/UPDATE/DELETE on synced tables are granted by provisioning (<c>_sequin.grant_proxy_backend</c>).
    /// </summary>
    public async Task CreateSyncRolesAsync(Guid orgId, string schema, string proxyRole, string proxyPassword, string readRole, string readPassword,
        CancellationToken cancellationToken)
    {
        var database = DatabaseName(orgId);
        var engine = EngineRole(orgId);
        await using (var admin = new NpgsqlConnection(Admin().ConnectionString))
        {
            await admin.OpenAsync(cancellationToken);
            await ExecuteAsync(admin, $"""
                create role {Naming.Quote(proxyRole)} login password {Literal(ScramVerifier.FromPassword(proxyPassword).ToString())};
                create role {Naming.Quote(readRole)} login password {Literal(ScramVerifier.FromPassword(readPassword).ToString())};
                grant connect, temporary on database {Naming.Quote(database)} to {Naming.Quote(proxyRole)};
                grant connect on database {Naming.Quote(database)} to {Naming.Quote(readRole)};
                """, cancellationToken);
        }

        var inDatabase = Admin();
        inDatabase.Database = database;
        await using var connection = new NpgsqlConnection(inDatabase.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        await ExecuteAsync(connection, $"""
            create schema if not exists {Naming.Quote(schema)} authorization {Naming.Quote(engine)};
            grant usage on schema {Naming.Quote(schema)} to {Naming.Quote(proxyRole)}, {Naming.Quote(readRole)};
            alter default privileges for role {Naming.Quote(engine)} in schema {Naming.Quote(schema)} grant select on tables to {Naming.Quote(proxyRole)}, {Naming.Quote(readRole)};
            """, cancellationToken);
    }

    /// <summary>Sets a role's password (rotation); existing sessions stay, new logins need the new password.</summary>
    public async Task SetPasswordAsync(string role, string password, CancellationToken cancellationToken)
    {
        await using var admin = new NpgsqlConnection(Admin().ConnectionString);
        await admin.OpenAsync(cancellationToken);
        await ExecuteAsync(admin, $"alter role {Naming.Quote(role)} password {Literal(ScramVerifier.FromPassword(password).ToString())}", cancellationToken);
    }

    /// <summary>Drops a sync's roles: revokes what they were granted in the organization's database, ends their sessions, drops them.</summary>
    public async Task DropRolesAsync(Guid orgId, IEnumerable<string> roles, CancellationToken cancellationToken)
    {
        var inDatabase = Admin();
        inDatabase.Database = DatabaseName(orgId);
        var list = roles.Distinct(StringComparer.Ordinal).ToList();
        await using (var connection = new NpgsqlConnection(inDatabase.ConnectionString))
        {
            await connection.OpenAsync(cancellationToken);
            foreach (var role in list)
            {
                await ExecuteAsync(connection, $"""
                    do $$ begin
                      if exists (select from pg_roles where rolname = {Literal(role)}) then
                        execute 'drop owned by ' || quote_ident({Literal(role)});
                      end if;
                    end $$;
                    """, cancellationToken);
            }
        }

        await using var admin = new NpgsqlConnection(Admin().ConnectionString);
        await admin.OpenAsync(cancellationToken);
        foreach (var role in list)
        {
            await using (var terminate = new NpgsqlCommand("select pg_terminate_backend(pid) from pg_stat_activity where usename = $1", admin))
            {
                terminate.Parameters.AddWithValue(role);
                await terminate.ExecuteNonQueryAsync(cancellationToken);
            }

            await ExecuteAsync(admin, $"revoke all on database {Naming.Quote(DatabaseName(orgId))} from {Naming.Quote(role)}; drop role if exists {Naming.Quote(role)}", cancellationToken);
        }
    }

    /// <summary>
    /// Accepts both forms users paste: <c>Host=…;Database=…;Username=…;Password=…</c> and
    /// <c>postgres://user:password@host:port/database?sslmode=require</c> (libpq URI); returns the key=value form.
    /// </summary>
    /// <exception cref="ArgumentException">neither form.</exception>
    public static string Normalize(string connectionString)
    {
        var text = connectionString.Trim();
        if (!text.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase) && !text.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase))
        {
            return new NpgsqlConnectionStringBuilder(text).ConnectionString;
        }

        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
        {
            throw new ArgumentException("the postgres:// URL cannot be parsed");
        }

        var userInfo = uri.UserInfo.Split(':', 2);
        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = uri.Host.Trim('[', ']'),
            Port = uri.IsDefaultPort || uri.Port <= 0 ? 5432 : uri.Port,
            Database = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/')),
            Username = userInfo[0].Length > 0 ? Uri.UnescapeDataString(userInfo[0]) : null,
            Password = userInfo.Length > 1 ? Uri.UnescapeDataString(userInfo[1]) : null,
        };
        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var kv = pair.Split('=', 2);
            if (kv[0].Equals("sslmode", StringComparison.OrdinalIgnoreCase) && kv.Length == 2
                && Enum.TryParse<SslMode>(kv[1].Replace("-", "", StringComparison.Ordinal), ignoreCase: true, out var ssl))
            {
                builder.SslMode = ssl;
            }
        }

        return builder.ConnectionString;
    }

    /// <summary>Whether a Postgres connection string connects (destination test); null when it does, the reason otherwise.</summary>
    public static async Task<string?> TryConnectAsync(string connectionString, CancellationToken cancellationToken)
    {
        try
        {
            var builder = new NpgsqlConnectionStringBuilder(Normalize(connectionString)) { Timeout = 5, Pooling = false };
            await using var connection = new NpgsqlConnection(builder.ConnectionString);
            await connection.OpenAsync(cancellationToken);
            await using var version = new NpgsqlCommand("select current_setting('server_version_num')::int", connection);
            var number = (int)(await version.ExecuteScalarAsync(cancellationToken))!;
            return number < 120000 ? $"Postgres {number / 10000} is too old; Sequin needs 12 or newer." : null;
        }
        catch (ArgumentException e)
        {
            return $"Not a valid connection string: {e.Message}";
        }
        catch (PostgresException e)
        {
            return $"{e.SqlState}: {e.MessageText}";
        }
        catch (NpgsqlException e)
        {
            return e.InnerException?.Message ?? e.Message;
        }
    }

    internal static string Literal(string value) => "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
