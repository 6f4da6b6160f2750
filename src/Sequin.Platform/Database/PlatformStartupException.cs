using System.Net.Sockets;
using Npgsql;
using Sequin.Platform.Migrations;

namespace Sequin.Platform.Database;

/// <summary>
/// The host cannot start because of the platform database. <see cref="Exception.Message"/> is one line for the
/// operator: which setting, what is wrong, how to fix it — printed instead of a stack trace.
/// </summary>
public sealed class PlatformStartupException(string message, Exception? inner = null) : Exception(message, inner)
{
    private const string Setting = "Sequin:Platform:ConnectionString (SEQUIN__PLATFORM__CONNECTIONSTRING)";

    /// <summary>Turns a known start-up failure into its one-line explanation; null for unknown failures.</summary>
    internal static string? TryDescribe(Exception e, PlatformOptions options)
    {
        var target = Describe(options);
        return e switch
        {
            MigrationException m => $"platform database migration refused: {m.Message}",
            EmbeddedPostgresException p => p.Message,
            PostgresException { SqlState: PostgresErrorCodes.InvalidPassword or PostgresErrorCodes.InvalidAuthorizationSpecification } p =>
                $"the platform database at {target} rejected the credentials ({p.SqlState}: {p.MessageText}); fix Username/Password in {Setting}",
            PostgresException { SqlState: PostgresErrorCodes.InvalidCatalogName } p =>
                $"the platform database at {target} does not exist ({p.MessageText}); create it (createdb) or fix Database in {Setting}",
            PostgresException p => $"the platform database at {target} answered {p.SqlState}: {p.MessageText}",
            NpgsqlException n when n.InnerException is SocketException or TimeoutException or IOException =>
                $"cannot reach the platform database at {target} ({n.InnerException!.Message}); start it, fix {Setting}, " +
                "or leave the setting empty to use the embedded Postgres",
            NpgsqlException n => $"cannot use the platform database at {target}: {n.Message}",
            _ => null,
        };
    }

    private static string Describe(PlatformOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            return "the embedded cluster";
        }

        try
        {
            var b = new NpgsqlConnectionStringBuilder(options.ConnectionString);
            return $"{b.Host}:{b.Port}/{b.Database}";
        }
        catch (ArgumentException)
        {
            return "(invalid connection string)";
        }
    }
}
