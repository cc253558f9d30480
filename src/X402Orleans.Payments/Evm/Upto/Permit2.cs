namespace X402Orleans.Payments.Evm.Upto;

/// <summary>Canonical contract addresses the <c>upto</c> scheme signs for (the same on every EVM chain).</summary>
public static class Permit2
{
    /// <summary>Uniswap's Permit2 (EIP-712 domain <c>{name: "Permit2", chainId, verifyingContract}</c>, no version).</summary>
    public const string Address = "0x000000000022D473030F116dDEE9F6B43aC78BA3";

    /// <summary>The x402 upto proxy: the <c>spender</c> of every upto permit; it settles at most the permitted amount.</summary>
    public const string UptoProxyAddress = "0x4020A4f3b7b90ccA423B9fabCc0CE57C6C240002";
}
