using System.Net;
using System.Net.Sockets;

namespace X402Orleans.Gateway.Tests;

/// <summary>With private targets not allowed (the default), only the gateway's own demo origin is reachable on loopback.</summary>
[Collection(GatewayCollection.Name)]
public sealed class OutboundSafetyTests(GatewayFixture fixture)
{
    private GatewayHost Host => fixture.Host;

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("localhost")]
    public async Task SessionStart_RefusesWithoutConnecting_WhenTargetIsAnotherLoopbackPort(string host)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var label = $"loopback {Guid.NewGuid():N}";

        var error = (await fixture.AgentA.StartAsync($"http://{host}:{port}/demo/weather", new() { ["label"] = label, ["timeout_ms"] = 5000 })).Error();

        AssertPrivateRefusal(error);
        Assert.False(listener.Pending(), "the gateway must not connect to a refused target");
        var sessions = (await fixture.AgentA.StatusAsync()).Ok()["sessions"].EnumerateArray();
        Assert.DoesNotContain(sessions, s => s.GetProperty("label").GetString() == label);
    }

    [Fact]
    public async Task SessionStart_Refuses_WhenOtherLoopbackAddressUsesTheGatewayPort()
    {
        var error = (await fixture.AgentA.StartAsync($"http://127.0.0.2:{Host.Port}/demo/free", new() { ["timeout_ms"] = 5000 })).Error();

        AssertPrivateRefusal(error);
    }

    [Theory]
    [InlineData("http://169.254.169.254/latest/meta-data/")]
    [InlineData("http://10.0.0.1/")]
    [InlineData("http://[::1]:9/")]
    [InlineData("http://0.0.0.0:9/")]
    public async Task SessionStart_Refuses_WhenTargetIsPrivateOrLinkLocal(string endpoint)
    {
        var error = (await fixture.AgentA.StartAsync(endpoint, new() { ["timeout_ms"] = 5000 })).Error();

        AssertPrivateRefusal(error);
    }

    [Fact]
    public async Task SessionStart_ReachesOwnDemoOrigin_WhenPrivateTargetsAreNotAllowed()
    {
        var start = (await fixture.AgentA.StartAsync(Host.Url("/demo/free"))).Ok();

        Assert.Equal(200, start["response"].GetProperty("status").GetInt32());
        (await fixture.AgentA.EndAsync(start.Structured.Str("session_id"))).Ok();
    }

    private static void AssertPrivateRefusal(string error)
    {
        Assert.StartsWith("session not started:", error, StringComparison.Ordinal);
        Assert.Contains("loopback, private or link-local address, which is refused", error, StringComparison.Ordinal);
        Assert.Contains("AllowPrivateTargets", error, StringComparison.Ordinal);
    }
}
