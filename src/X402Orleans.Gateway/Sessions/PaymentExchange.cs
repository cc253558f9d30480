using System.Globalization;
using System.Numerics;
using Microsoft.Extensions.Logging;
using X402Orleans.Abstractions;
using X402Orleans.Gateway.Http;
using X402Orleans.Gateway.Observability;
using X402Orleans.Payments;
using X402Orleans.Payments.Evm;
using X402Orleans.Payments.Evm.Upto;
using X402Orleans.Payments.Policy;
using X402Orleans.Payments.Scope;
using X402Orleans.Payments.Siwx;
using X402Orleans.Payments.Signing;
using X402Orleans.Payments.Wire;

namespace X402Orleans.Gateway.Sessions;

/// <summary>How a response was obtained.</summary>
public enum AccessKind
{
    /// <summary>No payment or proof was needed.</summary>
    Free,

    /// <summary>A sign-in-with-x proof was accepted.</summary>
    SignInWithX,

    /// <summary>A payment was made.</summary>
    Paid,
}

/// <summary>What the exchange needs to know about the session.</summary>
/// <param name="AgentId">Calling agent.</param>
/// <param name="SessionId">Session id (for the proof cache and logs).</param>
/// <param name="Grain">The session grain: signs payments and sign-in proofs, and records outcomes.</param>
/// <param name="Scope">Where the request may go (redirects included).</param>
/// <param name="MayPay">Whether a payment may be made if the server demands one.</param>
/// <param name="PayRefusal">What to tell the agent when a payment is demanded but not allowed.</param>
/// <param name="AttemptId">For a start, the attempt holding the session's lease.</param>
internal sealed record ExchangeContext(string AgentId, Guid SessionId, ISessionGrain Grain, EndpointScope Scope, bool MayPay, string PayRefusal, Guid AttemptId = default);

/// <summary>The outcome of an exchange.</summary>
internal sealed record ExchangeResult(UpstreamResponse Response, AccessKind Access, PaymentReceipt? Receipt, bool SignInWithXOffered, string? ResourceUrl, bool PaidEarlier = false);

/// <summary>
/// One call through x402, outside any grain turn: send (with a cached sign-in proof when one is usable) → on 402 read the challenge →
/// prove by sign-in-with-x when offered (the session grain signs) → else hand the challenge to the session grain, which selects,
/// reserves, signs and records the payment as pending → send it → record the outcome. This process holds no key.
/// </summary>
internal sealed partial class PaymentExchange(UpstreamHttp http, ProofCache proofs, TimeProvider time, ILogger<PaymentExchange> logger)
{
    public async Task<ExchangeResult> RunAsync(ExchangeContext context, UpstreamRequest request, CancellationToken cancellationToken)
    {
        var deadline = time.GetUtcNow() + request.Timeout;
        var proof = proofs.Get(context.SessionId, request.Url, time.GetUtcNow());
        var response = await SendAsync(request, proof is null ? NoHeaders : ProofHeader(proof), context.Scope, deadline, cancellationToken);
        if (response.Status != 402)
        {
            return new ExchangeResult(response, proof is null ? AccessKind.Free : AccessKind.SignInWithX, null, proof is not null, null);
        }

        var challenge = ReadChallenge(response);
        var encoded = Encoded(response);
        var siwxOffered = SiwxChallenge.TryRead(challenge.Extensions, out var siwx, out _);
        if (siwxOffered)
        {
            // Re-sign from the fresh challenge (a cached proof may be stale or single-use) and retry once.
            var fresh = await TrySignInAsync(context, siwx!, response.Url);
            if (fresh is not null)
            {
                var retried = await SendAsync(request, ProofHeader(fresh), context.Scope, deadline, cancellationToken);
                if (retried.Status != 402)
                {
                    return new ExchangeResult(retried, AccessKind.SignInWithX, null, true, challenge.Resource?.Url);
                }

                if (TryReadChallenge(retried, out var next, out _))
                {
                    challenge = next!;
                    encoded = Encoded(retried);
                    response = retried;
                }
            }
        }

        if (!context.MayPay)
        {
            throw new ToolError(context.PayRefusal);
        }

        if (challenge.Accepts.Count == 0 && challenge.Unreadable.Count == 0)
        {
            throw new ToolError($"the server requires sign-in-with-x access and offers no payment option{Reason(challenge.Error)}");
        }

        var decision = await context.Grain.PreparePayment(context.AgentId, new PaymentChallenge(encoded.Value, encoded.InHeader, response.Url.AbsoluteUri, context.AttemptId));
        if (!decision.Approved || decision.Payment is null)
        {
            throw new ToolError(decision.Message);
        }

        FaultInjection.Hit(FaultPoints.PaymentSigned);
        var result = await SendPaymentAsync(context, request, decision.Payment, decision.ReservationId, deadline, cancellationToken);
        if (siwxOffered && result.Access == AccessKind.Paid && SiwxChallenge.TryRead(challenge.Extensions, out var again, out _))
        {
            // Sign the next proof now, so the next call needs one round trip.
            await TrySignInAsync(context, again!, result.Response.Url);
        }

        return result with { SignInWithXOffered = siwxOffered };
    }

