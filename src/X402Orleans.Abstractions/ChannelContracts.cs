namespace X402Orleans.Abstractions;

/// <summary>
/// One batch-settlement payment channel of the silo's wallet (key: <see cref="ChannelKeys.For"/>, <c>{network}/{channelId}</c>). The only
/// writer of the channel's numbers: deposits, balance as last reported, charged total, the highest voucher ceiling ever signed and the
/// one request in flight. Every signed payload is persisted before it is returned, so no voucher ever leaves the silo unrecorded.
/// Non-reentrant: one turn at a time, and at most one paid request per channel in flight (a second gets <see cref="ChannelRefusal.Busy"/>).
/// </summary>
[Alias("X402Orleans.Abstractions.IPaymentChannelGrain")]
public interface IPaymentChannelGrain : IGrainWithStringKey
{
    /// <summary>
    /// Signs the payment of one request: a voucher with ceiling = charged + the requirement's amount, plus a deposit (reserved
    /// against the wallet's daily budget) when the channel's balance does not cover it. Persisted before it is returned.
    /// </summary>
    [Alias("PrepareRequest")]
    Task<ChannelPayment> PrepareRequest(ChannelRequest request);

    /// <summary>
    /// Records the server's receipt (<c>PAYMENT-RESPONSE</c> header value) for the request in flight: checks the charge, advances the
    /// charged total and commits it against the budgets; a charge that fails the check stops the channel. Idempotent for the last request.
    /// </summary>
    [Alias("CompleteRequest")]
    Task<ChannelCharge> CompleteRequest(Guid requestId, string paymentResponseHeader);

    /// <summary>Ends the request in flight without a receipt: certainly not charged (not sent, or answered without settling), or unknown.</summary>
    [Alias("FailRequest")]
    Task<ChannelView> FailRequest(Guid requestId, ChannelRequestFailure failure);

    /// <summary>
    /// The server answered the request in flight with a corrective 402 (<paramref name="challengeJson"/>: the 402's JSON): adopts its
    /// charged total only when the voucher it returns recovers to our payer authorizer for this channel; the caller then prepares again.
    /// </summary>
    [Alias("AdoptCorrection")]
    Task<ChannelCorrection> AdoptCorrection(Guid requestId, string challengeJson);

    /// <summary>Signs the cooperative refund request: a zero-charge voucher (ceiling = charged), persisted before it is returned.</summary>
    [Alias("RequestRefund")]
    Task<ChannelPayment> RequestRefund(ChannelRefundRequest request);

    /// <summary>The channel's numbers and state.</summary>
    [Alias("GetStatus")]
    Task<ChannelView> GetStatus();

    /// <summary>Records a live session paying through this channel (until it leaves or its expiry passes).</summary>
    [Alias("Join")]
    Task Join(ChannelMember member);

    /// <summary>Removes a session from the channel's live sessions; returns the others still live.</summary>
    [Alias("Leave")]
    Task<IReadOnlyList<ChannelMember>> Leave(Guid sessionId);
}

/// <summary>A session paying through a channel: live until it leaves or <paramref name="ExpiresAt"/> passes.</summary>
[GenerateSerializer, Immutable, Alias("X402Orleans.Abstractions.ChannelMember")]
public sealed record ChannelMember(
    [property: Id(0)] Guid SessionId,
    [property: Id(1)] string AgentId,
    [property: Id(2)] DateTimeOffset ExpiresAt);

/// <summary>Keys of <see cref="IPaymentChannelGrain"/>.</summary>
public static class ChannelKeys
{
    /// <summary>The grain key of a channel: <c>{network}/{channelId}</c> with the id in lower case (e.g. <c>eip155:84532/0xab…</c>).</summary>
    public static string For(string network, string channelId)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(channelId);
        return $"{network}/{channelId.ToLowerInvariant()}";
    }
}

/// <summary>Where a channel stands.</summary>
[Alias("X402Orleans.Abstractions.ChannelPhase")]
public enum ChannelPhase
{
    /// <summary>Signing vouchers.</summary>
    Open,

    /// <summary>A server answer failed a check: no more vouchers are signed (see <see cref="ChannelView.StopReason"/>).</summary>
    Stopped,

    /// <summary>
    /// The cooperative refund was confirmed: the channel's remaining balance went back to the payer. A later request reopens it
    /// (with a new deposit: the channel on chain stays, with nothing left in it).
    /// </summary>
    Refunded,

    /// <summary>A unilateral withdraw was asked for (see <see cref="IChannelWithdrawGrain"/>): no voucher is signed until it is finalized.</summary>
    Withdrawing,

    /// <summary>The unilateral withdraw was finalized: the unclaimed balance went back to the payer. A later request reopens the channel (as after a refund).</summary>
    Withdrawn,
}

/// <summary>Why a channel did not sign.</summary>
[Alias("X402Orleans.Abstractions.ChannelRefusal")]
public enum ChannelRefusal
{
    /// <summary>Signed.</summary>
    None,

