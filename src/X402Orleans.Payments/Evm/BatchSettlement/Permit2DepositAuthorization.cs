using System.Numerics;
using System.Text.Json.Nodes;

namespace X402Orleans.Payments.Evm.BatchSettlement;

/// <summary>
/// A batch-settlement deposit by Permit2: a <c>PermitWitnessTransferFrom</c> letting the Permit2DepositCollector (the spender) move
/// exactly <see cref="Amount"/> of <see cref="Token"/> from <see cref="From"/> into the channel <see cref="ChannelId"/> (the witness
/// <c>DepositWitness(bytes32 channelId)</c> binds the transfer to that channel), until <see cref="Deadline"/>.
/// </summary>
/// <param name="From">Payer (the channel's payer, the signer), EIP-55.</param>
/// <param name="Token">Token contract, EIP-55.</param>
/// <param name="Amount">The deposit, atomic units.</param>
/// <param name="Nonce">Permit2 unordered nonce (uint256; the official client draws 32 random bytes).</param>
/// <param name="Deadline">Unix seconds after which the permit is void (now + <c>maxTimeoutSeconds</c>).</param>
/// <param name="ChannelId">The channel (0x + 64 hex digits).</param>
public sealed record Permit2DepositAuthorization(string From, string Token, BigInteger Amount, BigInteger Nonce, long Deadline, string ChannelId)
{
    /// <summary>The spender of every Permit2 deposit: the Permit2DepositCollector.</summary>
    public static string Spender => BatchSettlementScheme.Permit2DepositCollector;

    /// <summary>The <c>permit2Authorization</c> object of the deposit payload as the official client writes it, its signature last.</summary>
    public JsonObject ToJson(string signature)
    {
        var json = Permit2WitnessTransfer.Authorization(From, Message());
        json["signature"] = signature;
        return json;
    }

    /// <summary>The <c>eth_signTypedData_v4</c> JSON signed for this deposit under the Permit2 domain of <paramref name="chainId"/>.</summary>
    public string BuildTypedData(BigInteger chainId) =>
        Permit2WitnessTransfer.TypedData(chainId, Message(), "DepositWitness", Eip712.Fields(("channelId", "bytes32")));

    private JsonObject Message() => Permit2WitnessTransfer.Message(Token, Amount, Spender, Nonce, Deadline, new JsonObject { ["channelId"] = ChannelId });
}
