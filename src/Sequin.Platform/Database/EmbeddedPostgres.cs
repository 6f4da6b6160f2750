using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Sequin.Platform.Database;

/// <summary>
/// A local PostgreSQL 15 cluster under a folder of the project (default <c>.sequin/pg</c>), started on a free
/// loopback port. Used as the embedded default when no platform connection string is configured, and by the
/// test fixture for throwaway clusters. Postgres refuses to run as root, so when this process is root every
/// server command runs as the <c>postgres</c> OS user through <c>runuser</c>.
/// </summary>
/// <remarks>
/// Layout under <see cref="EmbeddedPostgresOptions.DataDirectory"/>: <c>data/</c> (the cluster),
/// <c>run/</c> (Unix socket), <c>superuser.password</c> (0600; the <c>postgres</c> role's password, SCRAM auth
/// on 127.0.0.1), <c>server.log</c>. When the cluster is already running (another host started it) it is reused
/// and left running on <see cref="StopAsync"/>.
/// </remarks>
public sealed class EmbeddedPostgres : IAsyncDisposable
{
    private readonly EmbeddedPostgresOptions _options;
    private readonly ILogger _logger;
    private bool _ownsServer;

    public EmbeddedPostgres(EmbeddedPostgresOptions options, ILogger? logger = null)
    {
        _options = options;
        _logger = logger ?? NullLogger.Instance;
        Root = Path.GetFullPath(options.DataDirectory);
    }

    /// <summary>Absolute path of the folder that holds the cluster, socket, password file and log.</summary>
    public string Root { get; }

    private string DataDir => Path.Combine(Root, "data");
    private string SocketDir => Path.Combine(Root, "run");
    private string PasswordFile => Path.Combine(Root, "superuser.password");
    private string LogFile => Path.Combine(Root, "server.log");

    /// <summary>TCP port the server listens on (127.0.0.1), known after <see cref="StartAsync"/>.</summary>
    public int Port { get; private set; }

    /// <summary>Password of the <c>postgres</c> superuser, known after <see cref="StartAsync"/>.</summary>
    public string SuperuserPassword { get; private set; } = "";

    /// <summary>Connection string for the superuser to <paramref name="database"/> over TCP loopback.</summary>
    public string ConnectionString(string database = "postgres") =>
        $"Host=127.0.0.1;Port={Port};Username=postgres;Password={SuperuserPassword};Database={database}";

    private static bool IsRoot => Environment.UserName == "root" || GetEuid() == 0;

    /// <summary>
    /// Initialises the cluster if the folder is empty, then starts it (or attaches to it when it already runs).
    /// </summary>
    /// <exception cref="EmbeddedPostgresException">binaries missing, initdb or start failed; the message says how to fix it.</exception>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        var bin = FindBinDirectory(_options.BinDirectory)
            ?? throw new EmbeddedPostgresException(
                "PostgreSQL 15 server binaries (initdb, pg_ctl) were not found. Install them with: " +
                "sudo apt-get install -y postgresql-15   (or set Sequin:Platform:Embedded:BinDirectory)");

        Directory.CreateDirectory(Root);
        Directory.CreateDirectory(SocketDir);
        if (IsRoot)
        {
            // The server runs as 'postgres': it must own its folders.
            await RunAsync("chown", ["-R", "postgres:postgres", Root], asPostgres: false, cancellationToken);
            var (reachable, _) = await RunAsync("test", ["-w", Root], asPostgres: true, cancellationToken);
            if (reachable != 0)
            {
                throw new EmbeddedPostgresException(
                    $"the postgres OS user cannot reach {Root} (Postgres runs as 'postgres' when Sequin runs as root): " +
                    $"every parent folder must be searchable, e.g. chmod o+x {Path.GetDirectoryName(Root)}; " +
                    "or set Sequin:Platform:Embedded:DataDirectory to a folder outside private directories");
            }
        }

        if (!File.Exists(Path.Combine(DataDir, "PG_VERSION")))
        {
            await InitDbAsync(bin, cancellationToken);
        }

        SuperuserPassword = (await File.ReadAllTextAsync(PasswordFile, cancellationToken)).Trim();

