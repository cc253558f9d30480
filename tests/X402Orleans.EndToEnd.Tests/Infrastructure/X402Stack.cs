using System.Text.Json.Nodes;

namespace X402Orleans.EndToEnd.Tests.Infrastructure;

/// <summary>
/// The real x402 stack from <c>tests/interop/x402-stack.mjs</c>, as a child process: ganache with our EIP-3009 token, the official
/// facilitator over HTTP, the official V2 resource servers ("main", and "strict" with single-use sign-in nonces behind a
/// facilitator port that can be taken down) and a V1 server.
/// </summary>
public sealed class X402Stack : NodeStack
{
    private X402Stack(Launched launched)
        : base(launched)
    {
    }

    /// <summary>The V1 name of the network (<c>base-sepolia</c>).</summary>
    public string V1Network => Text("v1Network");

    /// <summary>A second token on the chain that the payers hold but the gateway is not allowed to pay with.</summary>
    public string OtherToken => Text("otherToken");

    /// <summary>Origin of the official V2 resource server "main".</summary>
    public string MainServer => Info["servers"]!["main"]!.GetValue<string>();

    /// <summary>Origin of the official V2 resource server "strict" (single-use sign-in nonces; switchable facilitator).</summary>
    public string StrictServer => Info["servers"]!["strict"]!.GetValue<string>();

    /// <summary>Origin of the V1 server.</summary>
    public string V1Server => Info["servers"]!["v1"]!.GetValue<string>();

    /// <summary>Starts the stack and waits for its ready line.</summary>
    public static async Task<X402Stack> StartAsync() => new(await LaunchAsync("x402-stack.mjs", []));

    /// <summary>Takes the facilitator port used by the "strict" server down (connections refused) or back up.</summary>
    public Task SetSwitchableFacilitatorAsync(bool up) => PostControlAsync(up ? "/facilitator/switchable/up" : "/facilitator/switchable/down");
}
