using System.Globalization;
using System.Numerics;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Concurrency;
using Orleans.Runtime;
using X402Orleans.Abstractions;
using X402Orleans.Grains.Payments;
using X402Orleans.Payments;

namespace X402Orleans.Grains;

/// <summary>Persisted daily spend of one wallet.</summary>
[GenerateSerializer]
[Alias("X402Orleans.Grains.WalletBudgetState")]
public sealed class WalletBudgetState
{
    /// <summary>Contract version.</summary>
    [Id(0)] public int SchemaVersion { get; set; } = 1;

    /// <summary>Committed atomic spend per asset key, wallet-wide.</summary>
    [Id(1)] public Dictionary<string, string> WalletCommitted { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Committed atomic spend per "agent|asset".</summary>
    [Id(2)] public Dictionary<string, string> AgentCommitted { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Open reservations.</summary>
    [Id(3)] public Dictionary<Guid, BudgetRequest> Reservations { get; set; } = [];

    /// <summary>Symbols and decimals seen per asset key (for display).</summary>
    [Id(4)] public Dictionary<string, AssetLabel> Assets { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Atomic amount already committed out of an open reservation (see <see cref="IWalletBudgetGrain.CommitUpTo"/>).</summary>
    [Id(5)] public Dictionary<Guid, string> PartCommitted { get; set; } = [];
}

/// <summary>How an asset is displayed.</summary>
[GenerateSerializer, Immutable]
[Alias("X402Orleans.Grains.AssetLabel")]
public sealed record AssetLabel([property: Id(0)] string Symbol, [property: Id(1)] int Decimals);

/// <summary>
/// One wallet's spend for one UTC day. Reentrant with group commit (<see cref="GroupWrite{TState}"/>): a call checks and changes
/// the state synchronously, before its first await, so a reservation is checked against committed plus reserved spend and
/// recorded in one step: however many payments race, committed spend never exceeds the agent's or the wallet's cap. Concurrent
/// calls share one write, and each is answered only once a write holding its change (and every change it could have seen) is
/// stored; a failed write fails every call it covered and deactivates the grain, so no reservation or commit that was not stored
/// is ever reported or counted.
/// </summary>
[Reentrant]
public sealed class WalletBudgetGrain([PersistentState("budget", StorageNames.Sessions)] IPersistentState<WalletBudgetState> state)
    : GroupCommitGrain<WalletBudgetState>(state), IWalletBudgetGrain
{
    private WalletBudgetState S => Storage.State;

    // The caps are the silo's own configuration, never a caller's: a request carries only what is being paid.
    private PaymentRules Rules => ServiceProvider.GetService<PaymentRules>() ?? PaymentRules.Default;

    /// <inheritdoc />
    public async Task<BudgetDecision> Reserve(BudgetRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var (decision, changed) = Decide(request);
        await Writes.CompleteAsync(changed);
        return decision;
    }

    /// <inheritdoc />
    public Task Commit(Guid reservationId) => Close(reservationId, total: null);

    /// <inheritdoc />
    public Task CommitCharged(Guid reservationId, string chargedAtomic) =>
        Close(reservationId, AtomicAmount.TryParseAtomic(chargedAtomic, out var charged) ? charged : null);

    public Task CommitUpTo(Guid reservationId, string cumulativeAtomic)
    {
        if (!S.Reservations.TryGetValue(reservationId, out var request) || !AtomicAmount.TryParseAtomic(cumulativeAtomic, out var cumulative))
        {
            return Writes.CompleteAsync(false);
        }

        var delta = cumulative - Part(reservationId);
        if (delta.Sign <= 0)
        {
            return Writes.CompleteAsync(false);
        }

        AddCommitted(request, delta);
        S.PartCommitted[reservationId] = cumulative.ToString(CultureInfo.InvariantCulture);
        return Writes.CompleteAsync(true);
    }

    /// <inheritdoc />
    public Task Release(Guid reservationId)
    {
        TakePart(reservationId);
        return Writes.CompleteAsync(S.Reservations.Remove(reservationId));
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<AssetSpend>> GetSpend(string agentId)
    {
        IReadOnlyList<AssetSpend> spend = [.. S.Assets.Select(a => new AssetSpend(
            a.Key,
            a.Value.Symbol,
            a.Value.Decimals,
            Get(S.WalletCommitted, a.Key).ToString(CultureInfo.InvariantCulture),
            Reserved(r => r.AssetKey == a.Key).ToString(CultureInfo.InvariantCulture),
            Get(S.AgentCommitted, AgentKey(agentId, a.Key)).ToString(CultureInfo.InvariantCulture),
            Reserved(r => r.AgentId == agentId && r.AssetKey == a.Key).ToString(CultureInfo.InvariantCulture)))];
        await Writes.StoredAsync();
        return spend;
    }

    /// <summary>Checks a reservation against the caps and records it when approved, in one synchronous step.</summary>
    private (BudgetDecision Decision, bool Changed) Decide(BudgetRequest request)
    {
        if (S.Reservations.ContainsKey(request.ReservationId))
        {
            return (new BudgetDecision(true, string.Empty), false);
        }

        if (!AtomicAmount.TryParseAtomic(request.AmountAtomic, out var amount))
        {
            return (new BudgetDecision(false, "the payment amount is not an atomic integer"), false);
        }

        var agentKey = AgentKey(request.AgentId, request.AssetKey);
        var rules = Rules;
        if (Limit(rules.AgentLimitAtomic(request.AgentId, request.Decimals)) is { } agentLimit)
        {
            var used = Get(S.AgentCommitted, agentKey) + Reserved(r => r.AgentId == request.AgentId && r.AssetKey == request.AssetKey);
            if (used + amount > agentLimit)
            {
                return (new BudgetDecision(false, $"the payment of {Format(amount, request)} would exceed your daily limit of {Format(agentLimit, request)} (spent or reserved today: {Format(used, request)})"), false);
            }
        }

        if (Limit(rules.WalletLimitAtomic(request.Decimals)) is { } walletLimit)
        {
            var used = Get(S.WalletCommitted, request.AssetKey) + Reserved(r => r.AssetKey == request.AssetKey);
            if (used + amount > walletLimit)
            {
                return (new BudgetDecision(false, $"the payment of {Format(amount, request)} would exceed the wallet's daily limit of {Format(walletLimit, request)} (spent or reserved today: {Format(used, request)})"), false);
            }
        }

        S.Reservations[request.ReservationId] = request;
        S.Assets[request.AssetKey] = new AssetLabel(request.Symbol, request.Decimals);
        return (new BudgetDecision(true, string.Empty), true);
    }

    // What is still reserved: a reservation's amount less what was already committed out of it.
    private BigInteger Reserved(Func<BudgetRequest, bool> filter) =>
        S.Reservations.Where(r => filter(r.Value)).Aggregate(
            BigInteger.Zero,
            (sum, r) => sum + BigInteger.Max(BigInteger.Zero, AtomicAmount.Parse(r.Value.AmountAtomic) - Part(r.Key)));

    /// <summary>
    /// Ends a reservation with <paramref name="total"/> of it spent in all (capped at the reservation; null: all of it): commits
    /// what earlier partial commits did not, and releases the rest.
    /// </summary>
    private Task Close(Guid reservationId, BigInteger? total)
    {
        var changed = S.Reservations.Remove(reservationId, out var request);
        if (changed)
        {
            var reserved = AtomicAmount.Parse(request!.AmountAtomic);
            var remainder = BigInteger.Min(total ?? reserved, reserved) - TakePart(reservationId);
            if (remainder.Sign > 0)
            {
                AddCommitted(request, remainder);
            }
        }

        return Writes.CompleteAsync(changed);
    }

    private BigInteger Part(Guid reservationId) =>
        S.PartCommitted.TryGetValue(reservationId, out var text) ? AtomicAmount.Parse(text) : BigInteger.Zero;

    private BigInteger TakePart(Guid reservationId)
    {
        var part = Part(reservationId);
        S.PartCommitted.Remove(reservationId);
        return part;
    }

    private void AddCommitted(BudgetRequest request, BigInteger amount)
    {
        Add(S.WalletCommitted, request.AssetKey, amount);
        Add(S.AgentCommitted, AgentKey(request.AgentId, request.AssetKey), amount);
    }

    private static BigInteger? Limit(string? atomic) => AtomicAmount.TryParseAtomic(atomic, out var value) ? value : null;

    private static BigInteger Get(Dictionary<string, string> map, string key) =>
        map.TryGetValue(key, out var text) ? AtomicAmount.Parse(text) : BigInteger.Zero;

    private static void Add(Dictionary<string, string> map, string key, BigInteger amount) =>
        map[key] = (Get(map, key) + amount).ToString(CultureInfo.InvariantCulture);

    private static string AgentKey(string agentId, string assetKey) => $"{agentId}|{assetKey}";

    private static string Format(BigInteger atomic, BudgetRequest request) => $"{AtomicAmount.Format(atomic, request.Decimals)} {request.Symbol}";

    /// <summary>The grain key for a wallet on a UTC day.</summary>
    public static string KeyFor(string wallet, DateTimeOffset now) => $"{wallet.ToLowerInvariant()}/{now.UtcDateTime:yyyy-MM-dd}";
}
