using System.Globalization;
using System.Text.RegularExpressions;

namespace X402Orleans.Cluster.Tests;

/// <summary>
/// Start-up as a user sees it, on the built hosts: an invalid setting stops the process (exit code 2, one line on stderr naming
/// the setting, no stack trace), and a correctly configured host starts without warnings.
/// </summary>
public sealed partial class StartupTests
{
    private const string NotAKeystore = "(a file that is not a keystore)";
    private static readonly TimeSpan ExitLimit = TimeSpan.FromSeconds(60);

    public static TheoryData<string, string, string, string> InvalidSettings => new()
    {
        // host, variable, value, the setting the message must name
        { "silo", "X402__Wallet__PrivateKey", "0x1234", "X402:Wallet:PrivateKey" },
        { "silo", "X402__Wallet__PrivateKeyFile", "/nonexistent/x402-key.txt", "X402:Wallet:PrivateKeyFile" },
        { "silo", "X402__Wallet__KeystoreFile", NotAKeystore, "X402:Wallet:KeystoreFile" },
        { "silo", "X402__Agents__0__ApiKey", "short", "X402:Agents:0" },
        { "silo", "X402__Payments__MaxPayment", "lots", "X402:Payments:MaxPayment" },
        { "silo", "X402__Cluster__Mode", "Cloud", "X402:Cluster:Mode" },
        { "silo", "X402__Sessions__RetentionSeconds", "-5", "X402:Sessions:RetentionSeconds" },
        { "stdio", "X402__Wallet__PrivateKey", "0x1234", "X402:Wallet:PrivateKey" },
        { "stdio", "X402__Agents__0__ApiKey", "short", "X402:Agents:0" },
        { "gateway", "X402__Agents__0__ApiKey", "short", "X402:Agents:0" },
        { "gateway", "X402__Cluster__Mode", "Cloud", "X402:Cluster:Mode" },
    };

