using System.Globalization;
using Microsoft.Extensions.Logging;
using X402Orleans.Abstractions;
using X402Orleans.Gateway.Http;
using X402Orleans.Gateway.Observability;
using X402Orleans.Payments;
using X402Orleans.Payments.Evm;
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
/// <param name="Agent">The agent's grain (audit log).</param>
/// <param name="Grain">The session grain (authorises and records payments).</param>
/// <param name="Scope">Where the request may go (redirects included).</param>
/// <param name="Policy">Networks, assets, max_payment.</param>
/// <param name="MayPay">Whether a payment may be made if the server demands one.</param>
/// <param name="PayRefusal">What to tell the agent when a payment is demanded but not allowed.</param>
/// <param name="Limits">Daily limits of the agent and of the wallet, decimal strings in the asset's units (null: none).</param>
internal sealed record ExchangeContext(string AgentId, IAgentGrain Agent, Guid SessionId, ISessionGrain Grain, EndpointScope Scope, PaymentPolicy Policy, bool MayPay, string PayRefusal, DailyLimits Limits);

/// <summary>Daily limits, as decimal strings in the asset's units (null: none).</summary>
internal sealed record DailyLimits(string? Agent, string? Wallet)
{
    /// <summary>The limit in atomic units of an asset with <paramref name="decimals"/>, or null.</summary>
    public static string? Atomic(string? limit, int decimals) =>
        limit is not null && AtomicAmount.TryParseDecimal(limit, decimals, out var atomic, out _) ? atomic.ToString(CultureInfo.InvariantCulture) : null;
}

/// <summary>The outcome of an exchange.</summary>
internal sealed record ExchangeResult(UpstreamResponse Response, AccessKind Access, PaymentReceipt? Receipt, bool SignInWithXOffered, string? ResourceUrl);

