using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;
using X402Orleans.Abstractions;
using X402Orleans.Gateway.Security;

namespace X402Orleans.Gateway.Tests;

/// <summary>
/// The cluster-wide data-protection key ring (<see cref="ClusterXmlRepository"/> over <see cref="IKeyRingGrain"/>): what one
/// gateway process protects (console cookies, antiforgery tokens) another one reads, and keys outlive the processes.
/// </summary>
public sealed class KeyRingTests
{
    private const string Purpose = "X402Orleans.Console";

    [Fact]
    public async Task Unprotect_ReadsAnotherProcessPayload_WhenBothUseTheClusterKeyRing()
    {
        await using var host = await GatewayHost.StartAsync();
        var grains = host.Services.GetRequiredService<IGrainFactory>();
        await using var first = Process(grains);
        await using var second = Process(grains);
        var host1 = host.Services.GetRequiredService<IDataProtectionProvider>().CreateProtector(Purpose);
        var one = first.GetRequiredService<IDataProtectionProvider>().CreateProtector(Purpose);
        var two = second.GetRequiredService<IDataProtectionProvider>().CreateProtector(Purpose);

        Assert.Equal("operator admin", two.Unprotect(one.Protect("operator admin")));
        Assert.Equal("antiforgery token", one.Unprotect(two.Protect("antiforgery token")));
        Assert.Equal("signed in at host", two.Unprotect(host1.Protect("signed in at host")));
        var stored = await grains.GetGrain<IKeyRingGrain>(ClusterXmlRepository.GrainKey).GetElements();
        var key = Assert.Single(stored);
        Assert.Contains("<key ", key, StringComparison.Ordinal);
        Assert.Contains(StorageProtectedXmlEncryptor.ElementName, key, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unprotect_ReadsPayloadProtectedBeforeRestart_WhenStorageIsAFile()
    {
        var folder = Directory.CreateTempSubdirectory("x402-keyring-");
        try
        {
            var state = new Dictionary<string, string?> { ["X402:Storage:Path"] = Path.Combine(folder.FullName, "state.db") };
            string protectedText;
            await using (var before = await GatewayHost.StartAsync(state))
            {
                protectedText = before.Services.GetRequiredService<IDataProtectionProvider>().CreateProtector(Purpose).Protect("still signed in");
            }

            await using var after = await GatewayHost.StartAsync(state);
            await using var other = Process(after.Services.GetRequiredService<IGrainFactory>());

            Assert.Equal("still signed in", after.Services.GetRequiredService<IDataProtectionProvider>().CreateProtector(Purpose).Unprotect(protectedText));
            Assert.Equal("still signed in", other.GetRequiredService<IDataProtectionProvider>().CreateProtector(Purpose).Unprotect(protectedText));
            Assert.Single(await after.Services.GetRequiredService<IGrainFactory>().GetGrain<IKeyRingGrain>(ClusterXmlRepository.GrainKey).GetElements());
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    /// <summary>Another gateway process's data protection: its own services, the same cluster.</summary>
    private static ServiceProvider Process(IGrainFactory grains)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton(grains);
        services.AddX402ClusterKeyRing();
        return services.BuildServiceProvider();
    }
}
