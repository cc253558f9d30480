using System.Globalization;
using System.IO.Compression;
using System.Text.Json.Nodes;
using X402Orleans.EndToEnd.Tests.Infrastructure;
using X402Orleans.Testing;
using Xunit.Abstractions;
using ChildProcess = X402Orleans.Testing.ChildProcess;

namespace X402Orleans.EndToEnd.Tests;

/// <summary>
/// The protocol library as it ships: <c>X402Orleans.Payments</c> packed from this build under a version unique to the run into a
/// folder feed, and a console app generated from scratch outside the repository (its own csproj, Program.cs and NuGet.config:
/// the folder feed plus the machine's configured sources) that references the package, restores it, builds, and pays the official
/// x402 server on the local chain with <c>X402PaymentHandler</c> — once, then reusing the purchase by sign-in-with-x. Restore stays
/// offline-safe: the machine's global packages folder is a read-only fallback folder and the app restores into its own folder, so
/// nothing is left in the user's caches.
/// </summary>
[Collection(StackCollection.Name)]
public sealed class PaymentsPackageTests(StackFixture fixture, ITestOutputHelper output)
{
    private const string PackageId = "X402Orleans.Payments";
    private static readonly TimeSpan BuildWithin = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan RunWithin = TimeSpan.FromMinutes(2);

    private X402Stack Stack => fixture.Stack;

