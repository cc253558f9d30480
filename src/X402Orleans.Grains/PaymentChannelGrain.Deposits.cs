using System.Numerics;
using Microsoft.Extensions.DependencyInjection;
using X402Orleans.Grains.Payments;
using X402Orleans.Payments;
using X402Orleans.Payments.Evm.BatchSettlement;
using X402Orleans.Payments.Evm.Upto;
using X402Orleans.Payments.Signing;
using X402Orleans.Payments.Wire;

namespace X402Orleans.Grains;

public sealed partial class PaymentChannelGrain
{
    /// <summary>
    /// Signs a deposit by the requirement's transfer method. ERC-3009 needs no chain. Permit2 (<c>extra.assetTransferMethod =
    /// "permit2"</c>): when the silo has a node for the network, Permit2's allowance is read first (one <c>eth_call</c> bounded by
    /// <see cref="PaymentRules.ChainReadTimeout"/>, two when a permit is needed), the same rule as upto sessions: short allowance → an EIP-2612
    /// permit for exactly the deposit when the 402 offers <c>eip2612GasSponsoring</c>, else nothing is signed. Without a node the plain
    /// Permit2 deposit is sent and a missing allowance is the facilitator's to report.
    /// </summary>
    /// <exception cref="X402ProtocolException">Permit2 may not move the deposit and no signature can change that (the message names the
    /// one-time approval); nothing was signed.</exception>
    /// <exception cref="OperationCanceledException">The allowance was not read in time; nothing was signed.</exception>
    private async Task<PaymentPayload> SignDepositAsync(
        PaymentRequired challenge, PaymentRequirements requirement, ChannelConfig config, BigInteger amount, BigInteger ceiling, IPaymentSigner signer)
    {
        var permit2 = BatchSettlementScheme.TryGetTransferMethod(requirement, out var method, out _) && method == BatchSettlementScheme.Permit2TransferMethod;
        var rules = ServiceProvider.GetService<PaymentRules>() ?? PaymentRules.Default;
        var tokens = permit2 && rules.RpcEndpoints.ContainsKey(requirement.Network) ? ServiceProvider.GetService<IPermit2TokenReader>() : null;
        using var timeout = new CancellationTokenSource(PaymentRules.ChainReadTimeout);
        return await BatchSettlementPayloads.CreateDepositAsync(
            challenge, requirement, config, amount, ceiling, signer, clock, permit2Tokens: tokens, cancellationToken: tokens is null ? CancellationToken.None : timeout.Token);
    }
}
