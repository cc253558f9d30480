using X402Orleans.Abstractions;

namespace X402Orleans.Grains;

/// <summary>
/// The persisted state of one batch-settlement channel (<see cref="PaymentChannelGrain"/>). Amounts are atomic integer strings.
/// No key material: vouchers and deposits are signatures the server receives anyway.
/// </summary>
[GenerateSerializer]
[Alias("X402Orleans.Grains.PaymentChannelState")]
public sealed class PaymentChannelState
{
    /// <summary>Contract version.</summary>
    [Id(0)] public int SchemaVersion { get; set; } = 1;

    /// <summary>CAIP-2 network.</summary>
    [Id(1)] public string Network { get; set; } = string.Empty;

    /// <summary>The channel id.</summary>
    [Id(2)] public string ChannelId { get; set; } = string.Empty;

    /// <summary>The channel's configuration (<c>channelConfig</c> JSON), fixed at the first request.</summary>
    [Id(3)] public string ConfigJson { get; set; } = string.Empty;

    /// <summary>Open, stopped or refunded.</summary>
    [Id(4)] public ChannelPhase Phase { get; set; }

    /// <summary>Why the channel stopped.</summary>
    [Id(5)] public string? StopReason { get; set; }

    /// <summary>The balance as last reported (or as confirmed deposits make it).</summary>
    [Id(6)] public string BalanceAtomic { get; set; } = "0";

    /// <summary>The charged total (checked receipts and adopted corrections).</summary>
    [Id(7)] public string ChargedAtomic { get; set; } = "0";

    /// <summary>The highest voucher ceiling ever signed: never lowered.</summary>
    [Id(8)] public string HighestSignedAtomic { get; set; } = "0";

    /// <summary>totalClaimed as last reported.</summary>
    [Id(9)] public string ClaimedAtomic { get; set; } = "0";

    /// <summary>The request in flight (at most one).</summary>
    [Id(10)] public ChannelRequestRecord? InFlight { get; set; }

    /// <summary>Deposits signed on this channel, oldest first, each with its budget reservation.</summary>
    [Id(11)] public List<ChannelDepositRecord> Deposits { get; set; } = [];

    /// <summary>The spend committed to the budgets so far (the charged total, or the worst case once a charge failed its check).</summary>
    [Id(12)] public string BudgetChargedAtomic { get; set; } = "0";

    /// <summary>A request ended unanswered and its charge is not known yet.</summary>
    [Id(13)] public bool ChargeUnknown { get; set; }

    /// <summary>The last request completed with a receipt and its answer (a repeated <c>CompleteRequest</c> gets the same answer).</summary>
    [Id(14)] public ChannelCharge? LastCharge { get; set; }

    /// <summary>Requests completed with a receipt.</summary>
    [Id(15)] public long Requests { get; set; }

    /// <summary>Refund vouchers signed (refunds seen: <see cref="Phase"/> = refunded).</summary>
    [Id(16)] public int RefundsSigned { get; set; }

    /// <summary>Sessions paying through the channel (live until they leave or expire): a refund waits until none is left.</summary>
    [Id(17)] public List<ChannelMember> Members { get; set; } = [];

    /// <summary>
    /// The last request that ended unanswered, until the server's next answer tells what it was charged (a passing receipt: nothing;
    /// an adopted corrective 402: the difference), so that charge can be counted by the session that sent it.
    /// </summary>
    [Id(18)] public ChannelRequestRecord? Unanswered { get; set; }

    /// <summary>A refund went unanswered: the server may have made it (the chain tells, when the silo has a node for the network).</summary>
    [Id(19)] public bool RefundUnknown { get; set; }

    /// <summary>
    /// The channel's totalClaimed as last read on chain (the withdraw's reads, the lost refund's recovery read): what the server
    /// has claimed. Each increase is recorded once as a <c>claimed</c> entry of the owner's payment log.
    /// </summary>
    [Id(20)] public string ClaimSeenAtomic { get; set; } = "0";

    /// <summary>When <see cref="ClaimSeenAtomic"/> was last read on chain (null: never).</summary>
    [Id(21)] public DateTimeOffset? ClaimSeenAt { get; set; }

    /// <summary>The agent whose channel this is (its salt is one of the agent's), as last verified; the payment log's owner.</summary>
    [Id(22)] public string AgentId { get; set; } = string.Empty;

