namespace X402Orleans.Abstractions;

/// <summary>A request to reserve spend against the daily budgets of one wallet (atomic units of one asset).</summary>
[GenerateSerializer, Immutable]
[Alias("X402Orleans.Abstractions.BudgetRequest")]
public sealed record BudgetRequest(
    [property: Id(0)] Guid ReservationId,
    [property: Id(1)] string AgentId,
    [property: Id(2)] string AssetKey,
    [property: Id(3)] string Symbol,
    [property: Id(4)] int Decimals,
    [property: Id(5)] string AmountAtomic,
    [property: Id(6)] string? AgentDailyLimitAtomic,
    [property: Id(7)] string? WalletDailyLimitAtomic);

/// <summary>The budget grain's answer.</summary>
[GenerateSerializer, Immutable]
[Alias("X402Orleans.Abstractions.BudgetDecision")]
public sealed record BudgetDecision(
    [property: Id(0)] bool Approved,
    [property: Id(1)] string Message);

/// <summary>Spend of one asset for one day.</summary>
[GenerateSerializer, Immutable]
[Alias("X402Orleans.Abstractions.AssetSpend")]
public sealed record AssetSpend(
    [property: Id(0)] string AssetKey,
    [property: Id(1)] string Symbol,
    [property: Id(2)] int Decimals,
    [property: Id(3)] string WalletCommittedAtomic,
    [property: Id(4)] string WalletReservedAtomic,
    [property: Id(5)] string AgentCommittedAtomic,
    [property: Id(6)] string AgentReservedAtomic);

/// <summary>One payment attempt, as recorded for audit.</summary>
[GenerateSerializer, Immutable]
[Alias("X402Orleans.Abstractions.PaymentAttempt")]
public sealed record PaymentAttempt(
    [property: Id(0)] DateTimeOffset At,
    [property: Id(1)] Guid SessionId,
    [property: Id(2)] string Url,
    [property: Id(3)] string Network,
    [property: Id(4)] string Asset,
    [property: Id(5)] string Symbol,
    [property: Id(6)] int Decimals,
    [property: Id(7)] string AmountAtomic,
    [property: Id(8)] string PayTo,
    [property: Id(9)] string Outcome,
    [property: Id(10)] string? Transaction,
    [property: Id(11)] string? Reason,
    [property: Id(12)] string? MaximumAtomic = null);

/// <summary>
/// Daily spend of one wallet (key: <c>{wallet}/{yyyy-MM-dd}</c>, UTC day), per asset and per agent. Reserve → commit or release is
/// atomic (the grain is non-reentrant), so concurrent payments can never commit more than a cap.
/// </summary>
[Alias("X402Orleans.Abstractions.IWalletBudgetGrain")]
public interface IWalletBudgetGrain : IGrainWithStringKey
{
    /// <summary>Reserves spend if both the agent's and the wallet's daily caps allow it.</summary>
    [Alias("43ED9085")]
    Task<BudgetDecision> Reserve(BudgetRequest request);

    /// <summary>Turns a reservation into committed spend (the payment was, or may have been, made).</summary>
    [Alias("2A32E7B1")]
    Task Commit(Guid reservationId);

    /// <summary>
    /// Commits part of a reservation: <paramref name="cumulativeAtomic"/> is how much of it has been spent so far in total (a channel's
    /// charges against its deposit), so a repeated call commits nothing twice; spend beyond the reservation is committed too (it was
    /// made). The rest stays reserved until <see cref="Commit"/> or <see cref="Release"/>. No-op for an unknown reservation.
    /// </summary>
    [Alias("CommitUpTo")]
    Task CommitUpTo(Guid reservationId, string cumulativeAtomic);

    /// <summary>
    /// Commits <paramref name="chargedAtomic"/> of a reservation (at most what was reserved) and releases the rest: an <c>upto</c>
    /// payment reserved its maximum and the server charged less.
    /// </summary>
    [Alias("CommitCharged")]
    Task CommitCharged(Guid reservationId, string chargedAtomic);

    /// <summary>Drops a reservation (the payment certainly did not happen).</summary>
    [Alias("7D87D506")]
    Task Release(Guid reservationId);

    /// <summary>Spend per asset for the wallet and for one agent.</summary>
    [Alias("29C7C08B")]
    Task<IReadOnlyList<AssetSpend>> GetSpend(string agentId);
}

/// <summary>
/// The silo's wallet as agents see it (a stateless worker; key 0): its address and, per allowed asset, today's spend and the
/// daily limits the silo enforces. Gateways hold no key and no limits: they ask here.
/// </summary>
[Alias("X402Orleans.Abstractions.IWalletGrain")]
public interface IWalletGrain : IGrainWithIntegerKey
{
    /// <summary>The wallet's address, today's spend and limits for <paramref name="agentId"/>.</summary>
    [Alias("GetStatus")]
    Task<WalletView> GetStatus(string agentId);
}

/// <summary>The wallet's state for one agent today.</summary>
[GenerateSerializer, Immutable, Alias("X402Orleans.Abstractions.WalletView")]
public sealed record WalletView(
    [property: Id(0)] string Address,
    [property: Id(1)] DateTimeOffset Day,
    [property: Id(2)] string MaxPayment,
    [property: Id(3)] IReadOnlyList<AssetBudgetView> Assets);

/// <summary>One asset's spend and limits today, in atomic units (limits null: none).</summary>
[GenerateSerializer, Immutable, Alias("X402Orleans.Abstractions.AssetBudgetView")]
public sealed record AssetBudgetView(
    [property: Id(0)] string Network,
    [property: Id(1)] string Asset,
    [property: Id(2)] string Symbol,
    [property: Id(3)] int Decimals,
    [property: Id(4)] string AgentCommittedAtomic,
    [property: Id(5)] string AgentReservedAtomic,
    [property: Id(6)] string? AgentDailyLimitAtomic,
    [property: Id(7)] string WalletCommittedAtomic,
    [property: Id(8)] string WalletReservedAtomic,
    [property: Id(9)] string? WalletDailyLimitAtomic);
