using System.Text.Json.Nodes;
using X402Orleans.Payments.Wire;

namespace X402Orleans.Payments.Evm;

/// <summary>The two EIP-3009 messages x402 signs; they share their fields and the token's domain.</summary>
public enum Eip3009Kind
{
    /// <summary><c>transferWithAuthorization</c>: anyone may submit it (the <c>exact</c> scheme).</summary>
    TransferWithAuthorization,

    /// <summary><c>receiveWithAuthorization</c>: only <c>to</c> may submit it (batch-settlement deposits to the collector).</summary>
    ReceiveWithAuthorization,
}

/// <summary>
/// EIP-3009 authorizations as EIP-712 typed data: domain {name, version from the requirement's <c>extra</c>; chainId from its CAIP-2
/// network; verifyingContract = its asset}, message <c>(address from, address to, uint256 value, uint256 validAfter, uint256 validBefore,
/// bytes32 nonce)</c>.
/// </summary>
public static class Eip3009
{
    private static readonly (string Name, string Type)[] Fields =
        [("from", "address"), ("to", "address"), ("value", "uint256"), ("validAfter", "uint256"), ("validBefore", "uint256"), ("nonce", "bytes32")];

    /// <summary>Whether the requirement names an EVM network and the token's EIP-712 name and version.</summary>
    public static bool HasTokenDomain(PaymentRequirements requirements, out string error)
    {
        ArgumentNullException.ThrowIfNull(requirements);
        if (!NetworkNames.TryGetEvmChainId(requirements.Network, out _))
        {
            error = $"network '{requirements.Network}' is not an EVM (eip155) network";
            return false;
        }

        if (requirements.Extra is null || X402Json.GetString(requirements.Extra, "name") is null || X402Json.GetString(requirements.Extra, "version") is null)
        {
            error = "the requirement's extra lacks the token's EIP-712 name and version";
            return false;
        }

        error = string.Empty;
        return true;
    }

    /// <summary>The <c>eth_signTypedData_v4</c> JSON for an authorization of <paramref name="kind"/> under the requirement's token domain.</summary>
    /// <exception cref="InvalidOperationException">The network is not eip155 or <c>extra</c> lacks name/version.</exception>
    public static string BuildTypedData(Eip3009Kind kind, PaymentRequirements requirements, TransferAuthorization authorization)
    {
        ArgumentNullException.ThrowIfNull(requirements);
        ArgumentNullException.ThrowIfNull(authorization);
        if (!NetworkNames.TryGetEvmChainId(requirements.Network, out var chainId))
        {
            throw new InvalidOperationException($"network '{requirements.Network}' is not an eip155 network");
        }

        if (!HasTokenDomain(requirements, out var why))
        {
            throw new InvalidOperationException(why);
        }

        var domain = Eip712.Domain(X402Json.GetString(requirements.Extra!, "name")!, X402Json.GetString(requirements.Extra!, "version")!, chainId, requirements.Asset);
        return Eip712.TypedData(kind.ToString(), Fields, domain, authorization.ToJson());
    }
}