    /// <summary>
    /// Sends a signed payment (a new one, or the pending one of an earlier attempt, resent as it was (<paramref name="resent"/>): it
    /// can settle only once) and records what the server answered.
    /// </summary>
    public async Task<ExchangeResult> SendPaymentAsync(ExchangeContext context, UpstreamRequest request, SignedPayment payment, Guid reservationId, DateTimeOffset deadline, CancellationToken cancellationToken, bool resent = false)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(payment);
        if (payment.Quote.IsBatchSettlement)
        {
            return await SendChannelPaymentAsync(context, request, payment, reservationId, deadline, refund: false, cancellationToken);
        }

        var quote = payment.Quote;
        UpstreamResponse paid;
        try
        {
            paid = await SendAsync(request, new Dictionary<string, string> { [payment.HeaderName] = payment.HeaderValue }, context.Scope, deadline, cancellationToken);
        }
        catch (ToolError ex)
        {
            // The signed authorization may have reached the server. Its nonce makes it single-use, so at most this one payment can
            // ever be charged; it stays counted against the budgets and is resolved later, never paid again.
            await context.Grain.RecordPayment(context.AgentId, new PaymentOutcome(reservationId, false, null, ex.Message, MayHaveSettled: true, Unanswered: true));
            X402Telemetry.PaymentNotSettled("unknown", quote.Network, quote.Symbol);
            throw new ToolError($"the paid request got no answer ({ex.Message}); the payment may or may not have settled (at most once, until {SessionService.Iso(payment.ValidBefore)}) and is counted against your budget");
        }