        var running = ReadRunningPort();
        if (running is { } port && await CanConnectAsync(port, cancellationToken))
        {
            Port = port;
            _ownsServer = false;
            _logger.LogInformation("Embedded Postgres already running in {Root} on port {Port}; reusing it", Root, Port);
            return;
        }

        // A stable port keeps connection instructions valid across restarts: reuse the last one while it is free.
        Port = _options.Port is > 0 ? _options.Port.Value : ReusablePort() ?? FindFreePort();
        await File.WriteAllTextAsync(Path.Combine(Root, "port"), Port.ToString(CultureInfo.InvariantCulture), cancellationToken);
        var serverOptions = string.Join(' ',
            $"-p {Port}",
            "-c listen_addresses=127.0.0.1",
            $"-c unix_socket_directories='{SocketDir}'",
            $"-c max_connections={_options.MaxConnections}",
            string.Join(' ', _options.ServerSettings.Select(kv => $"-c {kv.Key}={kv.Value}")));
        var (code, output) = await RunAsync(Path.Combine(bin, "pg_ctl"),
            ["start", "-w", "-t", "60", "-D", DataDir, "-l", LogFile, "-o", serverOptions],
            asPostgres: IsRoot, cancellationToken);
        if (code != 0)
        {
            throw new EmbeddedPostgresException(
                $"Embedded Postgres failed to start in {DataDir} on port {Port}: {Tail(output)} {Tail(ReadLogTail())}");
        }

