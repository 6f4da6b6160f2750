using Sequin.Platform.Database;

namespace Sequin.Platform;

/// <summary>
/// Configuration section <c>Sequin:Platform</c> (environment: <c>SEQUIN__PLATFORM__...</c>).
/// </summary>
public sealed class PlatformOptions
{
    public const string Section = "Sequin:Platform";

    /// <summary>
    /// Npgsql connection string of the platform database
    /// (<c>SEQUIN__PLATFORM__CONNECTIONSTRING</c>). Empty: start the embedded cluster and use its
    /// <see cref="EmbeddedDatabase"/> database.
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>The embedded cluster used when <see cref="ConnectionString"/> is empty.</summary>
    public EmbeddedPostgresOptions Embedded { get; set; } = new();

    /// <summary>Name of the platform database inside the embedded cluster. Default <c>sequin</c>.</summary>
    public string EmbeddedDatabase { get; set; } = "sequin";

    /// <summary>Apply pending migrations at start-up (default true). When false, start-up refuses a stale schema.</summary>
    public bool ApplyMigrations { get; set; } = true;
}
