using System.Numerics;
using System.Text.Json.Nodes;

namespace X402Orleans.EndToEnd.Tests.Infrastructure;

/// <summary>
/// The <c>upto</c> stack from <c>tests/interop/upto-chain.mjs</c> (script mode), as a child process: anvil with Uniswap's Permit2
/// and our upto proxy at their canonical addresses, our token, the OFFICIAL upto facilitator over HTTP and the OFFICIAL upto
/// resource server (<c>@x402/express</c> + <c>@x402/evm/upto/server</c>). Its routes (<c>/api/:ns/…</c>) all authorise
/// <see cref="Maximum"/>; <c>metered</c> and <c>sponsored</c> (declares <c>eip2612GasSponsoring</c>) charge <see cref="Charge"/>,
/// <c>idle</c> charges 0 with a permit deadline of <see cref="IdleTimeout"/>.
/// </summary>
public sealed class UptoStack : NodeStack
{
    /// <summary>The server's name in <c>/stats</c> and <c>payTo</c>.</summary>
    public const string ServerName = "upto";

    private UptoStack(Launched launched, TimeSpan idleTimeout)
        : base(launched) => IdleTimeout = idleTimeout;

    /// <summary>Origin of the official upto resource server.</summary>
    public string Server => Origin(ServerName);

    /// <summary>Recipient of the server's payments.</summary>
    public string Payee => PayTo(ServerName);

    /// <summary>What every route authorises (atomic units).</summary>
    public BigInteger Maximum => Price("maximum");

    /// <summary>What <c>metered</c> and <c>sponsored</c> charge (atomic units).</summary>
    public BigInteger Charge => Price("charge");

    /// <summary>The <c>idle</c> route's <c>maxTimeoutSeconds</c>: its permits' deadline is this after signing.</summary>
    public TimeSpan IdleTimeout { get; }

    /// <summary>Wallets holding the token but no ETH and no Permit2 allowance.</summary>
    public IReadOnlyList<Wallet> UnapprovedWallets => Wallets("unapproved");

    /// <summary>Permit2's canonical address.</summary>
    public string Permit2 => Text("permit2");

    /// <summary>Starts the stack and waits for its ready line.</summary>
    public static async Task<UptoStack> StartAsync(TimeSpan idleTimeout) =>
        new(await LaunchAsync("upto-chain.mjs", new JsonObject { ["idleTimeoutSeconds"] = (int)idleTimeout.TotalSeconds, ["unapprovedWallets"] = 2 }), idleTimeout);
}
