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
    [InlineData(null, 120, 30)]
    [InlineData("40", 40, 10)]
    public async Task SessionGrains_AreCollectedAfterTheConfiguredIdleAge(string? setting, int expectedAgeSeconds, int expectedQuantumSeconds)
    {
        var app = TestEnvironment.MemoryHost(new Dictionary<string, string?> { ["X402:Sessions:IdleCollectionSeconds"] = setting });
        await using (app)
        {
            var options = app.Services.GetRequiredService<IOptions<GrainCollectionOptions>>().Value;

            Assert.Equal(TimeSpan.FromSeconds(expectedAgeSeconds), options.ClassSpecificCollectionAge[typeof(SessionGrain).FullName!]);
            Assert.Equal(TimeSpan.FromSeconds(expectedQuantumSeconds), options.CollectionQuantum);
        }
    }

    [Fact]
    public async Task GrainDirectoryCache_IsCappedBelowOrleansDefault_OnTheSiloHost()
    {
        var app = TestEnvironment.MemoryHost();
        await using (app)
        {
            var options = app.Services.GetRequiredService<IOptions<GrainDirectoryOptions>>().Value;

            Assert.Equal(SiloHosting.DirectoryCacheSize, options.CacheSize);
            Assert.True(options.CacheSize < GrainDirectoryOptions.DEFAULT_CACHE_SIZE);
        }
    }
}
