using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using X402Orleans.Grains;
using X402Orleans.Silo;

namespace X402Orleans.Cluster.Tests;

/// <summary>Idle session grains leave memory after their own, configurable age; all activations are shed above a memory limit in MiB.</summary>
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

    [Theory]
    [InlineData(null, 512)]
    [InlineData("1024", 1024)]
    public async Task ActivationShedding_IsOnAtTheConfiguredMegabytes_OnTheSiloHost(string? setting, int expectedMb)
    {
        var app = TestEnvironment.MemoryHost(setting is null ? null : new Dictionary<string, string?> { ["X402:Cluster:ActivationMemoryLimitMB"] = setting });
        await using (app)
        {
            var options = app.Services.GetRequiredService<IOptions<GrainCollectionOptions>>().Value;
            var available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;

            Assert.True(options.EnableActivationSheddingOnMemoryPressure);
            Assert.Equal(expectedMb * 1024.0 * 1024.0, options.MemoryUsageLimitPercentage / 100 * available, precision: 0);
            Assert.Equal(options.MemoryUsageLimitPercentage * 0.8, options.MemoryUsageTargetPercentage, precision: 6);
        }
    }

    [Fact]
    public async Task ActivationShedding_IsOff_WhenTheLimitIsZero()
    {
        var app = TestEnvironment.MemoryHost(new Dictionary<string, string?> { ["X402:Cluster:ActivationMemoryLimitMB"] = "0" });
        await using (app)
        {
            Assert.False(app.Services.GetRequiredService<IOptions<GrainCollectionOptions>>().Value.EnableActivationSheddingOnMemoryPressure);
        }
    }

    [Fact]
    public void ConfigureActivationShedding_CapsTheLimitAt95Percent_WhenItExceedsTheAvailableMemory()
    {
        var options = new GrainCollectionOptions();

        SiloHosting.ConfigureActivationShedding(options, limitMb: 4096, availableBytes: 1024L * 1024 * 1024);

        Assert.True(options.EnableActivationSheddingOnMemoryPressure);
        Assert.Equal(95, options.MemoryUsageLimitPercentage);
        Assert.Equal(76, options.MemoryUsageTargetPercentage, precision: 6);
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
