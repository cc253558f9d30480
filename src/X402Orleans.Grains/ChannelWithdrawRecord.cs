using X402Orleans.Abstractions;

namespace X402Orleans.Grains;

/// <summary>
/// A channel's unilateral withdraw (<see cref="PaymentChannelGrain"/>, <see cref="IChannelWithdrawGrain"/>): the intent, then each
/// transaction signed for it, recorded before it can be broadcast. Raw transactions are public once sent; no key material.
/// </summary>
[GenerateSerializer]
[Alias("X402Orleans.Grains.ChannelWithdrawRecord")]
public sealed class ChannelWithdrawRecord
{
    /// <summary>The amount asked for: the unclaimed balance on chain at initiation.</summary>
    [Id(0)] public string AmountAtomic { get; set; } = "0";

    /// <summary>What comes back even if the server claims every voucher we signed.</summary>
    [Id(1)] public string AtLeastAtomic { get; set; } = "0";

    /// <summary>The on-chain balance at initiation (what the budgets count against at the end).</summary>
    [Id(2)] public string BalanceAtomic { get; set; } = "0";

    /// <summary>When the intent was recorded.</summary>
    [Id(3)] public DateTimeOffset RequestedAt { get; set; }

    /// <summary>Block time of the mined <c>initiateWithdraw</c> (or of the pending withdrawal found on chain).</summary>
    [Id(4)] public long? InitiatedAt { get; set; }

    /// <summary>What <c>finalizeWithdraw</c> paid back, once mined.</summary>
    [Id(5)] public string? ReturnedAtomic { get; set; }

    /// <summary>The phase the channel had before (restored if the withdraw never starts on chain).</summary>
    [Id(6)] public ChannelPhase PhaseBefore { get; set; }

    /// <summary>Every transaction signed for this withdraw, oldest first.</summary>
    [Id(7)] public List<ChannelTxRecord> Transactions { get; set; } = [];
}

/// <summary>One signed withdraw transaction.</summary>
[GenerateSerializer]
[Alias("X402Orleans.Grains.ChannelTxRecord")]
public sealed class ChannelTxRecord
{
    /// <summary>initiate or finalize.</summary>
    [Id(0)] public string Step { get; set; } = string.Empty;

    /// <summary>Its hash.</summary>
    [Id(1)] public string Hash { get; set; } = string.Empty;

    /// <summary>The raw signed transaction (re-broadcast as is on a retry).</summary>
    [Id(2)] public string Raw { get; set; } = string.Empty;

    /// <summary>Its nonce.</summary>
    [Id(3)] public string Nonce { get; set; } = "0";

    /// <summary>Signed, mined, reverted or dropped.</summary>
    [Id(4)] public WithdrawTxStatus Status { get; set; }

    /// <summary>When it was signed.</summary>
    [Id(5)] public DateTimeOffset SignedAt { get; set; }

    /// <summary>A revert reason or other detail.</summary>
    [Id(6)] public string? Note { get; set; }
}
