using Microsoft.Extensions.Options;
using X402Orleans.Gateway;
using X402Orleans.Gateway.Configuration;
using X402Orleans.Grains.Payments;
using X402Orleans.Hosting;
using X402Orleans.Payments.Evm;
using X402Orleans.Payments.Evm.BatchSettlement;
using X402Orleans.Payments.Evm.Upto;
using X402Orleans.Payments.Policy;
using X402Orleans.Payments.Signing;

namespace X402Orleans.Silo;

/// <summary>
/// What the silo pays with, on the silo's side of the trust boundary: the wallet (the only process that holds the key), the
/// payment rules the grains enforce (assets, max_payment, daily limits) and the optional chain reader. Gateways get none of it.
/// </summary>
public static class SiloPayments
{
    /// <summary>Registers the wallet, the rules and the chain reader from the <c>X402</c> section.</summary>
    public static IServiceCollection AddX402SiloPayments(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddX402Options(configuration);
        services.AddSingleton<IPaymentSigner>(sp =>
        {
            var (mode, folder) = DevWallet(sp.GetService<X402ClusterSettings>());
            return WalletFactory.Create(sp.GetRequiredService<IOptions<X402Options>>(), sp.GetRequiredService<ILoggerFactory>().CreateLogger("X402Orleans.Wallet"), mode, folder);
        });
        services.AddSingleton(sp => RulesFrom(sp.GetRequiredService<IOptions<X402Options>>().Value));
        services.AddSingleton(sp => new RpcAuthorizationStateReader(sp.GetRequiredService<PaymentRules>(), new HttpClient { Timeout = TimeSpan.FromSeconds(10) }));
        services.AddSingleton<IAuthorizationStateReader>(sp => sp.GetRequiredService<RpcAuthorizationStateReader>());
        services.AddSingleton<IPermit2TokenReader>(sp => sp.GetRequiredService<RpcAuthorizationStateReader>());
        services.AddSingleton<IChannelStateReader>(sp => sp.GetRequiredService<RpcAuthorizationStateReader>());
        return services;
    }

    /// <summary>
    /// Where a keyless silo keeps its development wallet: Local mode on a SQLite file keeps one in the state folder (reused on later
    /// starts); <c>:memory:</c> keeps a throwaway one; AdoNet mode keeps a throwaway one per silo and warns.
    /// </summary>
    public static (DevWalletMode Mode, string? StateFolder) DevWallet(X402ClusterSettings? settings) => settings switch
    {
        null => (DevWalletMode.Throwaway, null),
        { Cluster.IsAdoNet: true } => (DevWalletMode.Cluster, null),
        { Storage.IsInMemory: true } => (DevWalletMode.Throwaway, null),
        _ => (DevWalletMode.Persistent, StateFolder(settings)),
    };

    /// <summary>Local mode on a SQLite file: the folder holding it (the dev wallet and the demo paywall's file live beside it); else null.</summary>
    public static string? StateFolder(X402ClusterSettings? settings) =>
        settings is null || settings.Cluster.IsAdoNet || settings.Storage.IsInMemory ? null : Path.GetDirectoryName(settings.Storage.ResolvedPath);

    /// <summary>The grains' rules from the options.</summary>
    public static PaymentRules RulesFrom(X402Options options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var payments = options.Payments;
        var assets = payments.Assets.Count == 0
            ? PaymentPolicy.Default.Assets
            : [.. payments.Assets.Select(a => new AssetInfo(a.Network, a.Address, a.Decimals, a.Symbol))];
        var networks = payments.Networks.Count == 0 ? assets.Select(a => a.Network).Distinct().ToList() : payments.Networks;
        return new PaymentRules
        {
            Policy = new PaymentPolicy
            {
                Networks = networks,
                Assets = assets,
                MaxPayment = payments.MaxPayment,
                Schemes = payments.Schemes.Count == 0 ? [ExactEvmScheme.Name, UptoEvmScheme.Name, BatchSettlementScheme.Name] : [.. payments.Schemes.Distinct(StringComparer.Ordinal)],
            },
            ChannelDepositCap = payments.ChannelDepositCap,
            ChannelPoolSize = payments.ChannelPoolSize,
            WithdrawMaxFeePerGas = System.Numerics.BigInteger.Parse(payments.WithdrawMaxFeePerGas, System.Globalization.CultureInfo.InvariantCulture),
            AgentDailyLimit = payments.AgentDailyLimit,
            AgentDailyLimits = options.Agents.ToDictionary(a => a.Id, a => a.DailyLimit, StringComparer.Ordinal),
            WalletDailyLimit = payments.WalletDailyLimit,
            RpcEndpoints = payments.Rpc.ToDictionary(r => r.Network, r => new Uri(r.Url), StringComparer.Ordinal),
        };
    }
}
