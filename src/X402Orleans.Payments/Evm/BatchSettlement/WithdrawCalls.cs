using System.Numerics;

namespace X402Orleans.Payments.Evm.BatchSettlement;

/// <summary>A pending unilateral withdrawal as the batch-settlement contract holds it (<c>pendingWithdrawals(channelId)</c>).</summary>
/// <param name="Amount">The amount asked for (paid at finalisation capped to what is then unclaimed).</param>
/// <param name="InitiatedAt">Block time of <c>initiateWithdraw</c> (unix seconds); 0 when none is pending.</param>
public sealed record PendingWithdrawal(BigInteger Amount, long InitiatedAt)
{
    /// <summary>Whether a withdrawal is pending.</summary>
    public bool Pending => InitiatedAt != 0;
}

/// <summary>A channel's numbers on chain (<c>channels(channelId)</c>).</summary>
/// <param name="Balance">Deposited, less refunds and withdrawals.</param>
/// <param name="TotalClaimed">Claimed by the receiver so far (still counted in the balance).</param>
public sealed record ChannelOnChain(BigInteger Balance, BigInteger TotalClaimed)
{
    /// <summary>What the payer may still withdraw now: balance − claimed.</summary>
    public BigInteger Unclaimed => BigInteger.Max(BigInteger.Zero, Balance - TotalClaimed);
}

/// <summary>
/// The payer's unilateral exit from a batch-settlement channel, as call data for the x402BatchSettlement contract
/// (<see cref="BatchSettlementScheme.ContractAddress"/>): <c>initiateWithdraw(ChannelConfig, uint128 amount)</c>, then — once the
/// channel's withdrawDelay has passed — <c>finalizeWithdraw(ChannelConfig)</c>; and the views that say where it stands. The
/// ChannelConfig tuple is static, so every argument is encoded in place (seven words, then the amount).
/// </summary>
public static class WithdrawCalls
{
    private const string ConfigTuple = "(address,address,address,address,address,uint40,bytes32)";

    /// <summary>Selector of <c>initiateWithdraw(ChannelConfig,uint128)</c>.</summary>
    public static readonly string InitiateSelector = AbiWord.Selector($"initiateWithdraw({ConfigTuple},uint128)");

    /// <summary>Selector of <c>finalizeWithdraw(ChannelConfig)</c>.</summary>
    public static readonly string FinalizeSelector = AbiWord.Selector($"finalizeWithdraw({ConfigTuple})");

    /// <summary>Topic of <c>WithdrawFinalized(bytes32 indexed channelId, address indexed payer, uint128 amount)</c>.</summary>
    public static readonly string FinalizedTopic = AbiWord.Topic("WithdrawFinalized(bytes32,address,uint128)");

    /// <summary>Topic of <c>WithdrawInitiated(bytes32 indexed channelId, uint128 amount, uint40 finalizableAt)</c>.</summary>
    public static readonly string InitiatedTopic = AbiWord.Topic("WithdrawInitiated(bytes32,uint128,uint40)");

    private static readonly string PendingSelector = AbiWord.Selector("pendingWithdrawals(bytes32)");
    private static readonly string ChannelsSelector = AbiWord.Selector("channels(bytes32)");
    private static readonly BigInteger MaxUint128 = (BigInteger.One << 128) - 1;

    /// <summary>Call data of <c>initiateWithdraw(config, amount)</c> (<c>0x</c> + hex).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="amount"/> is not in [1, 2^128).</exception>
    public static string Initiate(ChannelConfig config, BigInteger amount)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (amount.Sign <= 0 || amount > MaxUint128)
        {
            throw new ArgumentOutOfRangeException(nameof(amount), "a withdrawal amount is a uint128 above 0");
        }

        return "0x" + InitiateSelector + Tuple(config) + AbiWord.Uint(amount);
    }

    /// <summary>Call data of <c>finalizeWithdraw(config)</c> (<c>0x</c> + hex).</summary>
    public static string Finalize(ChannelConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return "0x" + FinalizeSelector + Tuple(config);
    }

    /// <summary>Call data of the view <c>pendingWithdrawals(channelId)</c>.</summary>
    public static string PendingWithdrawalsCall(string channelId) => "0x" + PendingSelector + AbiWord.Hex(channelId);

    /// <summary>Call data of the view <c>channels(channelId)</c>.</summary>
    public static string ChannelsCall(string channelId) => "0x" + ChannelsSelector + AbiWord.Hex(channelId);

    /// <summary>Reads the answer of <see cref="PendingWithdrawalsCall"/>; null when it is not two words.</summary>
    public static PendingWithdrawal? ReadPendingWithdrawal(string? data) =>
        AbiWord.ReadUint(data, 0) is { } amount && AbiWord.ReadUint(data, 1) is { } at && at <= long.MaxValue ? new PendingWithdrawal(amount, (long)at) : null;

    /// <summary>Reads the answer of <see cref="ChannelsCall"/>; null when it is not two words.</summary>
    public static ChannelOnChain? ReadChannel(string? data) =>
        AbiWord.ReadUint(data, 0) is { } balance && AbiWord.ReadUint(data, 1) is { } claimed ? new ChannelOnChain(balance, claimed) : null;

    private static string Tuple(ChannelConfig c) =>
        AbiWord.Hex(c.Payer) + AbiWord.Hex(c.PayerAuthorizer) + AbiWord.Hex(c.Receiver) + AbiWord.Hex(c.ReceiverAuthorizer) + AbiWord.Hex(c.Token)
        + AbiWord.Uint(new BigInteger(c.WithdrawDelay)) + AbiWord.Hex(c.Salt);
}