        FaultInjection.Hit(FaultPoints.PaymentAnswered);
        var receipt = ReadReceipt(paid);
        // 412: the official server's answer when verification found no Permit2 allowance (upto, permit2_allowance_required).
        if (paid.Status is 402 or 412 || receipt is { Success: false })
        {
            var reason = receipt?.ErrorReason ?? (TryReadChallenge(paid, out var refusal, out _) ? refusal!.Error : null) ?? "no reason given";
            if (IsAlreadyUsed(reason))
            {
                // The server says this very authorization was used: an earlier attempt's payment settled.
                var earlier = quote.ToReceipt(quote.Wallet, string.Empty, time.GetUtcNow(), false);
                await context.Grain.RecordPayment(context.AgentId, new PaymentOutcome(reservationId, true, earlier, null, AlreadySettled: true));
                X402Telemetry.PaymentSettled(earlier);
                return new ExchangeResult(paid, AccessKind.Paid, earlier, payment.SignInWithXOffered, quote.ResourceUrl, PaidEarlier: true);
            }

            if (resent && quote.IsUpto && reason.Contains("permit2_simulation_failed", StringComparison.OrdinalIgnoreCase))
            {
                // The official upto facilitator verifies by simulating the settlement and reports a permit whose nonce a settlement
                // already used as permit2_simulation_failed (not permit2_invalid_nonce). Resent, that most likely means an earlier
                // attempt's payment settled, for an amount only the chain knows: kept pending (never paid anew), resolved from the
                // chain when the silo has a node, else reported unknown at the permit's deadline.
                await context.Grain.RecordPayment(context.AgentId, new PaymentOutcome(reservationId, false, null, reason, MayHaveSettled: true, Unanswered: true));
                X402Telemetry.PaymentNotSettled("unknown", quote.Network, quote.Symbol);
                throw new ToolError($"the server refused the resent upto permit ({reason}), as it does once an earlier attempt settled it: the payment may have settled (at most once, for at most {AtomicAmount.Format(quote.AmountAtomic, quote.Decimals)} {quote.Symbol}) and is counted against your budget");
            }

            await context.Grain.RecordPayment(context.AgentId, new PaymentOutcome(reservationId, false, null, reason));
            Log.PaymentRefused(logger, context.SessionId, reason);
            X402Telemetry.PaymentNotSettled("refused", quote.Network, quote.Symbol);
            throw new ToolError(reason.Contains("permit2_allowance_required", StringComparison.OrdinalIgnoreCase)
                ? $"the server refused the payment: {reason}: approve Permit2 {Permit2.Address} for {quote.Asset} once, from {quote.Wallet} on {quote.Network} (an on-chain transaction that needs gas), or use a server that offers {Eip2612Permit.ExtensionKey}; nothing was paid"
                : $"the server refused the payment: {reason}");
        }

        if (receipt is null && paid.Status >= 400)
        {
            // A failure status and no settlement receipt: the official server cancels settlement when its handler fails, so this is
            // not a payment. The server still holds the signed single-use authorization, so it stays counted against the budgets.
            var reason = $"the server answered HTTP {paid.Status} to the paid request without a settlement receipt";
            await context.Grain.RecordPayment(context.AgentId, new PaymentOutcome(reservationId, false, null, reason, MayHaveSettled: true));
            Log.PaymentRefused(logger, context.SessionId, reason);
            throw new ToolError($"{reason}; nothing is recorded as paid (the signed authorization is single-use: at most this one payment could still be charged, and it is counted against your budget)");
        }

