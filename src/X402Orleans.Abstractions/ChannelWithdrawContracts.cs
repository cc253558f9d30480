namespace X402Orleans.Abstractions;

/// <summary>
/// The payer's unilateral exit from a batch-settlement channel when the server does not cooperate: <c>initiateWithdraw</c>, wait the
/// channel's withdrawDelay, <c>finalizeWithdraw</c> — two transactions the silo's wallet signs and pays gas for. The same grain as
/// <see cref="IPaymentChannelGrain"/> (same key, same activation, the channel's only writer). Each step records its intent and then
/// the signed transaction (hash and raw bytes) before it returns, so the caller broadcasts only what is recorded; while a recorded
/// transaction is unresolved the step returns that same transaction again instead of signing another. The caller (outside the grain
/// turn) reads the chain, broadcasts, waits for the receipt and reports it with <see cref="RecordWithdrawOutcome"/>.
/// </summary>
[Alias("X402Orleans.Abstractions.IChannelWithdrawGrain")]
public interface IChannelWithdrawGrain : IGrainWithStringKey
{
    /// <summary>
    /// Step 1: records the withdraw (phase <see cref="ChannelPhase.Withdrawing"/>: no voucher is signed from now on), then signs
    /// <c>initiateWithdraw(config, amount)</c> with the fees in <paramref name="request"/>, amount = the channel's unclaimed balance on chain.
    /// </summary>
    [Alias("InitiateWithdraw")]
    Task<WithdrawStep> InitiateWithdraw(WithdrawRequest request);

    /// <summary>Step 2: once the chain time has passed initiation + withdrawDelay, signs <c>finalizeWithdraw(config)</c>; refused before, with the time it becomes possible.</summary>
    [Alias("FinalizeWithdraw")]
    Task<WithdrawStep> FinalizeWithdraw(WithdrawRequest request);

    /// <summary>Records what became of a recorded transaction (mined, reverted, dropped); idempotent.</summary>
    [Alias("RecordWithdrawOutcome")]
    Task<WithdrawView> RecordWithdrawOutcome(WithdrawOutcome outcome);

    /// <summary>The withdraw as recorded, for <paramref name="agentId"/> (<see cref="WithdrawView.Owned"/> false: not this agent's channel, nothing shown).</summary>
    [Alias("GetWithdraw")]
    Task<WithdrawView> GetWithdraw(string agentId);
}

/// <summary>What a withdraw step needs from the chain, read by the caller just before (amounts atomic integer strings, times unix seconds).</summary>
/// <param name="AgentId">The agent asking (must own the channel).</param>
/// <param name="ChainNow">The latest block's timestamp.</param>
/// <param name="BalanceAtomic"><c>channels(id).balance</c>.</param>
/// <param name="ClaimedAtomic"><c>channels(id).totalClaimed</c>.</param>
/// <param name="PendingAmountAtomic"><c>pendingWithdrawals(id).amount</c>.</param>
/// <param name="PendingInitiatedAt"><c>pendingWithdrawals(id).initiatedAt</c> (0: none pending).</param>
/// <param name="Fees">The transaction's nonce, fees and gas limit.</param>
[GenerateSerializer, Immutable, Alias("X402Orleans.Abstractions.WithdrawRequest")]
public sealed record WithdrawRequest(
    [property: Id(0)] string AgentId,
    [property: Id(1)] long ChainNow,
    [property: Id(2)] string BalanceAtomic,
    [property: Id(3)] string ClaimedAtomic,
    [property: Id(4)] string PendingAmountAtomic,
    [property: Id(5)] long PendingInitiatedAt,
    [property: Id(6)] WithdrawFees Fees);

/// <summary>An EIP-1559 transaction's nonce, fees (wei) and gas limit, decimal strings.</summary>
[GenerateSerializer, Immutable, Alias("X402Orleans.Abstractions.WithdrawFees")]
public sealed record WithdrawFees(
    [property: Id(0)] string Nonce,
    [property: Id(1)] string MaxPriorityFeePerGas,
    [property: Id(2)] string MaxFeePerGas,
    [property: Id(3)] string GasLimit);

/// <summary>Why a withdraw step did not sign.</summary>
[Alias("X402Orleans.Abstractions.WithdrawRefusal")]
public enum WithdrawRefusal
{
    /// <summary>Signed (or a recorded transaction is returned again).</summary>
    None,

    /// <summary>The channel is not this agent's, or has never been used.</summary>
    NotFound,

    /// <summary>A paid request is in flight on the channel; retry once it completes.</summary>
    Busy,

    /// <summary>Nothing is left in the channel to withdraw.</summary>
    NothingToWithdraw,

    /// <summary>The step does not fit where the withdraw stands (e.g. finalize before initiate).</summary>
    WrongStep,

    /// <summary>The step is already done (e.g. initiate once the initiation is mined or found pending on chain): nothing is signed.</summary>
    AlreadyDone,

    /// <summary>The withdraw delay has not passed: see <see cref="WithdrawStep.FinalizableAt"/>.</summary>
    TooEarly,

    /// <summary>No wallet on the silo, the wallet cannot sign transactions, or the fees are unusable.</summary>
    SigningFailed,
}