        _ownsServer = true;
        _logger.LogInformation("Embedded Postgres started in {Root} on 127.0.0.1:{Port}", Root, Port);
    }

    /// <summary>Stops the server with <c>pg_ctl stop -m fast</c> if this instance started it.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (!_ownsServer)
        {
            return;
        }

        _ownsServer = false;
        var bin = FindBinDirectory(_options.BinDirectory);
        if (bin is null)
        {
            return;
        }

        await RunAsync(Path.Combine(bin, "pg_ctl"), ["stop", "-w", "-m", "fast", "-D", DataDir], IsRoot, cancellationToken);
        _logger.LogInformation("Embedded Postgres in {Root} stopped", Root);
    }

    /// <summary>Stops the server (if owned) and, when <paramref name="deleteFiles"/>, removes the folder.</summary>
    public async Task DestroyAsync(bool deleteFiles)
    {
        await StopAsync();
        if (deleteFiles && Directory.Exists(Root))
        {
            Directory.Delete(Root, recursive: true);
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync();

    private async Task InitDbAsync(string bin, CancellationToken cancellationToken)
    {
        var password = Convert.ToHexString(RandomNumberGenerator.GetBytes(24)).ToLowerInvariant();
        await File.WriteAllTextAsync(PasswordFile, password, cancellationToken);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(PasswordFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        if (IsRoot)
        {
            await RunAsync("chown", ["postgres:postgres", PasswordFile], asPostgres: false, cancellationToken);
        }

        var (code, output) = await RunAsync(Path.Combine(bin, "initdb"),
            ["-D", DataDir, "-U", "postgres", "--pwfile", PasswordFile, "--auth-host=scram-sha-256",
             "--auth-local=peer", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"],
            IsRoot, cancellationToken);
        if (code != 0)
        {
            throw new EmbeddedPostgresException($"initdb failed for {DataDir}: {Tail(output)}");
        }

        _logger.LogInformation("Initialised embedded Postgres cluster in {DataDir}", DataDir);
    }

    /// <summary>Reads the port of a live postmaster from <c>postmaster.pid</c> (line 4), if the process exists.</summary>
    private int? ReadRunningPort()
    {
        var pidFile = Path.Combine(DataDir, "postmaster.pid");
        if (!File.Exists(pidFile))
        {
            return null;
        }

        try
        {
            var lines = File.ReadAllLines(pidFile);
            if (lines.Length < 4 || !int.TryParse(lines[0], out var pid) || !Directory.Exists($"/proc/{pid}"))
            {
                return null;
            }

            return int.TryParse(lines[3], NumberStyles.Integer, CultureInfo.InvariantCulture, out var port) ? port : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static async Task<bool> CanConnectAsync(int port, CancellationToken cancellationToken)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private int? ReusablePort()
    {
        var file = Path.Combine(Root, "port");
        if (!File.Exists(file) || !int.TryParse(File.ReadAllText(file).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var port))
        {
            return null;
        }

        try
        {
            using var probe = new TcpListener(IPAddress.Loopback, port);
            probe.Start();
            probe.Stop();
            return port;
        }
        catch (SocketException)
        {
            return null;
        }
    }

    /// <summary>Asks the kernel for a free loopback port (bind to 0, read it, release it).</summary>
    public static int FindFreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>
    /// The folder holding <c>initdb</c> and <c>pg_ctl</c>: the configured one, Debian's
    /// <c>/usr/lib/postgresql/15/bin</c>, or any <c>/usr/lib/postgresql/N/bin</c> (newest first). Null when absent.
    /// </summary>
    public static string? FindBinDirectory(string? configured)
    {
        if (!string.IsNullOrEmpty(configured))
        {
            return File.Exists(Path.Combine(configured, "pg_ctl")) ? configured : null;
        }

        const string debian = "/usr/lib/postgresql";
        if (File.Exists(Path.Combine(debian, "15", "bin", "pg_ctl")))
        {
            return Path.Combine(debian, "15", "bin");
        }

        if (!Directory.Exists(debian))
        {
            return null;
        }

        return Directory.GetDirectories(debian)
            .Select(d => Path.Combine(d, "bin"))
            .Where(d => File.Exists(Path.Combine(d, "pg_ctl")))
            .OrderByDescending(d => d, StringComparer.Ordinal)
            .FirstOrDefault();
    }

    private string ReadLogTail()
    {
        try
        {
            return File.Exists(LogFile) ? string.Join('\n', File.ReadLines(LogFile).TakeLast(5)) : "";
        }
        catch (IOException)
        {
            return "";
        }
    }

    private static string Tail(string text) => text.Length > 600 ? text[^600..] : text.Trim();

    private static async Task<(int Code, string Output)> RunAsync(
        string file, IReadOnlyList<string> args, bool asPostgres, CancellationToken cancellationToken)
    {
        var psi = new ProcessStartInfo
        {
            FileName = asPostgres ? "runuser" : file,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = "/",
        };
        if (asPostgres)
        {
            foreach (var a in (string[])["-u", "postgres", "--", file])
            {
                psi.ArgumentList.Add(a);
            }
        }

        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        // pg_ctl's server inherits our stdout/stderr pipes otherwise and would keep them open forever.
        psi.Environment["LC_ALL"] = "C.UTF-8";
        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new EmbeddedPostgresException($"could not start {file}");
        }
        catch (Win32Exception e)
        {
            throw new EmbeddedPostgresException($"could not run {psi.FileName}: {e.Message}");
        }

        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
            var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
            await process.WaitForExitAsync(cancellationToken);
            var output = new StringBuilder().Append(await stdout).Append(await stderr).ToString();
            return (process.ExitCode, output);
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "geteuid")]
    private static extern uint GetEuid();
}

/// <summary>Settings of an <see cref="EmbeddedPostgres"/> cluster (configuration section <c>Sequin:Platform:Embedded</c>).</summary>
public sealed class EmbeddedPostgresOptions
{
    /// <summary>Folder of the cluster; relative paths resolve against the working directory. Default <c>.sequin/pg</c>.</summary>
    public string DataDirectory { get; set; } = ".sequin/pg";

    /// <summary>Fixed port; null or 0 picks a free loopback port at each start.</summary>
    public int? Port { get; set; }

    /// <summary>Folder of <c>pg_ctl</c>/<c>initdb</c>; null searches <c>/usr/lib/postgresql/*/bin</c>.</summary>
    public string? BinDirectory { get; set; }

    /// <summary>Server <c>max_connections</c>. Default 200 (proxy sessions, sync workers and the API share it).</summary>
    public int MaxConnections { get; set; } = 200;

    /// <summary>Extra <c>-c name=value</c> server settings (tests turn fsync off, for instance).</summary>
    public Dictionary<string, string> ServerSettings { get; set; } = [];
}

/// <summary>The embedded cluster could not be set up; the message names the cause and the fix.</summary>
public sealed class EmbeddedPostgresException(string message) : Exception(message);
