using Microsoft.Extensions.Configuration;
using X402Orleans.Abstractions;
using X402Orleans.Hosting;

namespace X402Orleans.Cluster.Tests;

/// <summary>Modes and their settings are validated at start, with the setting to fix in the message.</summary>
public sealed class SettingsTests
{
    private static X402ClusterSettings Read(params (string Key, string Value)[] values) =>
        X402ClusterSettings.Read(new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build());

    [Fact]
    public void Read_DefaultsToLocalWithAFileUnderTheUserDataFolder()
    {
        var settings = Read();
        Assert.False(settings.Cluster.IsAdoNet);
        Assert.False(settings.Storage.IsInMemory);
        Assert.EndsWith(Path.Combine("x402orleans", "x402.db"), settings.Storage.ResolvedPath, StringComparison.Ordinal);
        Assert.Null(settings.PostgresConnectionString);
    }

    [Fact]
    public void Read_Throws_WhenModeIsUnknown() =>
        Assert.Contains("X402:Cluster:Mode must be Local or AdoNet", Assert.Throws<InvalidConfigurationException>(() => Read(("X402:Cluster:Mode", "Cloud"))).Message, StringComparison.Ordinal);

    [Fact]
    public void Read_Throws_WhenAdoNetHasNoConnectionString() =>
        Assert.Contains("ConnectionStrings__X402", Assert.Throws<InvalidConfigurationException>(() => Read(("X402:Cluster:Mode", "AdoNet"))).Message, StringComparison.Ordinal);

    [Fact]
    public void Read_Throws_WhenPortsCollide() =>
        Assert.Contains("must differ", Assert.Throws<InvalidConfigurationException>(() => Read(("X402:Cluster:SiloPort", "2000"), ("X402:Cluster:GatewayPort", "2000"))).Message, StringComparison.Ordinal);

    [Fact]
    public void Read_CapsThePool_WhenTheConnectionStringSetsNone()
    {
        var settings = Read(("X402:Cluster:Mode", "AdoNet"), ("ConnectionStrings:X402", "Host=db;Username=x;Password=secret;Database=x402"));
        Assert.Contains("Maximum Pool Size=20", settings.PostgresConnectionString, StringComparison.Ordinal);
        var own = Read(("X402:Cluster:Mode", "AdoNet"), ("ConnectionStrings:X402", "Host=db;Maximum Pool Size=7"));
        Assert.Contains("Maximum Pool Size=7", own.PostgresConnectionString, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_NeverEchoesTheConnectionString_WhenItIsInvalid()
    {
        var error = Assert.Throws<InvalidConfigurationException>(() => Read(("X402:Cluster:Mode", "AdoNet"), ("ConnectionStrings:X402", "Host=db;Password=hunter2;Bogus Key=1"))).Message;
        Assert.DoesNotContain("hunter2", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("32")]
    [InlineData("-1")]
    [InlineData("lots")]
    public void Read_Throws_WhenActivationMemoryLimitIsNeitherOffNorAtLeast64MB(string value) =>
        Assert.Contains("X402:Cluster:ActivationMemoryLimitMB", Assert.Throws<InvalidConfigurationException>(() => Read(("X402:Cluster:ActivationMemoryLimitMB", value))).Message, StringComparison.Ordinal);

    [Theory]
    [InlineData(null, 512)]
    [InlineData("0", 0)]
    [InlineData("2048", 2048)]
    public void Read_TakesTheActivationMemoryLimit_WhenOffOrAtLeast64MB(string? value, int expected) =>
        Assert.Equal(expected, (value is null ? Read() : Read(("X402:Cluster:ActivationMemoryLimitMB", value))).Cluster.ActivationMemoryLimitMB);

    [Fact]
    public void Read_AcceptsInMemory() => Assert.True(Read(("X402:Storage:Path", ":memory:")).Storage.IsInMemory);
}
