using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using X402Orleans.Grains;
using X402Orleans.Silo;

namespace X402Orleans.Cluster.Tests;

/// <summary>Idle session grains leave memory after their own, configurable age.</summary>
public sealed class SessionCollectionTests
{
    [Theory]
    [InlineData(null, 300, 60)]
    [InlineData("30", 30, 15)]
    public async Task SessionGrains_AreCollectedAfterTheConfiguredIdleAge(string? setting, int expectedAgeSeconds, int expectedQuantumSeconds)
    {
        var ports = TestEnvironment.FreePorts(3);
        var settings = new Dictionary<string, string?>
        {
            ["Logging:LogLevel:Default"] = "Warning",
            ["X402:Storage:Path"] = ":memory:",
            ["X402:Cluster:SiloPort"] = ports[1].ToString(CultureInfo.InvariantCulture),
            ["X402:Cluster:GatewayPort"] = ports[2].ToString(CultureInfo.InvariantCulture),
            ["X402:Wallet:PrivateKey"] = TestEnvironment.WalletKey,
            ["X402:Sessions:IdleCollectionSeconds"] = setting,
        };
        var app = X402Host.CreateWebApp(["--urls", $"http://127.0.0.1:{ports[0].ToString(CultureInfo.InvariantCulture)}"], b => b.Configuration.AddInMemoryCollection(settings));
        await using (app)
        {
            var options = app.Services.GetRequiredService<IOptions<GrainCollectionOptions>>().Value;

            Assert.Equal(TimeSpan.FromSeconds(expectedAgeSeconds), options.ClassSpecificCollectionAge[typeof(SessionGrain).FullName!]);
            Assert.Equal(TimeSpan.FromSeconds(expectedQuantumSeconds), options.CollectionQuantum);
        }
    }
}
