using System.Diagnostics;
using System.Text;

namespace Sequin.Testing;

/// <summary>
/// Runs the built host (<c>dotnet Sequin.Host.dll</c>) as a real process, as an operator would. A test project using
/// it must build the host first (a project reference to <c>src/Sequin.Host</c>, with
/// <c>ReferenceOutputAssembly="false"</c> when it does not use its types).
/// </summary>
public sealed class HostProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();

    private HostProcess(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (_stdout) { _stdout.AppendLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (_stderr) { _stderr.AppendLine(e.Data); } } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Stdout { get { lock (_stdout) { return _stdout.ToString(); } } }
    public string Stderr { get { lock (_stderr) { return _stderr.ToString(); } } }
    public int Id => _process.Id;
    public bool HasExited => _process.HasExited;
    public int ExitCode => _process.ExitCode;

    /// <summary>The host dll next to this test assembly's configuration (Debug/Release) under src/Sequin.Host/bin.</summary>
    public static string HostDll
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            var configuration = dir.Parent!.Name; // .../bin/{Configuration}/net10.0/
            var root = dir;
            while (root is not null && !File.Exists(Path.Combine(root.FullName, "Sequin.sln")))
            {
                root = root.Parent;
            }

            return Path.Combine(root!.FullName, "src", "Sequin.Host", "bin", configuration, "net10.0", "Sequin.Host.dll");
        }
    }

    public static HostProcess Start(IDictionary<string, string> environment)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(HostDll)!,
        };
        psi.ArgumentList.Add(HostDll);
        foreach (var (key, value) in environment)
        {
            psi.Environment[key] = value;
        }

        return new HostProcess(Process.Start(psi)!);
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    /// <summary>SIGKILL: the process dies at once, as in a crash (no shutdown hooks, no cluster check-out).</summary>
    public void KillHard()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    /// <summary>Sends SIGTERM (what Ctrl+C or a service manager sends) for a graceful shutdown.</summary>
    public void Terminate() => Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}
