namespace X402Orleans.Cluster.Tests;

/// <summary>Where the built hosts are, which PostgreSQL to use, free loopback ports.</summary>
public static class TestEnvironment
{
    /// <summary>The environment variable holding the Npgsql connection string of a PostgreSQL superuser (see .ci/postgres.sh).</summary>
    public const string PostgresVariable = "X402_TEST_POSTGRES";

    /// <summary>A well-known public test key (Hardhat account #0); it never holds real funds.</summary>
    public const string WalletKey = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

    public const string AgentId = "agent-a";
    public const string AgentKey = "test-key-agent-a-0123456789abcdef";

    /// <summary>True when running under CI (CI=true): missing prerequisites fail instead of skipping.</summary>
    public static bool IsCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>The repository root (the folder holding X402Orleans.sln).</summary>
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>The build configuration of this test assembly (Debug or Release); the hosts are taken from the same one.</summary>
    public static string Configuration => NodeProcess.Configuration;

    /// <summary>
    /// The one-process host (silo + gateway) on free loopback ports with grain state in memory, the test wallet and
    /// <paramref name="extra"/> settings (a null value removes a setting). Not started.
    /// </summary>
    public static Microsoft.AspNetCore.Builder.WebApplication MemoryHost(IReadOnlyDictionary<string, string?>? extra = null)
    {
        var ports = FreePorts(3);
        var settings = new Dictionary<string, string?>
        {
            ["Logging:LogLevel:Default"] = "Warning",
            ["X402:Storage:Path"] = ":memory:",
            ["X402:Cluster:SiloPort"] = ports[1].ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["X402:Cluster:GatewayPort"] = ports[2].ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["X402:Wallet:PrivateKey"] = WalletKey,
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        return Silo.X402Host.CreateWebApp(
            ["--urls", $"http://127.0.0.1:{ports[0].ToString(System.Globalization.CultureInfo.InvariantCulture)}"],
            b => Microsoft.Extensions.Configuration.MemoryConfigurationBuilderExtensions.AddInMemoryCollection(b.Configuration, settings));
    }

    /// <summary>The built silo host.</summary>
    public static string SiloDll => HostDll("X402Orleans.Silo");

    /// <summary>The built standalone gateway host.</summary>
    public static string GatewayDll => HostDll("X402Orleans.GatewayHost");

    /// <summary>
    /// The PostgreSQL connection string, or a skip: outside CI a missing server skips with the reason; with CI=true it fails.
    /// </summary>
    public static string RequirePostgres()
    {
        var value = Environment.GetEnvironmentVariable(PostgresVariable);
        if (!string.IsNullOrWhiteSpace(value))
        {
            return value;
        }

        const string why = $"{PostgresVariable} is not set: start a private server with `eval \"$(bash .ci/postgres.sh start)\"` (stop it with `bash .ci/postgres.sh stop`).";
        if (IsCi)
        {
            Assert.Fail("CI=true but " + why);
        }

        Skip.If(true, why);
        return string.Empty;
    }

    /// <summary>Distinct free loopback TCP ports (held together while chosen, so they differ).</summary>
    public static int[] FreePorts(int count) => X402Orleans.Testing.FreePorts.Take(count);

    /// <summary>A fresh temporary folder for one test (deleted by the caller).</summary>
    public static string TempFolder(string prefix)
    {
        var path = Path.Combine(Path.GetTempPath(), $"{prefix}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(path);
        return path;
    }

    private static string HostDll(string project) => NodeProcess.HostDll(RepoRoot, project);

    private static string FindRepoRoot() =>
        RepositoryRoot.TryFind() ?? throw new InvalidOperationException("X402Orleans.sln not found above " + AppContext.BaseDirectory);
}