    [Theory]
    [MemberData(nameof(InvalidSettings))]
    public async Task Start_ExitsWithCode2AndOneLineNamingTheSetting_WhenASettingIsInvalid(string host, string variable, string value, string setting)
    {
        var ports = TestEnvironment.FreePorts(3);
        var environment = BaseSettings(ports);
        environment[variable] = value;
        if (variable == "X402__Agents__0__ApiKey")
        {
            environment["X402__Agents__0__Id"] = TestEnvironment.AgentId;
        }

        if (host == "gateway" || variable.StartsWith("X402__Wallet__", StringComparison.Ordinal))
        {
            environment.Remove("X402__Wallet__PrivateKey");
            environment[variable] = value;
        }

        using var keystore = new TempFile("{ \"version\": 3 }");
        if (value == NotAKeystore)
        {
            environment[variable] = keystore.Path;
            environment["X402__Wallet__KeystorePassword"] = "password";
        }

        var start = NodeProcess.HostStartInfo(host == "gateway" ? TestEnvironment.GatewayDll : TestEnvironment.SiloDll, ports[0], environment);
        if (host == "stdio")
        {
            start.ArgumentList.Add("--stdio");
        }

        // A host that does not stop by itself is killed after the limit and the test fails with its output.
        var output = await ChildProcess.RunAsync(start, ExitLimit, stdin: string.Empty);

        Assert.True(output.ExitCode == 2, output.Describe());
        var lines = output.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var line = Assert.Single(lines, l => l.StartsWith("x402orleans: invalid configuration:", StringComparison.Ordinal));
        Assert.Contains(setting, line, StringComparison.Ordinal);
        Assert.DoesNotContain(lines, l => l.StartsWith("at ", StringComparison.Ordinal) || l.Contains("Exception:", StringComparison.Ordinal) || l.StartsWith("crit:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Start_LogsNoWarnings_WhenConfigured()
    {
        var folder = TestEnvironment.TempFolder("x402-startup");
        try
        {
            var ports = TestEnvironment.FreePorts(3);
            var environment = BaseSettings(ports);
            environment["X402__Storage__Path"] = Path.Combine(folder, "x402.db");
            environment["X402__Agents__0__Id"] = TestEnvironment.AgentId;
            environment["X402__Agents__0__ApiKey"] = TestEnvironment.AgentKey;

            var log = await StartAndStopAsync(environment, ports[0], folder);

            Assert.Empty(Warnings(log));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>
    /// The known warnings of a bare start, each a real condition the operator should hear about: no agents (anonymous agent, loopback
    /// only), no wallet (throwaway development wallet), grain state in memory. Nothing else.
    /// </summary>
    [Fact]
    public async Task Start_LogsOnlyTheDocumentedWarnings_WhenNothingIsConfigured()
    {
        var folder = TestEnvironment.TempFolder("x402-startup");
        try
        {
            var ports = TestEnvironment.FreePorts(3);
            var environment = BaseSettings(ports);
            environment.Remove("X402__Wallet__PrivateKey");

            var log = await StartAndStopAsync(environment, ports[0], folder);

            string[] expected = ["No agents configured", "No wallet configured", "X402:Storage:Path=:memory:"];
            var warnings = Warnings(log);
            Assert.All(warnings, w => Assert.Contains(expected, e => w.Contains(e, StringComparison.Ordinal)));
            Assert.All(expected, e => Assert.Contains(warnings, w => w.Contains(e, StringComparison.Ordinal)));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>
    /// An MCP client (or dnx) starts the server from its own folder: the program's appsettings.json (Orleans at Warning) must be
    /// read anyway. Before, the content root was the caller's folder, so the file was missed and Orleans' start-up chatter
    /// (dozens of info lines) went to the client's log.
    /// </summary>
    [Fact]
    public async Task Start_ReadsTheProgramsAppSettings_WhenStartedFromAnotherFolder()
    {
        var folder = TestEnvironment.TempFolder("x402-startup");
        try
        {
            var ports = TestEnvironment.FreePorts(3);
            var start = NodeProcess.HostStartInfo(TestEnvironment.SiloDll, ports[0], BaseSettings(ports));
            start.WorkingDirectory = folder;
            foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("Logging__LogLevel__", StringComparison.Ordinal)).ToList())
            {
                start.Environment.Remove(key); // the levels under test are the program's own
            }

            start.ArgumentList.Add(X402Orleans.Silo.X402Host.StdioFlag);

            // stdin closed at once: the stdio server starts its silo, sees the end of input and stops (exit 0).
            var output = await ChildProcess.RunAsync(start, ExitLimit, stdin: string.Empty);

            Assert.True(output.ExitCode == 0, output.Describe());
            Assert.Contains("Application started", output.Stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("info: Orleans.", output.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static Dictionary<string, string> BaseSettings(int[] ports) => new()
    {
        ["X402__Storage__Path"] = ":memory:",
        ["X402__Cluster__SiloPort"] = ports[1].ToString(CultureInfo.InvariantCulture),
        ["X402__Cluster__GatewayPort"] = ports[2].ToString(CultureInfo.InvariantCulture),
        ["X402__Wallet__PrivateKey"] = TestEnvironment.WalletKey,
    };

    /// <summary>Starts the silo, waits until it is healthy, stops it gracefully and returns everything it printed.</summary>
    private static async Task<string> StartAndStopAsync(Dictionary<string, string> environment, int httpPort, string folder)
    {
        string path;
        await using (var node = NodeProcess.Start("startup", TestEnvironment.SiloDll, httpPort, environment, Path.Combine(folder, "logs")))
        {
            await node.WaitHealthyAsync(TimeSpan.FromSeconds(90));
            await node.StopAsync(TimeSpan.FromSeconds(30));
            path = node.LogPath;
        }

        return await File.ReadAllTextAsync(path);
    }

    /// <summary>The warning, error and critical entries (simple console format: "warn: Category[id]" then the message on the next line).</summary>
    private static List<string> Warnings(string log)
    {
        var lines = log.Split('\n');
        var found = new List<string>();
        for (var i = 0; i < lines.Length; i++)
        {
            if (LevelPrefix().IsMatch(lines[i]))
            {
                found.Add(lines[i].Trim() + " " + (i + 1 < lines.Length ? lines[i + 1].Trim() : string.Empty));
            }
        }

        return found;
    }

    private sealed class TempFile : IDisposable
    {
        public TempFile(string content)
        {
            Path = System.IO.Path.GetTempFileName();
            File.WriteAllText(Path, content);
        }

        public string Path { get; }

        public void Dispose() => File.Delete(Path);
    }

    [GeneratedRegex(@"^\S*\s*(warn|fail|crit):", RegexOptions.CultureInvariant)]
    private static partial Regex LevelPrefix();
}