        // Upto: the amount the server reports charging (PAYMENT-RESPONSE amount; none reported counts as the maximum). The session
        // grain holds it to the maximum it reserved, commits it and releases the rest.
        var record = quote.ToReceipt(receipt?.Payer ?? quote.Wallet, receipt?.Transaction ?? string.Empty, time.GetUtcNow(), receipt?.Simulated ?? false, receipt?.Amount?.ToString(CultureInfo.InvariantCulture));
        await context.Grain.RecordPayment(context.AgentId, new PaymentOutcome(reservationId, true, record, null));
        X402Telemetry.PaymentSettled(record);
        return new ExchangeResult(paid, AccessKind.Paid, record, payment.SignInWithXOffered, quote.ResourceUrl);
    }

    /// <summary>
    /// Sends a channel payment (voucher, deposit or refund) and hands the server's answer to the session grain, which has the channel
    /// grain check it: a receipt (<c>PAYMENT-RESPONSE</c>), a 402 (corrective or not), an answer without a receipt, or none. When a
    /// corrective 402 is adopted the grain signs once more and this sends that payment (at most once).
    /// </summary>
    public async Task<ExchangeResult> SendChannelPaymentAsync(ExchangeContext context, UpstreamRequest request, SignedPayment payment, Guid requestId, DateTimeOffset deadline, bool refund, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(payment);
        while (true)
        {
            UpstreamResponse paid;
            try
            {
                paid = await SendAsync(request, new Dictionary<string, string> { [payment.HeaderName] = payment.HeaderValue }, context.Scope, deadline, cancellationToken);
            }
            catch (ToolError ex)
            {
                var lost = await context.Grain.RecordChannelAnswer(context.AgentId, new ChannelAnswer(requestId, ChannelAnswerKind.Unanswered, null, ex.Message));
                X402Telemetry.PaymentNotSettled("unknown", payment.Quote.Network, payment.Quote.Symbol);
                throw new ToolError(lost.Message);
            }

            FaultInjection.Hit(FaultPoints.PaymentAnswered);
            var answer = await context.Grain.RecordChannelAnswer(context.AgentId, ChannelAnswerOf(paid, requestId));
            if (answer.Paid && answer.Receipt is { } receipt)
            {
                if (!refund)
                {
                    X402Telemetry.PaymentSettled(receipt);
                }

                return new ExchangeResult(paid, AccessKind.Paid, receipt, false, payment.Quote.ResourceUrl);
            }

            if (answer.Retry is { Approved: true, Payment: { } corrected } retry)
            {
                payment = corrected;
                requestId = retry.ReservationId;
                continue;
            }

            Log.PaymentRefused(logger, context.SessionId, answer.Retry?.Message ?? answer.Message);
            X402Telemetry.PaymentNotSettled("refused", payment.Quote.Network, payment.Quote.Symbol);
            throw new ToolError(answer.Retry?.Message ?? answer.Message);
        }
    }

    private static ChannelAnswer ChannelAnswerOf(UpstreamResponse response, Guid requestId)
    {
        if ((response.Header(X402Headers.PaymentResponse) ?? response.Header(X402Headers.XPaymentResponse)) is { } receipt)
        {
            return new ChannelAnswer(requestId, ChannelAnswerKind.Receipt, receipt);
        }

        if (response.Status == 402)
        {
            var json = response.Header(X402Headers.PaymentRequired) is { } header && X402Json.TryDecodeHeader(header, out var decoded, out _)
                ? decoded!.ToJsonString()
                : System.Text.Encoding.UTF8.GetString(response.Body);
            var reason = TryReadChallenge(response, out var challenge, out _) && !string.IsNullOrEmpty(challenge!.Error) ? challenge.Error : "the server answered 402 again";
            return new ChannelAnswer(requestId, ChannelAnswerKind.Challenge, json, reason);
        }

        return new ChannelAnswer(requestId, ChannelAnswerKind.Rejected, null, $"the server answered HTTP {response.Status} without a settlement receipt");
    }

    /// <summary>
    /// Asks the server for the cooperative refund of a session's channel once its end made it due: fetches a fresh 402 from
    /// <paramref name="request"/>'s URL, has the session grain sign the refund voucher from it, sends it and records the answer.
    /// Returns the refund's receipt, or throws with why not.
    /// </summary>
    public async Task<PaymentReceipt?> RefundAsync(ExchangeContext context, UpstreamRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var deadline = time.GetUtcNow() + request.Timeout;
        var response = await SendAsync(request, NoHeaders, context.Scope, deadline, cancellationToken);
        if (response.Status != 402)
        {
            throw new ToolError($"the server answered HTTP {response.Status}, not a 402 to refund through");
        }

        var encoded = Encoded(response);
        var decision = await context.Grain.PrepareRefund(context.AgentId, new PaymentChallenge(encoded.Value, encoded.InHeader, response.Url.AbsoluteUri));
        if (!decision.Approved || decision.Payment is null)
        {
            throw new ToolError(decision.Message);
        }

        var result = await SendChannelPaymentAsync(context, request, decision.Payment, decision.ReservationId, deadline, refund: true, cancellationToken);
        return result.Receipt;
    }

    private async Task<SiwxProof?> TrySignInAsync(ExchangeContext context, SiwxChallenge challenge, Uri responseUrl)
    {
        var signed = await context.Grain.SignIn(context.AgentId, new SignInRequest(challenge.ToJson().ToJsonString(), responseUrl.AbsoluteUri));
        if (!signed.Signed)
        {
            Log.ChallengeRefused(logger, context.SessionId, signed.Message);
            return null;
        }

        var proof = new SiwxProof(signed.HeaderValue, signed.Address, signed.ChainId, signed.Nonce, signed.IssuedAt, signed.ExpiresAt);
        proofs.Put(context.SessionId, responseUrl, proof);
        return proof;
    }

    // The facilitator's reason for an authorization whose nonce was already used on chain (e.g. invalid_exact_evm_nonce_already_used;
    // for upto, Permit2's InvalidNonce revert, permit2_invalid_nonce: the random nonce was consumed by a settlement).
    private static bool IsAlreadyUsed(string reason) =>
        reason.Contains("permit2_invalid_nonce", StringComparison.OrdinalIgnoreCase)
        || (reason.Contains("nonce", StringComparison.OrdinalIgnoreCase) && (reason.Contains("used", StringComparison.OrdinalIgnoreCase) || reason.Contains("already", StringComparison.OrdinalIgnoreCase)));

    private static (string Value, bool InHeader) Encoded(UpstreamResponse response) =>
        response.Header(X402Headers.PaymentRequired) is { } header ? (header, true) : (System.Text.Encoding.UTF8.GetString(response.Body), false);

    private async Task<UpstreamResponse> SendAsync(UpstreamRequest request, IReadOnlyDictionary<string, string> headers, EndpointScope scope, DateTimeOffset deadline, CancellationToken cancellationToken)
    {
        var remaining = deadline - time.GetUtcNow();
        if (remaining <= TimeSpan.Zero)
        {
            throw new ToolError($"the call timed out after {(int)request.Timeout.TotalMilliseconds} ms");
        }

        try
        {
            return await http.SendAsync(request with { Timeout = remaining }, headers, scope, cancellationToken);
        }
        catch (UpstreamException ex)
        {
            throw new ToolError(ex.Message);
        }
    }

    private static PaymentRequired ReadChallenge(UpstreamResponse response) =>
        TryReadChallenge(response, out var challenge, out var why) ? challenge! : throw new ToolError($"the server answered 402 without readable payment requirements: {why}");

    private static bool TryReadChallenge(UpstreamResponse response, out PaymentRequired? challenge, out string why)
    {
        if (response.Header(X402Headers.PaymentRequired) is { } header)
        {
            return PaymentRequired.TryDecodeHeader(header, out challenge, out why);
        }

        if (response.Truncated)
        {
            challenge = null;
            why = "402 body is too large";
            return false;
        }

        return PaymentRequired.TryParseBody(response.Body, out challenge, out why);
    }

    private static ReceiptView? ReadReceipt(UpstreamResponse response)
    {
        var header = response.Header(X402Headers.PaymentResponse) ?? response.Header(X402Headers.XPaymentResponse);
        if (header is null || !SettlementResponse.TryDecodeHeader(header, out var receipt, out _))
        {
            return null;
        }

        var simulated = X402Json.TryDecodeHeader(header, out var json, out _) && json!["simulated"] is System.Text.Json.Nodes.JsonValue v && v.TryGetValue<bool>(out var s) && s;
        return new ReceiptView(receipt!.Success, receipt.Transaction, receipt.Payer, receipt.ErrorReason, simulated, receipt.Amount);
    }

    private static string Reason(string? error) => string.IsNullOrEmpty(error) ? string.Empty : $" ({error})";

    private static Dictionary<string, string> ProofHeader(SiwxProof proof) => new() { [X402Headers.SignInWithX] = proof.HeaderValue };

    private static readonly Dictionary<string, string> NoHeaders = [];

    private sealed record ReceiptView(bool Success, string Transaction, string? Payer, string? ErrorReason, bool Simulated, System.Numerics.BigInteger? Amount);

    private static partial class Log
    {
        [LoggerMessage(201, LogLevel.Warning, "Session {SessionId}: the server refused the payment: {Reason}")]
        public static partial void PaymentRefused(ILogger logger, Guid sessionId, string reason);

        [LoggerMessage(202, LogLevel.Warning, "Session {SessionId}: sign-in-with-x challenge refused: {Reason}")]
        public static partial void ChallengeRefused(ILogger logger, Guid sessionId, string reason);
    }
}
