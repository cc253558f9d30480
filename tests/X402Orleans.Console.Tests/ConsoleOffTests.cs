using System.Net;

namespace X402Orleans.Console.Tests;

/// <summary>No operator key: there is no console, and the one-command run says how to turn it on.</summary>
public sealed class ConsoleOffTests
{
    [Fact]
    public async Task Console_Returns404_WhenNoAdminKeyIsConfigured()
    {
        await using var host = await GatewayHost.StartAsync();
        using var client = new ConsoleClient(host);

        foreach (var path in new[] { "/console", "/console/signin", "/console/api/overview", "/console/assets/console.js", "/console/payments.csv" })
        {
            using var response = await client.GetAsync(path, "text/html");
            Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"{path}: {(int)response.StatusCode}");
        }
    }
}