/// <summary>The result of a withdraw step: a transaction to broadcast (new or recorded earlier), or why not.</summary>
/// <param name="Succeeded">A transaction is returned.</param>
/// <param name="Refusal">Why not.</param>
/// <param name="Message">For the agent or operator.</param>
/// <param name="TxHash">The transaction's hash (recorded before this returns).</param>
/// <param name="RawTransaction">The raw signed transaction to broadcast.</param>
/// <param name="Resumed">The transaction was recorded by an earlier call and is returned again (never a second one).</param>
/// <param name="FinalizableAt">For <see cref="WithdrawRefusal.TooEarly"/> and after initiation: when finalize becomes possible (unix seconds).</param>
/// <param name="Withdraw">The withdraw as recorded after the step.</param>
[GenerateSerializer, Immutable, Alias("X402Orleans.Abstractions.WithdrawStep")]
public sealed record WithdrawStep(
    [property: Id(0)] bool Succeeded,
    [property: Id(1)] WithdrawRefusal Refusal,
    [property: Id(2)] string Message,
    [property: Id(3)] string? TxHash,
    [property: Id(4)] string? RawTransaction,
    [property: Id(5)] bool Resumed,
    [property: Id(6)] long? FinalizableAt,
    [property: Id(7)] WithdrawView Withdraw);

/// <summary>What became of a withdraw transaction.</summary>
[Alias("X402Orleans.Abstractions.WithdrawTxStatus")]
public enum WithdrawTxStatus
{
    /// <summary>Signed and recorded; broadcast or not, not resolved yet.</summary>
    Signed,

    /// <summary>Mined and succeeded.</summary>
    Mined,

    /// <summary>Mined and reverted.</summary>
    Reverted,

    /// <summary>Never mined: its nonce was used by another transaction.</summary>
    Dropped,
}

/// <summary>The outcome of a recorded transaction, as the caller saw it on chain.</summary>
/// <param name="TxHash">The transaction.</param>
/// <param name="Status">Mined, reverted or dropped.</param>
/// <param name="BlockTimestamp">Its block's timestamp (mined or reverted).</param>
/// <param name="ReturnedAtomic">For a mined finalize: the amount <c>WithdrawFinalized</c> reports paid to the payer.</param>
/// <param name="Note">A revert reason or other detail.</param>
[GenerateSerializer, Immutable, Alias("X402Orleans.Abstractions.WithdrawOutcome")]
public sealed record WithdrawOutcome(
    [property: Id(0)] string TxHash,
    [property: Id(1)] WithdrawTxStatus Status,
    [property: Id(2)] long? BlockTimestamp,
    [property: Id(3)] string? ReturnedAtomic,
    [property: Id(4)] string? Note);

/// <summary>One withdraw transaction as recorded.</summary>
[GenerateSerializer, Immutable, Alias("X402Orleans.Abstractions.WithdrawTxView")]
public sealed record WithdrawTxView(
    [property: Id(0)] string Step,
    [property: Id(1)] string Hash,
    [property: Id(2)] string Nonce,
    [property: Id(3)] WithdrawTxStatus Status,
    [property: Id(4)] DateTimeOffset SignedAt,
    [property: Id(5)] string? Note);

/// <summary>A channel's withdraw as recorded (amounts atomic integer strings, chain times unix seconds).</summary>
/// <param name="Exists">A withdraw was asked for.</param>
/// <param name="Network">The channel's network.</param>
/// <param name="ChannelId">The channel id.</param>
/// <param name="ConfigJson">The channel's configuration (what <c>initiateWithdraw</c>/<c>finalizeWithdraw</c> take), JSON.</param>
/// <param name="Phase">The channel's phase.</param>
/// <param name="AmountAtomic">The amount asked for (the unclaimed balance at initiation).</param>
/// <param name="AtLeastAtomic">What comes back even if the server claims every voucher we signed: balance − max(claimed, highest ceiling signed).</param>
/// <param name="RequestedAt">When the withdraw was recorded.</param>
/// <param name="InitiatedAt">Block time of the mined <c>initiateWithdraw</c>.</param>
/// <param name="FinalizableAt">InitiatedAt + withdrawDelay.</param>
/// <param name="ReturnedAtomic">What <c>finalizeWithdraw</c> paid back.</param>
/// <param name="Transactions">Every transaction signed for it, oldest first.</param>
/// <param name="Owned">The channel has been used and is the asking agent's.</param>
[GenerateSerializer, Immutable, Alias("X402Orleans.Abstractions.WithdrawView")]
public sealed record WithdrawView(
    [property: Id(0)] bool Exists,
    [property: Id(1)] string Network,
    [property: Id(2)] string ChannelId,
    [property: Id(3)] string ConfigJson,
    [property: Id(4)] ChannelPhase Phase,
    [property: Id(5)] string AmountAtomic,
    [property: Id(6)] string AtLeastAtomic,
    [property: Id(7)] DateTimeOffset? RequestedAt,
    [property: Id(8)] long? InitiatedAt,
    [property: Id(9)] long? FinalizableAt,
    [property: Id(10)] string? ReturnedAtomic,
    [property: Id(11)] IReadOnlyList<WithdrawTxView> Transactions,
    [property: Id(12)] bool Owned);
