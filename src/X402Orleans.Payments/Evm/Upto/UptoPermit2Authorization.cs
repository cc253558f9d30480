using System.Globalization;
using System.Numerics;
using System.Text.Json.Nodes;

namespace X402Orleans.Payments.Evm.Upto;

/// <summary>
/// A Permit2 <c>PermitWitnessTransferFrom</c> with the upto witness <c>Witness(address to,address facilitator,uint256 validAfter)</c>:
/// the payer lets <see cref="Spender"/> (the x402 upto proxy) move at most <see cref="Amount"/> of <see cref="Token"/> to
/// <see cref="To"/>, settled only by <see cref="Facilitator"/>, until <see cref="Deadline"/>.
/// </summary>
/// <param name="From">Payer (the signer), EIP-55.</param>
/// <param name="Token">Token contract, EIP-55.</param>
/// <param name="Amount">The maximum the server may charge, atomic units.</param>
/// <param name="Spender">The x402 upto proxy.</param>
/// <param name="Nonce">Permit2 unordered nonce (uint256).</param>
/// <param name="Deadline">Unix seconds after which the permit is void.</param>
/// <param name="To">Recipient (the requirement's payTo), EIP-55.</param>
/// <param name="Facilitator">The only facilitator allowed to settle, EIP-55.</param>
/// <param name="ValidAfter">Unix seconds before which it cannot be settled (the official client signs 0).</param>
public sealed record UptoPermit2Authorization(
    string From, string Token, BigInteger Amount, string Spender, BigInteger Nonce, long Deadline, string To, string Facilitator, long ValidAfter)
{
    /// <summary>The <c>permit2Authorization</c> object as the official client writes it (every number a decimal string).</summary>
    public JsonObject ToJson() => new()
    {
        ["from"] = From,
        ["permitted"] = new JsonObject { ["token"] = Token, ["amount"] = Text(Amount) },
        ["spender"] = Spender,
        ["nonce"] = Text(Nonce),
        ["deadline"] = Text(Deadline),
        ["witness"] = new JsonObject { ["to"] = To, ["facilitator"] = Facilitator, ["validAfter"] = Text(ValidAfter) },
    };

    /// <summary>The <c>eth_signTypedData_v4</c> JSON signed for this permit under the Permit2 domain of <paramref name="chainId"/>.</summary>
    public string BuildTypedData(BigInteger chainId) => Eip712.TypedData(
        "PermitWitnessTransferFrom",
        Eip712.Domain("Permit2", null, chainId, Permit2.Address),
        new JsonObject
        {
            ["permitted"] = new JsonObject { ["token"] = Token, ["amount"] = Text(Amount) },
            ["spender"] = Spender,
            ["nonce"] = Text(Nonce),
            ["deadline"] = Text(Deadline),
            ["witness"] = new JsonObject { ["to"] = To, ["facilitator"] = Facilitator, ["validAfter"] = Text(ValidAfter) },
        },
        ("PermitWitnessTransferFrom", Eip712.Fields(("permitted", "TokenPermissions"), ("spender", "address"), ("nonce", "uint256"), ("deadline", "uint256"), ("witness", "Witness"))),
        ("TokenPermissions", Eip712.Fields(("token", "address"), ("amount", "uint256"))),
        ("Witness", Eip712.Fields(("to", "address"), ("facilitator", "address"), ("validAfter", "uint256"))));

    private static string Text(BigInteger value) => value.ToString(CultureInfo.InvariantCulture);
}
