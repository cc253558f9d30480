using System.Globalization;
using System.Numerics;
using System.Text.Json.Nodes;
using X402Orleans.Payments.Wire;

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
    public JsonObject ToJson() => Permit2WitnessTransfer.Authorization(From, Message());

    /// <summary>The <c>eth_signTypedData_v4</c> JSON signed for this permit under the Permit2 domain of <paramref name="chainId"/>.</summary>
    public string BuildTypedData(BigInteger chainId) =>
        Permit2WitnessTransfer.TypedData(chainId, Message(), "Witness", Eip712.Fields(("to", "address"), ("facilitator", "address"), ("validAfter", "uint256")));

    /// <summary>Reads a <c>permit2Authorization</c> object (numbers as decimal strings or JSON numbers); says why not otherwise.</summary>
    public static bool TryRead(JsonObject? json, out UptoPermit2Authorization? authorization, out string error)
    {
        authorization = null;
        if (json is null)
        {
            error = "permit2Authorization is missing";
            return false;
        }

        var permitted = json["permitted"] as JsonObject;
        var witness = json["witness"] as JsonObject;
        if (permitted is null || witness is null)
        {
            error = "permit2Authorization lacks permitted or witness";
            return false;
        }

        string? from = X402Json.GetString(json, "from"), token = X402Json.GetString(permitted, "token"), spender = X402Json.GetString(json, "spender"),
            to = X402Json.GetString(witness, "to"), facilitator = X402Json.GetString(witness, "facilitator");
        if (!EvmAddress.IsValid(from) || !EvmAddress.IsValid(token) || !EvmAddress.IsValid(spender) || !EvmAddress.IsValid(to) || !EvmAddress.IsValid(facilitator))
        {
            error = "permit2Authorization from/token/spender/to/facilitator is not an address";
            return false;
        }

        if (!AtomicAmount.TryParseAtomic(X402Json.GetString(permitted, "amount"), out var amount)
            || !AtomicAmount.TryParseAtomic(X402Json.GetString(json, "nonce"), out var nonce)
            || !X402Json.TryGetInt64(json, "deadline", out var deadline)
            || !X402Json.TryGetInt64(witness, "validAfter", out var validAfter))
        {
            error = "permit2Authorization amount/nonce/deadline/validAfter is not an integer";
            return false;
        }

        authorization = new UptoPermit2Authorization(
            EvmAddress.ToChecksum(from!), EvmAddress.ToChecksum(token!), amount, EvmAddress.ToChecksum(spender!), nonce, deadline,
            EvmAddress.ToChecksum(to!), EvmAddress.ToChecksum(facilitator!), validAfter);
        error = string.Empty;
        return true;
    }

    private JsonObject Message() => Permit2WitnessTransfer.Message(
        Token, Amount, Spender, Nonce, Deadline, new JsonObject { ["to"] = To, ["facilitator"] = Facilitator, ["validAfter"] = ValidAfter.ToString(CultureInfo.InvariantCulture) });
}
