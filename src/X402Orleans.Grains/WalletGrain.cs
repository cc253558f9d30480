using Microsoft.Extensions.DependencyInjection;
using Orleans.Concurrency;
using X402Orleans.Abstractions;
using X402Orleans.Grains.Payments;
using X402Orleans.Payments.Signing;

namespace X402Orleans.Grains;

/// <summary>
/// The silo's wallet as an agent sees it: address, today's spend (from the day's budget grain) and the limits the silo enforces.
/// Stateless: any silo answers from its own configuration.
/// </summary>
[StatelessWorker]
public sealed class WalletGrain([FromKeyedServices(TimeProviderNames.Grains)] TimeProvider clock) : Grain, IWalletGrain
{
    /// <inheritdoc />
    public async Task<WalletView> GetStatus(string agentId)
    {
        var rules = ServiceProvider.GetService<PaymentRules>() ?? PaymentRules.Default;
        var address = ServiceProvider.GetService<IPaymentSigner>()?.Address ?? string.Empty;
        var now = clock.GetUtcNow();
        var spend = address.Length == 0 ? [] : await GrainFactory.GetGrain<IWalletBudgetGrain>(WalletBudgetGrain.KeyFor(address, now)).GetSpend(agentId);
        IReadOnlyList<AssetBudgetView> assets = [.. rules.Policy.Assets.Select(a =>
        {
            var s = spend.FirstOrDefault(x => x.AssetKey == $"{a.Network}/{a.Address.ToLowerInvariant()}");
            return new AssetBudgetView(
                a.Network, a.Address, a.Symbol, a.Decimals,
                s?.AgentCommittedAtomic ?? "0", s?.AgentReservedAtomic ?? "0", rules.AgentLimitAtomic(agentId, a.Decimals),
                s?.WalletCommittedAtomic ?? "0", s?.WalletReservedAtomic ?? "0", rules.WalletLimitAtomic(a.Decimals));
        })];
        return new WalletView(address, new DateTimeOffset(now.UtcDateTime.Date, TimeSpan.Zero), rules.Policy.MaxPayment, assets);
    }
}