/// <summary>
/// One call through x402, outside any grain turn: send (with a cached sign-in proof when one is usable) → on 402 read the challenge →
/// prove by sign-in-with-x when offered → else select a requirement, have the session grain authorise it, sign, resend, record.
/// </summary>
internal sealed partial class PaymentExchange(UpstreamHttp http, IPaymentSigner signer, ProofCache proofs, TimeProvider time, ILogger<PaymentExchange> logger)
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
        var siwxOffered = SiwxChallenge.TryRead(challenge.Extensions, out var siwx, out _);
        if (siwxOffered)
        {
            // Re-sign from the fresh challenge (a cached proof may be stale or single-use) and retry once.
            var fresh = await TrySignAsync(context, siwx!, response.Url, cancellationToken);
            if (fresh is not null)
            {
                var retried = await SendAsync(request, ProofHeader(fresh), context.Scope, deadline, cancellationToken);
                if (retried.Status != 402)
                {
                    return new ExchangeResult(retried, AccessKind.SignInWithX, null, true, challenge.Resource?.Url);
                }

                if (TryReadChallenge(retried, out var next))
                {
                    challenge = next!;
                }
            }
        }

        if (!context.MayPay)
        {
            throw new ToolError(context.PayRefusal);
        }

        return await PayAsync(context, request, challenge, siwxOffered, deadline, cancellationToken);
    }

    private async Task<ExchangeResult> PayAsync(ExchangeContext context, UpstreamRequest request, PaymentRequired challenge, bool siwxOffered, DateTimeOffset deadline, CancellationToken cancellationToken)
    {
        if (challenge.Accepts.Count == 0 && challenge.Unreadable.Count == 0)
        {
            throw new ToolError($"the server requires sign-in-with-x access and offers no payment option{Reason(challenge.Error)}");
        }

        var selection = RequirementSelector.Select(challenge, context.Policy);
        if (!selection.Succeeded)
        {
            await AuditUnselectedAsync(context, request, challenge, selection.Reason);
            throw new ToolError($"cannot pay {request.Url.AbsoluteUri}: {selection.Reason}");
        }

        var requirement = selection.Requirement!;
        var asset = selection.Asset!;
        var resourceUrl = challenge.Resource?.Url ?? requirement.ResourceUrl ?? request.Url.AbsoluteUri;
        var quote = new PaymentQuote(
            requirement.Network,
            requirement.Asset,
            asset.Symbol,
            asset.Decimals,
            requirement.Amount.ToString(CultureInfo.InvariantCulture),
            requirement.PayTo,
            resourceUrl,
            signer.Address,
            DailyLimits.Atomic(context.Limits.Agent, asset.Decimals),
            DailyLimits.Atomic(context.Limits.Wallet, asset.Decimals));
        var decision = await context.Grain.AuthorizePayment(context.AgentId, quote);
        if (!decision.Approved)
        {
            throw new ToolError(decision.Message);
        }

        PaymentPayload payload;
        try
        {
            payload = await ExactEvmScheme.CreatePaymentAsync(challenge, requirement, signer, time, cancellationToken);
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException or ArgumentException)
        {
            await context.Grain.RecordPayment(context.AgentId, new PaymentOutcome(decision.ReservationId, false, null, "could not sign the payment"));
            throw new ToolError($"could not sign the payment: {ex.Message}");
        }

        FaultInjection.Hit(FaultPoints.PaymentSigned);
        UpstreamResponse paid;
        try
        {
            paid = await SendAsync(request, new Dictionary<string, string> { [payload.HeaderName] = payload.EncodeHeader() }, context.Scope, deadline, cancellationToken);
        }
        catch (ToolError ex)
        {
            // The signed authorization may have reached the server. Its nonce makes it single-use, so at most this one payment can
            // ever be charged; it stays counted against the budgets and is reported as unknown.
            await context.Grain.RecordPayment(context.AgentId, new PaymentOutcome(decision.ReservationId, false, null, ex.Message, MayHaveSettled: true));
            X402Telemetry.PaymentNotSettled("unknown", requirement.Network, asset.Symbol);
            throw new ToolError($"the paid request got no answer ({ex.Message}); the payment may or may not have settled and is counted against your budget");
        }

        FaultInjection.Hit(FaultPoints.PaymentAnswered);
        var receipt = ReadReceipt(paid);
        if (paid.Status == 402 || receipt is { Success: false })
        {
            var reason = receipt?.ErrorReason ?? (TryReadChallenge(paid, out var refusal) ? refusal!.Error : null) ?? "no reason given";
            await context.Grain.RecordPayment(context.AgentId, new PaymentOutcome(decision.ReservationId, false, null, reason));
            Log.PaymentRefused(logger, context.SessionId, reason);
            X402Telemetry.PaymentNotSettled("refused", requirement.Network, asset.Symbol);
            throw new ToolError($"the server refused the payment: {reason}");
        }

        if (receipt is null && paid.Status >= 400)
        {
            // A failure status and no settlement receipt: the official server cancels settlement when its handler fails, so this is
            // not a payment. The server still holds the signed single-use authorization, so it stays counted against the budgets.
            var reason = $"the server answered HTTP {paid.Status} to the paid request without a settlement receipt";
            await context.Grain.RecordPayment(context.AgentId, new PaymentOutcome(decision.ReservationId, false, null, reason, MayHaveSettled: true));
            Log.PaymentRefused(logger, context.SessionId, reason);
            throw new ToolError($"{reason}; nothing is recorded as paid (the signed authorization is single-use: at most this one payment could still be charged, and it is counted against your budget)");
        }

        var record = quote.ToReceipt(receipt?.Payer ?? signer.Address, receipt?.Transaction ?? string.Empty, time.GetUtcNow(), receipt?.Simulated ?? false);
        await context.Grain.RecordPayment(context.AgentId, new PaymentOutcome(decision.ReservationId, true, record, null));
        X402Telemetry.PaymentSettled(record);
        if (siwxOffered && SiwxChallenge.TryRead(challenge.Extensions, out var siwx, out _))
        {
            // Sign the next proof now, so the next call needs one round trip.
            await TrySignAsync(context, siwx!, paid.Url, cancellationToken);
        }

        return new ExchangeResult(paid, AccessKind.Paid, record, siwxOffered, resourceUrl);
    }

    private Task AuditUnselectedAsync(ExchangeContext context, UpstreamRequest request, PaymentRequired challenge, string reason)
    {
        var first = challenge.Accepts.FirstOrDefault();
        return context.Agent.RecordAttempt(new PaymentAttempt(
            time.GetUtcNow(), context.SessionId, challenge.Resource?.Url ?? request.Url.AbsoluteUri, first?.Network ?? string.Empty, first?.Asset ?? string.Empty,
            string.Empty, 0, first?.Amount.ToString(CultureInfo.InvariantCulture) ?? "0", first?.PayTo ?? string.Empty, "not_selected", null, reason));
    }

    private async Task<SiwxProof?> TrySignAsync(ExchangeContext context, SiwxChallenge challenge, Uri responseUrl, CancellationToken cancellationToken)
    {
        try
        {
            var proof = await SiwxSigner.SignAsync(challenge, signer, responseUrl, cancellationToken);
            proofs.Put(context.SessionId, responseUrl, proof);
            return proof;
        }
        catch (X402ProtocolException ex)
        {
            Log.ChallengeRefused(logger, context.SessionId, ex.Message);
            return null;
        }
    }

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

    private static bool TryReadChallenge(UpstreamResponse response, out PaymentRequired? challenge) => TryReadChallenge(response, out challenge, out _);

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
        return new ReceiptView(receipt!.Success, receipt.Transaction, receipt.Payer, receipt.ErrorReason, simulated);
    }

    private static string Reason(string? error) => string.IsNullOrEmpty(error) ? string.Empty : $" ({error})";

    private static Dictionary<string, string> ProofHeader(SiwxProof proof) => new() { [X402Headers.SignInWithX] = proof.HeaderValue };

    private static readonly Dictionary<string, string> NoHeaders = [];

    private sealed record ReceiptView(bool Success, string Transaction, string? Payer, string? ErrorReason, bool Simulated);

    private static partial class Log
    {
        [LoggerMessage(201, LogLevel.Warning, "Session {SessionId}: the server refused the payment: {Reason}")]
        public static partial void PaymentRefused(ILogger logger, Guid sessionId, string reason);

        [LoggerMessage(202, LogLevel.Warning, "Session {SessionId}: sign-in-with-x challenge refused: {Reason}")]
        public static partial void ChallengeRefused(ILogger logger, Guid sessionId, string reason);
    }
}