    /// <summary>Another request of this channel is in flight (until <see cref="ChannelPayment.LeaseUntil"/>); retry after it completes.</summary>
    Busy,

    /// <summary>The channel was stopped or refunded.</summary>
    Closed,

    /// <summary>The challenge or requirement is unreadable, not batch-settlement, or not for this channel.</summary>
    InvalidRequest,

    /// <summary>The requirement's amount exceeds the caller's maximum.</summary>
    ExceedsMaxAmount,

    /// <summary>The next ceiling would exceed the highest ceiling ever signed plus one request's maximum, or uint128.</summary>
    CeilingNotSignable,

    /// <summary>The deposit the channel needs is above the deposit cap.</summary>
    DepositTooLarge,

    /// <summary>The wallet's or the agent's daily budget refused the deposit.</summary>
    BudgetExceeded,

    /// <summary>No wallet is configured on the silo, or signing failed.</summary>
    SigningFailed,

    /// <summary>Nothing is left to refund.</summary>
    NothingToRefund,

    /// <summary>Other live sessions use the channel: no refund while they may still pay through it.</summary>
    InUse,

    /// <summary>
    /// A Permit2 deposit (<c>extra.assetTransferMethod = "permit2"</c>): Permit2 may not move the deposit and the 402 offers no
    /// signature that would let it (the message names the one-time approval), or its allowance could not be read in time. Nothing was
    /// signed.
    /// </summary>
    Permit2AllowanceRequired,

    /// <summary>The refund was made already (a refund whose answer was lost, found on chain).</summary>
    AlreadyRefunded,
}

/// <summary>What a signed channel payload carries.</summary>
[Alias("X402Orleans.Abstractions.ChannelPayloadKind")]
public enum ChannelPayloadKind
{
    /// <summary>A deposit (ERC-3009 ReceiveWithAuthorization, or a Permit2 witness transfer) plus a voucher.</summary>
    Deposit,

    /// <summary>A voucher alone.</summary>
    Voucher,

    /// <summary>A zero-charge refund voucher.</summary>
    Refund,
}

/// <summary>How a request in flight ended without a receipt.</summary>
[Alias("X402Orleans.Abstractions.ChannelRequestFailure")]
public enum ChannelRequestFailure
{
    /// <summary>The payload never left the gateway: nothing was charged, no deposit was made.</summary>
    NotSent,

    /// <summary>The server answered without settling (an error or a non-corrective 402): nothing was charged, no deposit was made.</summary>
    Rejected,

    /// <summary>No answer (timeout, connection lost): the server may or may not have charged, and a deposit may or may not have been made.</summary>
    Unanswered,
}

/// <summary>A request to pay one call through the channel.</summary>
/// <param name="AgentId">The agent paying (budget owner).</param>
/// <param name="SessionId">The session paying (for the caller's own accounting; recorded with the request).</param>
/// <param name="ChallengeJson">The 402's JSON (decoded <c>PAYMENT-REQUIRED</c> header or body).</param>
/// <param name="RequirementJson">The batch-settlement <c>accepts</c> entry to pay, as selected.</param>
/// <param name="MaxAmountAtomic">The most one request may cost (the session's max_payment, atomic units).</param>
/// <param name="DepositCapAtomic">The largest deposit to sign (atomic units); null: <c>5 × MaxAmountAtomic</c>.</param>
/// <param name="Symbol">The asset's symbol (budget display).</param>
/// <param name="Decimals">The asset's decimals (budget display and limits).</param>
/// <param name="PoolIndex">
/// Which of the agent's channels with the payee this is (salt <c>AgentSalt(agent, index)</c>; 0: the agent's first channel, whose salt
/// predates the pool). The grain checks the requirement's channel under this salt is its own.
/// </param>
[GenerateSerializer, Immutable, Alias("X402Orleans.Abstractions.ChannelRequest")]
public sealed record ChannelRequest(
    [property: Id(0)] string AgentId,
    [property: Id(1)] Guid SessionId,
    [property: Id(2)] string ChallengeJson,
    [property: Id(3)] string RequirementJson,
    [property: Id(4)] string MaxAmountAtomic,
    [property: Id(5)] string? DepositCapAtomic,
    [property: Id(6)] string Symbol,
    [property: Id(7)] int Decimals,
    [property: Id(8)] int PoolIndex = 0);

/// <summary>A request to sign the channel's cooperative refund (the challenge of a request to the same server).</summary>
/// <param name="PoolIndex">Which of the agent's channels with the payee this is (see <see cref="ChannelRequest.PoolIndex"/>).</param>
[GenerateSerializer, Immutable, Alias("X402Orleans.Abstractions.ChannelRefundRequest")]
public sealed record ChannelRefundRequest(
    [property: Id(0)] string AgentId,
    [property: Id(1)] Guid SessionId,
    [property: Id(2)] string ChallengeJson,
    [property: Id(3)] string RequirementJson,
    [property: Id(4)] int PoolIndex = 0);

