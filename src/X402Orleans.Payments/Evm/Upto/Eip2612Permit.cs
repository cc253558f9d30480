using System.Globalization;
using System.Numerics;
using System.Text.Json.Nodes;

namespace X402Orleans.Payments.Evm.Upto;

/// <summary>
/// An EIP-2612 <c>Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)</c> letting Permit2 spend the
/// token: what the <c>eip2612GasSponsoring</c> extension carries so that the facilitator submits the approval (and pays its gas)
/// together with the settlement. The value is the upto maximum, never more (the upto proxy requires them equal).
/// </summary>
/// <param name="Owner">The payer, EIP-55.</param>
/// <param name="Token">Token contract, EIP-55 (the domain's verifyingContract).</param>
/// <param name="Value">Allowance granted to Permit2, atomic units.</param>
/// <param name="Nonce">The token's current <c>nonces(owner)</c>.</param>
/// <param name="Deadline">Unix seconds; the official client reuses the Permit2 deadline.</param>
public sealed record Eip2612Permit(string Owner, string Token, BigInteger Value, BigInteger Nonce, long Deadline)
{
    /// <summary>The extension key a 402 declares and the payment echoes.</summary>
    public const string ExtensionKey = "eip2612GasSponsoring";

    /// <summary>The spender: always Permit2.</summary>
    public static string Spender => Permit2.Address;

    /// <summary>The <c>eth_signTypedData_v4</c> JSON under the token's own domain (name and version from the requirement's extra).</summary>
    public string BuildTypedData(string tokenName, string tokenVersion, BigInteger chainId) => Eip712.TypedData(
        "Permit",
        Eip712.Domain(tokenName, tokenVersion, chainId, Token),
        new JsonObject
        {
            ["owner"] = Owner,
            ["spender"] = Spender,
            ["value"] = Text(Value),
            ["nonce"] = Text(Nonce),
            ["deadline"] = Text(Deadline),
        },
        ("Permit", Eip712.Fields(("owner", "address"), ("spender", "address"), ("value", "uint256"), ("nonce", "uint256"), ("deadline", "uint256"))));

    /// <summary>The extension's <c>info</c> as the official client writes it (numbers as decimal strings, schema version "1").</summary>
    public JsonObject ToInfoJson(string signature) => new()
    {
        ["from"] = Owner,
        ["asset"] = Token,
        ["spender"] = Spender,
        ["amount"] = Text(Value),
        ["nonce"] = Text(Nonce),
        ["deadline"] = Text(Deadline),
        ["signature"] = signature,
        ["version"] = "1",
    };

    private static string Text(BigInteger value) => value.ToString(CultureInfo.InvariantCulture);
}
