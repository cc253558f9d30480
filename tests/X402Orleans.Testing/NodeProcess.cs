using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace X402Orleans.Testing;

/// <summary>
/// One host process (a silo or a gateway) started with <c>dotnet &lt;dll&gt;</c> on loopback ports, with its output in a log
/// file. <see cref="Kill"/> is kill -9; <see cref="StopAsync"/> is SIGTERM (graceful). Disposing kills whatever still runs.
/// </summary>
public sealed class NodeProcess : IAsyncDisposable
{
    private static readonly string[] ScrubbedPrefixes = ["X402__", "X402_FAULT_", "ConnectionStrings__", "ASPNETCORE_", "DOTNET_ENVIRONMENT", "Logging__"];
    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly object _logLock = new();

    private NodeProcess(string name, Process process, StreamWriter log, int httpPort, string logPath)
    {
        Name = name;
        _process = process;
        _log = log;
        HttpPort = httpPort;
        LogPath = logPath;
    }

    /// <summary>Name used in messages.</summary>
    public string Name { get; }

    /// <summary>The HTTP port (<c>/healthz</c>, and <c>/mcp</c> on gateways).</summary>
    public int HttpPort { get; }

    /// <summary>The process's output.</summary>
    public string LogPath { get; }

    /// <summary>The base URL.</summary>
    public Uri BaseUri => new($"http://127.0.0.1:{HttpPort.ToString(CultureInfo.InvariantCulture)}");

    /// <summary>The operating-system process id.</summary>
    public int ProcessId => _process.Id;

    /// <summary>Whether the process has exited.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>CPU time the process has used so far (user + system).</summary>
    public TimeSpan ProcessorTime
    {
        get
        {
            _process.Refresh();
            return _process.HasExited ? TimeSpan.Zero : _process.TotalProcessorTime;
        }
    }

    /// <summary>
    /// The build configuration of the running assembly (Release when it runs from a <c>bin/Release</c> folder, else Debug):
    /// test and benchmark processes launch the hosts built in the same one.
    /// </summary>
    public static string Configuration { get; } = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";

    /// <summary>The built host <paramref name="project"/> (under <c>silo/</c>) in <see cref="Configuration"/>; fails when it is not built.</summary>
    public static string HostDll(string repoRoot, string project)
    {
        var path = Path.Combine(repoRoot, "silo", project, "bin", Configuration, "net10.0", project + ".dll");
        return File.Exists(path) ? path : throw new FileNotFoundException($"{project} is not built ({path}); build X402Orleans.sln (-c {Configuration}) first.", path);
    }

    /// <summary>Starts <paramref name="dll"/> with exactly these X402 settings (inherited X402/ASP.NET settings are removed).</summary>
    public static NodeProcess Start(string name, string dll, int httpPort, IReadOnlyDictionary<string, string> environment, string logFolder)
    {
        var info = HostStartInfo(dll, httpPort, environment);
        Directory.CreateDirectory(logFolder);
        var logPath = Path.Combine(logFolder, $"{name}-{DateTime.UtcNow:HHmmssfff}.log");
        var log = new StreamWriter(logPath, append: false, Encoding.UTF8) { AutoFlush = true };
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var node = new NodeProcess(name, process, log, httpPort, logPath);
        process.OutputDataReceived += (_, e) => node.Write(e.Data);
        process.ErrorDataReceived += (_, e) => node.Write(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return node;
    }

    /// <summary>
    /// How <see cref="Start"/> runs <paramref name="dll"/>: <c>dotnet &lt;dll&gt; --urls http://127.0.0.1:port</c> with exactly these
    /// X402 settings (inherited X402/ASP.NET/logging settings removed), logging at Warning with the simple console format.
    /// </summary>
    public static ProcessStartInfo HostStartInfo(string dll, int httpPort, IReadOnlyDictionary<string, string> environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = Path.GetDirectoryName(dll)!,
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        info.ArgumentList.Add(dll);
        info.ArgumentList.Add("--urls");
        info.ArgumentList.Add($"http://127.0.0.1:{httpPort.ToString(CultureInfo.InvariantCulture)}");
        foreach (var key in info.Environment.Keys.Where(k => ScrubbedPrefixes.Any(p => k.StartsWith(p, StringComparison.OrdinalIgnoreCase))).ToList())
        {
            info.Environment.Remove(key);
        }

        info.Environment["DOTNET_ENVIRONMENT"] = "Production";
        info.Environment["Logging__LogLevel__Default"] = "Warning";
        info.Environment["Logging__LogLevel__Orleans.Runtime.MembershipService"] = "Information";
        info.Environment["Logging__Console__FormatterName"] = "simple";
        info.Environment["Logging__Console__FormatterOptions__TimestampFormat"] = "HH:mm:ss.fff ";
        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        return info;
    }

    /// <summary>Waits until <paramref name="path"/> (default <c>/healthz</c>) answers 200; fails with the log's tail when the process exits or time runs out.</summary>
    public async Task WaitHealthyAsync(TimeSpan timeout, string path = "/healthz")
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{Name} exited with code {_process.ExitCode} before it was healthy:\n{Tail()}");
            }

            try
            {
                using var response = await http.GetAsync(new Uri(BaseUri, path));
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"{Name} was not healthy within {timeout.TotalSeconds}s:\n{Tail()}");
    }

    /// <summary>
    /// Waits until the process exits by itself (its output read to the end) and returns its exit code; fails with the log's tail
    /// when it still runs after <paramref name="timeout"/> (it is left running: disposing kills it).
    /// </summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var limit = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"{Name} was still running after {timeout.TotalSeconds}s:\n{Tail()}");
        }

        return _process.ExitCode;
    }

    /// <summary>kill -9.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }
    }

    /// <summary>SIGTERM, then waits for a graceful exit (kill -9 after <paramref name="timeout"/>).</summary>
    public async Task StopAsync(TimeSpan timeout)
    {
        if (_process.HasExited)
        {
            return;
        }

        using (var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-TERM", _process.Id.ToString(CultureInfo.InvariantCulture) }, UseShellExecute = false }))
        {
            await kill!.WaitForExitAsync();
        }

        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            Kill();
        }
    }

    /// <summary>The last lines of the log.</summary>
    public string Tail(int lines = 60)
    {
        lock (_logLock)
        {
            _log.Flush();
        }

        try
        {
            using var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            var all = reader.ReadToEnd().Split('\n');
            return string.Join('\n', all.Skip(Math.Max(0, all.Length - lines)));
        }
        catch (IOException ex)
        {
            return $"(log unreadable: {ex.Message})";
        }
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        Kill();
        _process.Dispose();
        lock (_logLock)
        {
            _log.Dispose();
        }

        return ValueTask.CompletedTask;
    }

    private void Write(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_logLock)
        {
            try
            {
                _log.WriteLine(line);
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }
}
