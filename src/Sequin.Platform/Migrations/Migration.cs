using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Sequin.Platform.Migrations;

/// <summary>
/// One versioned SQL migration, named <c>NNNN_name.sql</c>. <see cref="Checksum"/> is the lowercase hex
/// SHA-256 of the file with line endings normalised to LF, so a checkout on Windows does not look edited.
/// </summary>
public sealed partial record Migration(int Version, string Name, string FileName, string Sql)
{
    public string Checksum { get; } = ComputeChecksum(Sql);

    /// <summary>Parses a file name and its SQL into a migration.</summary>
    /// <exception cref="MigrationException">the name is not <c>NNNN_name.sql</c>.</exception>
    public static Migration FromFile(string fileName, string sql)
    {
        var match = FileNamePattern().Match(fileName);
        if (!match.Success)
        {
            throw new MigrationException(fileName, $"migration file name '{fileName}' must look like 0001_name.sql");
        }

        return new Migration(int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture),
            match.Groups[2].Value, fileName, sql);
    }

    private static string ComputeChecksum(string sql) =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(sql.Replace("\r\n", "\n", StringComparison.Ordinal))))
            .ToLowerInvariant();

    [GeneratedRegex(@"^(\d{4})_([a-z0-9_]+)\.sql$")]
    private static partial Regex FileNamePattern();
}

/// <summary>Where migrations come from: the platform's embedded files, or a list (tests).</summary>
public interface IMigrationSource
{
    /// <summary>All migrations, ordered by version, versions unique.</summary>
    IReadOnlyList<Migration> Load();
}

/// <summary>The platform migrations compiled into this assembly from <c>Migrations/*.sql</c>.</summary>
public sealed class EmbeddedMigrationSource : IMigrationSource
{
    private const string ResourcePrefix = "Sequin.Platform.Migrations.";

    public IReadOnlyList<Migration> Load()
    {
        var assembly = typeof(EmbeddedMigrationSource).Assembly;
        var list = new List<Migration>();
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream, Encoding.UTF8);
            list.Add(Migration.FromFile(resource[ResourcePrefix.Length..], reader.ReadToEnd()));
        }

        return ListMigrationSource.Validate(list);
    }
}

/// <summary>A fixed list of migrations (used by tests and tools).</summary>
public sealed class ListMigrationSource(IEnumerable<Migration> migrations) : IMigrationSource
{
    private readonly IReadOnlyList<Migration> _migrations = Validate(migrations.ToList());

    public IReadOnlyList<Migration> Load() => _migrations;

    internal static IReadOnlyList<Migration> Validate(List<Migration> list)
    {
        list.Sort((a, b) => a.Version.CompareTo(b.Version));
        for (var i = 1; i < list.Count; i++)
        {
            if (list[i].Version == list[i - 1].Version)
            {
                throw new MigrationException(list[i].FileName,
                    $"migrations {list[i - 1].FileName} and {list[i].FileName} share version {list[i].Version}");
            }
        }

        return list;
    }
}

/// <summary>A migration could not be applied or verified. <see cref="FileName"/> names the migration file.</summary>
public sealed class MigrationException(string fileName, string message, Exception? inner = null)
    : Exception(message, inner)
{
    public string FileName { get; } = fileName;
}
