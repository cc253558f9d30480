using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.Data.Sqlite;
using ModelContextProtocol.Client;
using Xunit.Abstractions;

namespace X402Orleans.Cluster.Tests;

/// <summary>
/// Two Local-mode instances never share a state file or a port: the second refuses to start, with one line naming what is in
/// use (the holder's pid, or the port and its setting); the lock on the state file goes with its process, kill -9 included.
/// </summary>
public sealed class InstanceConflictTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Healthy = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan Refusal = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Start_ExitsNamingTheHolder_WhenTheStateFileIsInUse()
    {
        var folder = TestEnvironment.TempFolder("x402-conflict");
        try
        {
            var dbPath = Path.Combine(folder, "x402.db");
            var logs = Path.Combine(folder, "logs");
            var firstPorts = TestEnvironment.FreePorts(3);
            await using var first = NodeProcess.Start("conflict-1", TestEnvironment.SiloDll, firstPorts[0], Settings(dbPath, firstPorts), logs);
            await first.WaitHealthyAsync(Healthy);

            // Same state file, every port its own: refused because of the file alone.
            var secondPorts = TestEnvironment.FreePorts(3);
            await using var second = NodeProcess.Start("conflict-2", TestEnvironment.SiloDll, secondPorts[0], Settings(dbPath, secondPorts), logs);
            var exit = await second.WaitForExitAsync(Refusal);
            var line = OneLine(second);
            output.WriteLine($"exit {exit}: {line}");
            Assert.NotEqual(0, exit);
            Assert.StartsWith("x402orleans: ", line, StringComparison.Ordinal);
            Assert.Contains(dbPath, line, StringComparison.Ordinal);
            Assert.Contains($"process {first.ProcessId.ToString(CultureInfo.InvariantCulture)} ", line, StringComparison.Ordinal);
            Assert.Contains("X402__Storage__Path", line, StringComparison.Ordinal);
            Assert.Contains("X402__Cluster__SiloPort", line, StringComparison.Ordinal);

            // The first one never noticed.
            Assert.False(first.HasExited);
            await first.WaitHealthyAsync(TimeSpan.FromSeconds(10));
            await first.StopAsync(TimeSpan.FromSeconds(30));
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task Start_Succeeds_AfterTheHolderWasKilled()
    {
        var folder = TestEnvironment.TempFolder("x402-conflict-kill");
        try
        {
            var dbPath = Path.Combine(folder, "x402.db");
            var logs = Path.Combine(folder, "logs");
            var ports = TestEnvironment.FreePorts(3);
            await using (var first = NodeProcess.Start("killed-1", TestEnvironment.SiloDll, ports[0], Settings(dbPath, ports), logs))
            {
                await first.WaitHealthyAsync(Healthy);
                first.Kill();
            }

            // kill -9 ran no clean-up: the operating system released the lock with the process.
            await using var second = NodeProcess.Start("killed-2", TestEnvironment.SiloDll, ports[0], Settings(dbPath, ports), logs);
            await second.WaitHealthyAsync(Healthy);
            await second.StopAsync(TimeSpan.FromSeconds(30));
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }

    [Theory]
    [InlineData(0, "--urls")]
    [InlineData(1, "X402__Cluster__SiloPort")]
    [InlineData(2, "X402__Cluster__GatewayPort")]
    public async Task Start_ExitsNamingThePort_WhenAPortIsTaken(int taken, string setting)
    {
        var folder = TestEnvironment.TempFolder("x402-port");
        try
        {
            var ports = TestEnvironment.FreePorts(3);
            using var holder = new TcpListener(IPAddress.Loopback, ports[taken]);
            holder.Start();
            await using var node = NodeProcess.Start("port-taken", TestEnvironment.SiloDll, ports[0], Settings(Path.Combine(folder, "x402.db"), ports), Path.Combine(folder, "logs"));
            var exit = await node.WaitForExitAsync(Refusal);
            var line = OneLine(node);
            output.WriteLine($"exit {exit}: {line}");
            Assert.NotEqual(0, exit);
            Assert.StartsWith("x402orleans: ", line, StringComparison.Ordinal);
            Assert.Contains($"port {ports[taken].ToString(CultureInfo.InvariantCulture)} ({setting}", line, StringComparison.Ordinal);
            Assert.Contains("is in use", line, StringComparison.Ordinal);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task StdioConnect_ServesTheRunningSilosSessions_WithoutASecondSilo()
    {
        var folder = TestEnvironment.TempFolder("x402-connect");
        try
        {
            var ports = TestEnvironment.FreePorts(3);
            await using var silo = NodeProcess.Start("connect-silo", TestEnvironment.SiloDll, ports[0], Settings(Path.Combine(folder, "x402.db"), ports), Path.Combine(folder, "logs"));
            await silo.WaitHealthyAsync(Healthy);

            // A stdio gateway joined to that silo as an Orleans client: no lock, no ports of its own, no wallet key.
            var transport = new StdioClientTransport(new StdioClientTransportOptions
            {
                Command = "dotnet",
                Arguments = [TestEnvironment.SiloDll, "--stdio", "--connect"],
                WorkingDirectory = Path.GetDirectoryName(TestEnvironment.SiloDll),
                EnvironmentVariables = new Dictionary<string, string?>
                {
                    ["DOTNET_ENVIRONMENT"] = "Production",
                    ["Logging__LogLevel__Default"] = "Warning",
                    ["X402__Cluster__GatewayPort"] = ports[2].ToString(CultureInfo.InvariantCulture),
                    ["X402__Http__AllowPrivateTargets"] = "true",
                },
                Name = "stdio-connect",
            });
            using var connect = new CancellationTokenSource(TimeSpan.FromSeconds(90));
            await using var stdio = await McpClient.CreateAsync(transport, cancellationToken: connect.Token);
            var id = (await stdio.StartAsync(new Uri(silo.BaseUri, "/demo/weather").AbsoluteUri)).Ok()["session_id"].GetString()!;

            // The session is the silo's: its own HTTP gateway (the same anonymous local agent) sees it.
            await using var http = await McpTools.ConnectAsync(new Uri(silo.BaseUri, "/mcp"), null, "connect-http");
            Assert.Equal("active", SessionView.From(await http.StatusAsync(id)).Status);
            Assert.Equal("ended", (await stdio.EndAsync(id)).Ok()["outcome"].GetString());
            Assert.Equal("ended", SessionView.From(await http.StatusAsync(id)).Status);
            await silo.StopAsync(TimeSpan.FromSeconds(30));
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }

    private static Dictionary<string, string> Settings(string dbPath, int[] ports) => new()
    {
        ["X402__Storage__Path"] = dbPath,
        ["X402__Cluster__SiloPort"] = ports[1].ToString(CultureInfo.InvariantCulture),
        ["X402__Cluster__GatewayPort"] = ports[2].ToString(CultureInfo.InvariantCulture),
        ["X402__Wallet__PrivateKey"] = TestEnvironment.WalletKey,
    };

    /// <summary>Everything the refused process printed, which must be exactly one line.</summary>
    private static string OneLine(NodeProcess node)
    {
        var lines = node.Tail(1000).Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0).ToList();
        Assert.True(lines.Count == 1, $"expected one line, got {lines.Count}:\n{node.Tail()}");
        return lines[0];
    }
}
