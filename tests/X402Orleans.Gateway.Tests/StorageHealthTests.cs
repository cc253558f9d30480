using System.Net;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using X402Orleans.Gateway.Observability;

namespace X402Orleans.Gateway.Tests;

/// <summary><c>/health/ready</c> with a real database check: the silo's SQLite state file, and a database that does not answer.</summary>
public sealed class StorageHealthTests
{
    [Fact]
    public async Task Health_ReadyIncludesTheSqliteStateFile_WhenLocalModeUsesOne()
    {
        var folder = Path.Combine(Path.GetTempPath(), $"x402-health-{Guid.NewGuid():N}");
        try
        {
            await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?> { ["X402:Storage:Path"] = Path.Combine(folder, "x402.db") });

            using var ready = await host.GetAsync("/health/ready");

            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
            using var body = JsonDocument.Parse(await ready.Content.ReadAsStringAsync());
            Assert.Equal("Healthy", body.RootElement.GetProperty("checks").GetProperty("database").GetProperty("status").GetString());
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task Health_ReadyReturns503WithoutTheConnectionString_WhenTheDatabaseDoesNotAnswer()
    {
        await using var host = await GatewayHost.StartAsync(configure: b => b.Services.AddX402DatabaseCheck("broken-db", () => new SqliteConnection("Data Source=/nonexistent-dir/x402/nope.db;Mode=ReadOnly")));

        using var ready = await host.GetAsync("/health/ready");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        var text = await ready.Content.ReadAsStringAsync();
        using var body = JsonDocument.Parse(text);
        Assert.Equal("Unhealthy", body.RootElement.GetProperty("checks").GetProperty("broken-db").GetProperty("status").GetString());
        Assert.DoesNotContain("nope.db", text, StringComparison.Ordinal);
    }
}