/// <summary>A signed channel payload to send (or why not). Amounts are atomic integer strings.</summary>
[GenerateSerializer, Immutable, Alias("X402Orleans.Abstractions.ChannelPayment")]
public sealed record ChannelPayment(
    [property: Id(0)] bool Succeeded,
    [property: Id(1)] ChannelRefusal Refusal,
    [property: Id(2)] string Message,
    [property: Id(3)] Guid RequestId = default,
    [property: Id(4)] ChannelPayloadKind Kind = ChannelPayloadKind.Voucher,
    [property: Id(5)] string HeaderName = "",
    [property: Id(6)] string HeaderValue = "",
    [property: Id(7)] string CeilingAtomic = "0",
    [property: Id(8)] string RequestMaxAtomic = "0",
    [property: Id(9)] string DepositAtomic = "0",
    [property: Id(10)] string ChargedBeforeAtomic = "0",
    [property: Id(11)] DateTimeOffset? LeaseUntil = null);

/// <summary>The outcome of a receipt: what this request cost and the channel's charged total after it.</summary>
[GenerateSerializer, Immutable, Alias("X402Orleans.Abstractions.ChannelCharge")]
public sealed record ChannelCharge(
    [property: Id(0)] bool Accepted,
    [property: Id(1)] string Message,
    [property: Id(2)] Guid RequestId,
    [property: Id(3)] string ChargedAtomic,
    [property: Id(4)] string ChargedTotalAtomic,
    [property: Id(5)] bool DepositMade,
    [property: Id(6)] ChannelPhase Phase);

/// <summary>The outcome of a corrective 402.</summary>
/// <param name="Adopted">Whether the server's charged total was adopted (prepare the request again).</param>
/// <param name="Verdict">adopt, needs_chain_state, not_our_voucher, inconsistent, unreadable or not_in_flight.</param>
/// <param name="Message">Why not, for an operator.</param>
/// <param name="ChargedTotalAtomic">The channel's charged total after this.</param>
/// <param name="EarlierSessionId">
/// When the adopted total resolves an earlier request that got no answer (at most one is unresolved at a time: the next request
/// either passes, so it was charged nothing, or gets this correction): the session that sent it.
/// </param>
/// <param name="EarlierChargeAtomic">What that request was charged (the adopted total minus the total it was signed on), if any.</param>
[GenerateSerializer, Immutable, Alias("X402Orleans.Abstractions.ChannelCorrection")]
public sealed record ChannelCorrection(
    [property: Id(0)] bool Adopted,
    [property: Id(1)] string Verdict,
    [property: Id(2)] string Message,
    [property: Id(3)] string ChargedTotalAtomic,
    [property: Id(4)] Guid? EarlierSessionId = null,
    [property: Id(5)] string? EarlierChargeAtomic = null);

/// <summary>A channel's numbers (atomic integer strings) and state.</summary>
/// <param name="Key">The grain key.</param>
/// <param name="ChannelId">The channel id (empty before the first request).</param>
/// <param name="Phase">Open, stopped or refunded.</param>
/// <param name="StopReason">Why it stopped.</param>
/// <param name="DepositedAtomic">Deposits confirmed by a receipt.</param>
/// <param name="DepositsPendingAtomic">Deposits signed whose outcome is not known yet.</param>
/// <param name="BalanceAtomic">The balance as last reported by the server (or as our confirmed deposits make it).</param>
/// <param name="ChargedAtomic">The charged total.</param>
/// <param name="RemainingAtomic">Balance − charged.</param>
/// <param name="HighestSignedAtomic">The highest voucher ceiling ever signed on this channel.</param>
/// <param name="InFlightRequestId">The request in flight, if any.</param>
/// <param name="InFlightUntil">Its lease.</param>
/// <param name="ChargeUnknown">A request ended unanswered: its charge is unknown until the server's view is adopted.</param>
/// <param name="Requests">Requests completed with a receipt.</param>
/// <param name="ClaimedAtomic">What the server has claimed from the channel (totalClaimed) as last read on chain; null: never read.</param>
/// <param name="ClaimedSeenAt">When it was read.</param>
[GenerateSerializer, Immutable, Alias("X402Orleans.Abstractions.ChannelView")]
public sealed record ChannelView(
    [property: Id(0)] string Key,
    [property: Id(1)] string ChannelId,
    [property: Id(2)] ChannelPhase Phase,
    [property: Id(3)] string? StopReason,
    [property: Id(4)] string DepositedAtomic,
    [property: Id(5)] string DepositsPendingAtomic,
    [property: Id(6)] string BalanceAtomic,
    [property: Id(7)] string ChargedAtomic,
    [property: Id(8)] string RemainingAtomic,
    [property: Id(9)] string HighestSignedAtomic,
    [property: Id(10)] Guid? InFlightRequestId,
    [property: Id(11)] DateTimeOffset? InFlightUntil,
    [property: Id(12)] bool ChargeUnknown,
    [property: Id(13)] long Requests,
    [property: Id(14)] string? ClaimedAtomic = null,
    [property: Id(15)] DateTimeOffset? ClaimedSeenAt = null);