    [Fact]
    public async Task PackedPaymentsPackage_ConsoleAppPaysOfficialServerOnChain_ThenReusesBySignInWithX()
    {
        using var packages = LocalPackages.Create("x402-paypkg-");
        var package = await packages.PackAsync(Path.Combine("src", "X402Orleans.Payments", "X402Orleans.Payments.csproj"), PackageId);
        AssertPackageShape(package, packages.Version);

        var app = WriteConsoleApp(packages);
        var appOutput = Path.Combine(packages.Work.FullName, "out");
        var environment = new Dictionary<string, string> { ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1", ["DOTNET_NOLOGO"] = "1" };
        var build = await ChildProcess.RunAsync("dotnet", ["build", app, "-c", "Debug", "--nologo", "-o", appOutput], packages.Work.FullName, BuildWithin, environment: environment);
        Assert.True(build.ExitCode == 0, "the console app did not build against the package: " + build.Describe());

        var ns = StackFixture.NewNamespace();
        var prefix = $"/api/{ns}/";
        var url = Stack.MainServer + $"/api/{ns}/weather";
        var wallet = Stack.FundedWallets[2];
        var payTo = Stack.PayTo("main");
        var price = Stack.Price("weather");
        var ledger = await Ledger.TakeAsync(Stack, wallet.Address, payTo, Stack.FacilitatorAddress);

        var run = await ChildProcess.RunAsync(
            "dotnet",
            [Path.Combine(appOutput, "PaysWithPackage.dll"), url, Stack.Network, Stack.Token],
            packages.Work.FullName,
            RunWithin,
            environment: new Dictionary<string, string>(environment) { ["X402_APP_PRIVATE_KEY"] = wallet.PrivateKey });
        output.WriteLine(run.Stdout);
        Assert.True(run.ExitCode == 0, "the console app failed: " + run.Describe());
        Assert.DoesNotContain(wallet.PrivateKey[2..], run.Stdout + run.Stderr, StringComparison.OrdinalIgnoreCase);
        var lines = run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        Assert.Equal(2, lines.Count);

        // first request: paid once, settled on chain by the official facilitator
        var first = lines[0];
        Assert.Equal(200, first["status"]!.GetValue<int>());
        Assert.Equal("Paid", first["access"]!.GetValue<string>());
        AssertServedResource(first, $"/api/{ns}/weather");
        Assert.True(first["settled"]!.GetValue<bool>());
        Assert.Equal(wallet.Address, first["payer"]!.GetValue<string>(), ignoreCase: true);
        var transaction = first["transaction"]!.GetValue<string>();
        Assert.Matches("^0x[0-9a-fA-F]{64}$", transaction);
        var receipt = await Stack.Chain.ReceiptAsync(transaction);
        Assert.NotNull(receipt);
        Assert.Equal("0x1", receipt!["status"]!.GetValue<string>());
        Assert.Equal(Stack.Token, receipt["to"]!.GetValue<string>(), ignoreCase: true);

        // second request: reused by sign-in-with-x, nothing paid
        var second = lines[1];
        Assert.Equal(200, second["status"]!.GetValue<int>());
        Assert.Equal("SignedIn", second["access"]!.GetValue<string>());
        AssertServedResource(second, $"/api/{ns}/weather");
        Assert.Null(second["transaction"]);
        Assert.Equal("0.001", second["spent"]!.GetValue<string>());

        Assert.Equal(-price, await ledger.DeltaAsync(wallet.Address));
        Assert.Equal(price, await ledger.DeltaAsync(payTo));
        var stats = await Stack.GetStatsAsync();
        var settlement = Assert.Single(stats.Settlements("main", prefix));
        Assert.Equal(transaction, settlement["transaction"]!.GetValue<string>());
        Assert.Single(stats.SignInEvents("main", "access_granted", prefix));
        Assert.Equal(2, stats.Delivered("main", prefix));
    }

    /// <summary>The app printed the official route handler's answer for <paramref name="path"/>.</summary>
    private static void AssertServedResource(JsonObject line, string path)
    {
        var body = JsonNode.Parse(line["body"]!.GetValue<string>())!;
        Assert.True(body["ok"]!.GetValue<bool>());
        Assert.Equal(path, body["path"]!.GetValue<string>());
    }

    /// <summary>Identity, license, readme, symbols, the library and its XML docs; dependencies are public packages only.</summary>
    private static void AssertPackageShape(string package, string version)
    {
        Assert.True(File.Exists(Path.ChangeExtension(package, ".snupkg")), "no symbol package beside " + package);
        using var zip = ZipFile.OpenRead(package);
        var nuspec = LocalPackages.Read(zip, $"{PackageId}.nuspec");
        Assert.Contains($"<id>{PackageId}</id>", nuspec, StringComparison.Ordinal);
        Assert.Contains($"<version>{version}</version>", nuspec, StringComparison.Ordinal);
        Assert.Contains("<license type=\"expression\">MIT</license>", nuspec, StringComparison.Ordinal);
        Assert.Contains("<readme>README.md</readme>", nuspec, StringComparison.Ordinal);
        Assert.Contains("X402PaymentHandler", LocalPackages.Read(zip, "README.md"), StringComparison.Ordinal);
        Assert.NotNull(zip.GetEntry($"lib/net10.0/{PackageId}.dll"));
        Assert.NotNull(zip.GetEntry($"lib/net10.0/{PackageId}.xml"));
        Assert.DoesNotContain("<dependency id=\"X402Orleans", nuspec, StringComparison.Ordinal);
        Assert.Contains("<dependency id=\"Nethereum.Signer.EIP712\"", nuspec, StringComparison.Ordinal);
    }

    /// <summary>Writes the app (outside the repository, isolated from any Directory.*.props above it) and returns its csproj.</summary>
    private static string WriteConsoleApp(LocalPackages packages)
    {
        var folder = Directory.CreateDirectory(Path.Combine(packages.Work.FullName, "app")).FullName;
        var globalPackages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } configured
            ? configured
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        File.WriteAllText(Path.Combine(folder, "Directory.Build.props"), "<Project>\n  <PropertyGroup>\n    <ImportDirectoryPackagesProps>false</ImportDirectoryPackagesProps>\n  </PropertyGroup>\n</Project>\n");
        File.WriteAllText(Path.Combine(folder, "Directory.Build.targets"), "<Project />\n");
        File.WriteAllText(Path.Combine(folder, "NuGet.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="x402-test-feed" value="{packages.Feed}" />
              </packageSources>
              <config>
                <add key="globalPackagesFolder" value="{Path.Combine(packages.Work.FullName, "packages")}" />
              </config>
              <fallbackPackageFolders>
                <add key="machine-packages" value="{globalPackages}" />
              </fallbackPackageFolders>
            </configuration>
            """);
        var project = Path.Combine(folder, "PaysWithPackage.csproj");
        File.WriteAllText(project, $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
                <NuGetAudit>false</NuGetAudit>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="{PackageId}" Version="{packages.Version}" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(folder, "Program.cs"), """
            // Pays an x402 URL with the X402Orleans.Payments package, twice: args = url network token; key in X402_APP_PRIVATE_KEY.
            using System.Text.Json.Nodes;
            using X402Orleans.Payments;
            using X402Orleans.Payments.Http;
            using X402Orleans.Payments.Policy;
            using X402Orleans.Payments.Signing;

            var (url, network, token) = (args[0], args[1], args[2]);
            var signer = LocalPrivateKeySigner.FromHex(Environment.GetEnvironmentVariable("X402_APP_PRIVATE_KEY")!);
            var asset = new AssetInfo(network, token, 6, "USDC");
            var options = new X402PaymentOptions
            {
                Policy = new PaymentPolicy { Networks = [network], Assets = [asset], MaxPayment = "0.01" },
                MaxTotal = "0.01",
            };
            var handler = new X402PaymentHandler(signer, options, new SocketsHttpHandler());
            using var http = new HttpClient(handler);
            for (var i = 0; i < 2; i++)
            {
                using var response = await http.GetAsync(new Uri(url));
                var outcome = response.GetX402Outcome();
                Console.WriteLine(new JsonObject
                {
                    ["status"] = (int)response.StatusCode,
                    ["access"] = outcome?.Access.ToString(),
                    ["payer"] = outcome?.Payer,
                    ["settled"] = outcome?.Settlement?.Success,
                    ["transaction"] = outcome?.Settlement?.Transaction,
                    ["spent"] = AtomicAmount.Format(handler.GetSpent(network, token), asset.Decimals),
                    ["body"] = await response.Content.ReadAsStringAsync(),
                }.ToJsonString());
            }
            """);
        return project;
    }
}
