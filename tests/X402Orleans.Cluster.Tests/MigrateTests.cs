using System.Globalization;
using X402Orleans.Testing;

namespace X402Orleans.Cluster.Tests;

/// <summary>
/// A race-free cluster start: a silo that does not apply the schema waits for it instead of crashing on a missing table, and
/// `migrate` applies it and exits — in whatever order the processes start.
/// </summary>
public sealed class MigrateTests
{
    [SkippableFact]
    public async Task Silo_WaitsForTheSchemaThenServes_WhenStartedBeforeMigrateOnAnEmptyDatabase()
    {
        await using var db = await PostgresDatabase.CreateAsync(applySchema: false);
        var folder = TestEnvironment.TempFolder("x402-migrate");
        var ports = TestEnvironment.FreePorts(3);
        var environment = new Dictionary<string, string>
        {
            ["X402__Cluster__Mode"] = "AdoNet",
            ["ConnectionStrings__X402"] = db.ConnectionString,
            ["X402__Cluster__ClusterId"] = $"m{Guid.NewGuid():N}"[..12],
            ["X402__Cluster__HostMcp"] = "false",
            ["X402__Cluster__SiloPort"] = ports[1].ToString(CultureInfo.InvariantCulture),
            ["X402__Cluster__GatewayPort"] = ports[2].ToString(CultureInfo.InvariantCulture),
        };

        // The silo starts first, on a database with no schema (before: it died with 42P01 "relation orleansquery does not exist").
        await using var silo = NodeProcess.Start("silo-before-migrate", TestEnvironment.SiloDll, ports[0], environment, Path.Combine(folder, "logs"));
        Assert.True(await EventuallyLoggedAsync(silo, "Waiting for the PostgreSQL schema"), silo.Tail());

        var migrate = await ChildProcess.RunAsync("dotnet", [TestEnvironment.SiloDll, "migrate"], folder, TimeSpan.FromMinutes(2), environment: environment);
        var again = await ChildProcess.RunAsync("dotnet", [TestEnvironment.SiloDll, "migrate"], folder, TimeSpan.FromMinutes(2), environment: environment);

        Assert.True(migrate.ExitCode == 0, migrate.Describe());
        Assert.Contains("PostgreSQL schema applied", migrate.Stdout, StringComparison.Ordinal);
        Assert.True(again.ExitCode == 0, again.Describe());
        await silo.WaitHealthyAsync(TimeSpan.FromSeconds(90));
        Assert.False(silo.HasExited);
    }

    [Fact]
    public async Task Migrate_ExitsWithOneLineNamingTheSetting_WhenTheClusterSettingsAreInvalid()
    {
        var folder = TestEnvironment.TempFolder("x402-migrate-bad");
        var result = await ChildProcess.RunAsync(
            "dotnet", [TestEnvironment.SiloDll, "migrate"], folder, TimeSpan.FromMinutes(2), environment: new Dictionary<string, string> { ["X402__Cluster__Mode"] = "Postgress" });

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("X402:Cluster:Mode", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Stderr, StringComparison.Ordinal);
    }

    // The silo's log is a file written as it runs; read until the line is there (bounded; each read is the file as it stands).
    private static async Task<bool> EventuallyLoggedAsync(NodeProcess process, string text)
    {
        var giveUpAt = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (DateTime.UtcNow < giveUpAt && !process.HasExited)
        {
            if (File.Exists(process.LogPath) && process.Tail(400).Contains(text, StringComparison.Ordinal))
            {
                return true;
            }

            await Task.Delay(200);
        }

        return false;
    }
}
