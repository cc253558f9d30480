using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using ModelContextProtocol.Client;
using X402Orleans.EndToEnd.Tests.Infrastructure;
using X402Orleans.Testing;
using Xunit.Abstractions;
using ChildProcess = X402Orleans.Testing.ChildProcess;

namespace X402Orleans.EndToEnd.Tests;

/// <summary>
/// The stdio server as it ships: the silo packed as a NuGet MCP server (a .NET tool package of types DotnetTool and McpServer with
/// <c>.mcp/server.json</c>), run the way an MCP client's config runs it — <c>dotnet dnx X402Orleans.Silo --source &lt;folder&gt; --yes -- --stdio</c>
/// — and driven by the C# MCP SDK client over stdio. The package is packed from this build's output (<c>--no-build</c>; its
/// X402Orleans.Silo.dll is checked to be the one the suite was built with) under a version unique to the run, into a temporary
/// folder, and dnx extracts it into a temporary NuGet packages folder: nothing is left in the user's caches. It needs no chain, but
/// runs in the stack's collection so that the suite's child processes run one test at a time (2-core machines).
/// </summary>
[Collection(StackCollection.Name)]
public sealed class NuGetPackageTests(ITestOutputHelper output)
{
    private static readonly TimeSpan InitializeWithin = TimeSpan.FromSeconds(120);
    private static readonly string[] SessionTools = [McpTools.Start, McpTools.Fetch, McpTools.Status, McpTools.End];

    [Fact]
    public async Task PackedMcpServerPackage_RunsWithDnx_AndAnswersOverStdio()
    {
        using var packages = LocalPackages.Create("x402-nuget-");
        var work = packages.Work;
        var version = packages.Version;
        var feed = packages.Feed;
        var package = await packages.PackAsync(Path.Combine("silo", "X402Orleans.Silo", "X402Orleans.Silo.csproj"), "X402Orleans.Silo");
        AssertPackageShape(package, version);

        var ports = FreePorts.Take(2);
        var environment = new Dictionary<string, string?>
        {
            ["NUGET_PACKAGES"] = Path.Combine(work.FullName, "packages"),
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
            ["DOTNET_NOLOGO"] = "1",
            ["X402__Storage__Path"] = ":memory:",
            ["X402__Cluster__SiloPort"] = ports[0].ToString(CultureInfo.InvariantCulture),
            ["X402__Cluster__GatewayPort"] = ports[1].ToString(CultureInfo.InvariantCulture),
            ["X402__Wallet__PrivateKey"] = "0x" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)),
            ["X402__Demo__Enabled"] = "false",
            ["Logging__LogLevel__Default"] = "Warning",
        };
        var stderr = new List<string>();
        var transport = new StdioClientTransport(new StdioClientTransportOptions
        {
            Name = "x402orleans-dnx",
            Command = "dotnet",
            Arguments = ["dnx", "X402Orleans.Silo", "--version", version, "--source", feed, "--yes", "--", "--stdio"],
            WorkingDirectory = work.FullName,
            EnvironmentVariables = environment,
            ShutdownTimeout = TimeSpan.FromSeconds(20),
            StandardErrorLines = line =>
            {
                lock (stderr)
                {
                    stderr.Add(line);
                }
            },
        });

        var clock = Stopwatch.StartNew();
        McpClient client;
        using (var limit = new CancellationTokenSource(InitializeWithin))
        {
            try
            {
                client = await McpClient.CreateAsync(transport, cancellationToken: limit.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or InvalidOperationException)
            {
                throw new InvalidOperationException($"dnx did not answer initialize within {InitializeWithin.TotalSeconds} s; stderr:\n{Tail(stderr)}", ex);
            }
        }

        var initialized = clock.Elapsed;
        await using (client)
        {
            output.WriteLine($"dnx package: initialize answered {initialized.TotalSeconds:0.0} s after `dotnet dnx` started (first run of {version}: extract + start)");
            Assert.Equal("x402orleans", client.ServerInfo?.Name);

            using var listLimit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var tools = (await client.ListToolsAsync(cancellationToken: listLimit.Token)).Select(t => t.Name).ToHashSet();
            Assert.Superset(SessionTools.ToHashSet(), tools);

            var status = await client.CallAsync(McpTools.Status, []);
            Assert.False(status.IsError, status.Text);
            Assert.Equal(0, status["sessions"].GetArrayLength());
        }
    }

    /// <summary>Package types, the tool's entry point, <c>.mcp/server.json</c> at the version packed, and this build's silo.</summary>
    private static void AssertPackageShape(string package, string version)
    {
        using var zip = ZipFile.OpenRead(package);
        var nuspec = Read(zip, "X402Orleans.Silo.nuspec");
        Assert.Contains("<packageType name=\"DotnetTool\" />", nuspec, StringComparison.Ordinal);
        Assert.Contains("<packageType name=\"McpServer\" />", nuspec, StringComparison.Ordinal);
        Assert.Contains("x402orleans", Read(zip, "tools/net10.0/any/DotnetToolSettings.xml"), StringComparison.Ordinal);

        var server = JsonNode.Parse(Read(zip, ".mcp/server.json"))!;
        Assert.Equal(version, server["version"]!.GetValue<string>());
        var entry = server["packages"]![0]!;
        Assert.Equal("nuget", entry["registryType"]!.GetValue<string>());
        Assert.Equal("X402Orleans.Silo", entry["identifier"]!.GetValue<string>());
        Assert.Equal(version, entry["version"]!.GetValue<string>());
        Assert.Equal("stdio", entry["transport"]!["type"]!.GetValue<string>());
        Assert.Equal("--stdio", entry["packageArguments"]![0]!["value"]!.GetValue<string>());

        using var packed = zip.GetEntry("tools/net10.0/any/X402Orleans.Silo.dll")!.Open();
        using var built = File.OpenRead(Prerequisites.SiloDll);
        Assert.True(SHA256.HashData(packed).AsSpan().SequenceEqual(SHA256.HashData(built)), "the package's X402Orleans.Silo.dll is not this build's");
    }

    private static string Read(ZipArchive zip, string name) => LocalPackages.Read(zip, name);

    private static string Tail(List<string> lines)
    {
        lock (lines)
        {
            return string.Join('\n', lines.TakeLast(40));
        }
    }
}
