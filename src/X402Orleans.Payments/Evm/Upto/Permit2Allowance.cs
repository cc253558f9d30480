using System.Numerics;
using System.Text.Json.Nodes;
using X402Orleans.Payments.Signing;
using X402Orleans.Payments.Wire;

namespace X402Orleans.Payments.Evm.Upto;

/// <summary>
/// How Permit2 gets the allowance a Permit2 witness transfer needs — the one rule of every Permit2 payment this library signs (an
/// <c>upto</c> permit, a batch-settlement Permit2 deposit), as the official clients apply it: enough allowance (or none readable
/// without a chain) → nothing extra; short and the 402 declares <c>eip2612GasSponsoring</c> with the token's EIP-712 domain → an
/// EIP-2612 permit for exactly the amount, signed for the facilitator to submit; short otherwise → an
/// <see cref="X402ProtocolException"/> naming the one-time approval (a pre-signed unlimited <c>approve</c> transaction,
/// <c>erc20ApprovalGasSponsoring</c>, is never signed).
/// </summary>
public static class Permit2Allowance
{
    /// <summary>The 402 extension under which a facilitator accepts a pre-signed <c>approve</c> transaction (not signed here).</summary>
    public const string Erc20ApprovalExtensionKey = "erc20ApprovalGasSponsoring";

    /// <summary>
    /// Decides how Permit2 may move <paramref name="amount"/> of <paramref name="token"/> from <paramref name="owner"/>: null when it
    /// has enough or nothing can be known (no reader, or an unreadable allowance the 402 does not sponsor), an EIP-2612 permit (deadline
    /// <paramref name="deadline"/>) to sign when the 402 sponsors one, else an exception naming the approval. <paramref name="payment"/>
    /// completes that message's "of the N (atomic units) …" (e.g. "this upto payment authorises").
    /// </summary>
    /// <exception cref="X402ProtocolException">Permit2's allowance is short and no signature can give it, or the EIP-2612 nonce could
    /// not be read; nothing was signed.</exception>
    public static async Task<Eip2612Permit?> PlanAsync(
        PaymentRequired challenge,
        PaymentRequirements requirements,
        string owner,
        string token,
        BigInteger amount,
        long deadline,
        IPermit2TokenReader? tokens,
        string payment,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(challenge);
        ArgumentNullException.ThrowIfNull(requirements);
        if (tokens is null)
        {
            return null;
        }

        BigInteger? allowance;
        try
        {
            allowance = await tokens.ReadPermit2AllowanceAsync(requirements.Network, token, owner, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // As the official client: an unreadable allowance is treated as missing.
            allowance = null;
        }

        if (allowance >= amount)
        {
            return null;
        }

        var sponsorsPermit = challenge.Extensions?[Eip2612Permit.ExtensionKey] is not null
            && requirements.Extra is not null
            && !string.IsNullOrEmpty(X402Json.GetString(requirements.Extra, "name"))
            && !string.IsNullOrEmpty(X402Json.GetString(requirements.Extra, "version"));
        if (sponsorsPermit)
        {
            BigInteger nonce;
            try
            {
                nonce = await tokens.ReadPermitNonceAsync(requirements.Network, token, owner, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                throw new X402ProtocolException($"cannot sign the EIP-2612 permit for Permit2: the nonce of {owner} on token {token} could not be read; nothing was signed", ex);
            }

            return new Eip2612Permit(owner, token, amount, nonce, deadline);
        }

        if (allowance is null)
        {
            // Unknown: send the transfer as is; the facilitator's verification reports a missing allowance.
            return null;
        }

        var offersApprovalTx = challenge.Extensions?[Erc20ApprovalExtensionKey] is not null
            ? $" (the server offers {Erc20ApprovalExtensionKey}, a pre-signed unlimited approve transaction, which this client does not sign)"
            : string.Empty;
        throw new X402ProtocolException(
            $"Permit2 may spend only {allowance} of the {amount} (atomic units) {payment}: approve Permit2 {Permit2.Address} for {token} once, from {owner} on {requirements.Network} (an on-chain transaction that needs gas){offersApprovalTx}; nothing was signed");
    }

    /// <summary>
    /// Signs <paramref name="permit"/> under the token's domain (the requirement's <c>extra.name</c>/<c>version</c>) and returns the
    /// scheme's extensions <c>{eip2612GasSponsoring: {info}}</c>; null when there is no permit.
    /// </summary>
    public static async Task<JsonObject?> SignExtensionAsync(Eip2612Permit? permit, PaymentRequirements requirements, IPaymentSigner signer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(requirements);
        ArgumentNullException.ThrowIfNull(signer);
        if (permit is null)
        {
            return null;
        }

        var signature = await signer.SignTypedDataAsync(
            permit.BuildTypedData(X402Json.GetString(requirements.Extra!, "name")!, X402Json.GetString(requirements.Extra!, "version")!, Eip712.ChainId(requirements)),
            cancellationToken).ConfigureAwait(false);
        return new JsonObject { [Eip2612Permit.ExtensionKey] = new JsonObject { ["info"] = permit.ToInfoJson(signature) } };
    }
}