    /// <summary>The asset's symbol, for the payment log.</summary>
    [Id(23)] public string Symbol { get; set; } = string.Empty;

    /// <summary>The asset's decimals, for the payment log.</summary>
    [Id(24)] public int Decimals { get; set; }

    /// <summary>
    /// Payment log entries stored with the change they report and not yet appended to the owner's log: a turn that adds one stores
    /// it, then appends it and clears it; one left by a failure is appended by the next turn that logs.
    /// </summary>
    [Id(25)] public List<PaymentAttempt> LogOutbox { get; set; } = [];

    /// <summary>The payer's unilateral withdraw, once asked for (see <see cref="ChannelWithdrawRecord"/>).</summary>
    [Id(30)] public ChannelWithdrawRecord? Withdraw { get; set; }
}

/// <summary>A signed request whose answer is awaited.</summary>
[GenerateSerializer]
[Alias("X402Orleans.Grains.ChannelRequestRecord")]
public sealed class ChannelRequestRecord
{
    /// <summary>Its id.</summary>
    [Id(0)] public Guid RequestId { get; set; }

    /// <summary>Deposit, voucher or refund.</summary>
    [Id(1)] public ChannelPayloadKind Kind { get; set; }

    /// <summary>The paying agent.</summary>
    [Id(2)] public string AgentId { get; set; } = string.Empty;

    /// <summary>The paying session.</summary>
    [Id(3)] public Guid SessionId { get; set; }

    /// <summary>The charged total the voucher was signed on top of.</summary>
    [Id(4)] public string ChargedBeforeAtomic { get; set; } = "0";

    /// <summary>The most this request may be charged (the requirement's amount; 0 for a refund).</summary>
    [Id(5)] public string MaxAtomic { get; set; } = "0";

    /// <summary>The voucher's ceiling.</summary>
    [Id(6)] public string CeilingAtomic { get; set; } = "0";

    /// <summary>The voucher's signature.</summary>
    [Id(7)] public string VoucherSignature { get; set; } = string.Empty;

    /// <summary>The deposit signed with it, if any.</summary>
    [Id(8)] public Guid? DepositId { get; set; }

    /// <summary>Until when it blocks the channel; after that it counts as unanswered.</summary>
    [Id(9)] public DateTimeOffset LeaseUntil { get; set; }

    /// <summary>The payment header's name.</summary>
    [Id(10)] public string HeaderName { get; set; } = string.Empty;

    /// <summary>The payment header's value, as sent.</summary>
    [Id(11)] public string HeaderValue { get; set; } = string.Empty;
}

/// <summary>Whether a deposit reached the channel.</summary>
[Alias("X402Orleans.Grains.ChannelDepositStatus")]
public enum ChannelDepositStatus
{
    /// <summary>Signed, answer awaited.</summary>
    Signed,

    /// <summary>A receipt confirmed it.</summary>
    Made,

    /// <summary>Certainly not made (its reservation was released).</summary>
    NotMade,

    /// <summary>Its request went unanswered: it may have been made (stays reserved).</summary>
    Unknown,
}

/// <summary>One deposit and its budget reservation.</summary>
[GenerateSerializer]
[Alias("X402Orleans.Grains.ChannelDepositRecord")]
public sealed class ChannelDepositRecord
{
    /// <summary>Its id, also the budget reservation's id.</summary>
    [Id(0)] public Guid Id { get; set; }

    /// <summary>The amount.</summary>
    [Id(1)] public string AmountAtomic { get; set; } = "0";

    /// <summary>The budget grain holding its reservation.</summary>
    [Id(2)] public string BudgetKey { get; set; } = string.Empty;

    /// <summary>Whether it reached the channel.</summary>
    [Id(3)] public ChannelDepositStatus Status { get; set; }

    /// <summary>How much of it is committed as spend (cumulative, see <see cref="IWalletBudgetGrain.CommitUpTo"/>).</summary>
    [Id(4)] public string CommittedAtomic { get; set; } = "0";

    /// <summary>Its reservation was closed (refund confirmed).</summary>
    [Id(5)] public bool Closed { get; set; }

    /// <summary>When it was signed.</summary>
    [Id(6)] public DateTimeOffset SignedAt { get; set; }
}
