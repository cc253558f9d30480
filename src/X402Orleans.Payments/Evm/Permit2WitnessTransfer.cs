using System.Globalization;
using System.Numerics;
using System.Text.Json.Nodes;
using X402Orleans.Payments.Evm.Upto;

namespace X402Orleans.Payments.Evm;

/// <summary>
/// Permit2's <c>PermitWitnessTransferFrom</c> (signature transfer with a witness) for any witness struct: the typed data a payer signs
/// and the JSON the official clients send. The <c>upto</c> scheme's permit (witness <c>Witness(to, facilitator, validAfter)</c>) and a
/// batch-settlement Permit2 deposit (witness <c>DepositWitness(bytes32 channelId)</c>) are both built here.
/// </summary>
public static class Permit2WitnessTransfer
{
    /// <summary>
    /// The message signed: <c>permitted {token, amount}</c>, <c>spender</c>, <c>nonce</c>, <c>deadline</c>, <c>witness</c> (every number a
    /// decimal string, the order viem and the official clients use).
    /// </summary>
    public static JsonObject Message(string token, BigInteger amount, string spender, BigInteger nonce, long deadline, JsonObject witness)
    {
        ArgumentNullException.ThrowIfNull(witness);
        return new JsonObject
        {
            ["permitted"] = new JsonObject { ["token"] = token, ["amount"] = Text(amount) },
            ["spender"] = spender,
            ["nonce"] = Text(nonce),
            ["deadline"] = Text(deadline),
            ["witness"] = witness.DeepClone(),
        };
    }

    /// <summary>The <c>permit2Authorization</c> object the official clients send: <c>from</c> first, then the <see cref="Message"/>'s fields.</summary>
    public static JsonObject Authorization(string from, JsonObject message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var authorization = new JsonObject { ["from"] = from };
        foreach (var (name, value) in message)
        {
            authorization[name] = value?.DeepClone();
        }

        return authorization;
    }

    /// <summary>
    /// The <c>eth_signTypedData_v4</c> JSON of <paramref name="message"/> under the Permit2 domain <c>{name: "Permit2", chainId,
    /// verifyingContract: Permit2}</c> (no version), its witness being the struct <paramref name="witnessType"/> with
    /// <paramref name="witnessFields"/>.
    /// </summary>
    public static string TypedData(BigInteger chainId, JsonObject message, string witnessType, IReadOnlyList<(string Name, string Type)> witnessFields) =>
        Eip712.TypedData(
            "PermitWitnessTransferFrom",
            Eip712.Domain("Permit2", null, chainId, Permit2.Address),
            message,
            ("PermitWitnessTransferFrom", Eip712.Fields(("permitted", "TokenPermissions"), ("spender", "address"), ("nonce", "uint256"), ("deadline", "uint256"), ("witness", witnessType))),
            ("TokenPermissions", Eip712.Fields(("token", "address"), ("amount", "uint256"))),
            (witnessType, witnessFields));

    private static string Text(BigInteger value) => value.ToString(CultureInfo.InvariantCulture);
}
