using System.Globalization;
using System.Numerics;
using System.Text.Json.Nodes;
using X402Orleans.Abstractions;
using X402Orleans.Payments;
using X402Orleans.Payments.Evm.BatchSettlement;
using X402Orleans.Payments.Policy;
using X402Orleans.Payments.Scope;
using X402Orleans.Payments.Signing;
using X402Orleans.Payments.Wire;

namespace X402Orleans.Grains;

/// <summary>
/// Batch-settlement sessions. A session on a batch-settlement endpoint pays through the channel of the silo's wallet and the payee
/// (<see cref="IPaymentChannelGrain"/>, the sole writer of the channel's numbers, shared by every session on it): the session checks
/// its own limits (repeat payments, max_payment, max_total with pending requests counted at their maximum), joins the channel as a
/// live member and asks it to sign (the first request deposits; the deposit is reserved against the daily budgets by the channel,
/// which commits each charge out of it); the gateway sends the payload and reports the server's answer, which the channel checks;
/// the session adds the charge to its totals and the payment log records deposits, charges and refunds. Ending the channel's last
/// live session marks its cooperative refund due; the gateway fetches a fresh 402 and <see cref="PrepareRefund"/> signs it.
/// </summary>
public sealed partial class SessionGrain
{
    // The channel's numbers as last read (not persisted: the channel grain holds them).
    private ChannelView? _channelView;

    /// <summary>Pays one request through the session's channel (see the class summary); <paramref name="corrected"/>: a retry after an adopted correction.</summary>
    private async Task<PaymentDecision> PrepareChannelPaymentAsync(
        PaymentChallenge challenge, PaymentRequired required, PaymentRequirements requirement, AssetInfo asset, IPaymentSigner signer, Uri requestUrl, bool corrected)
    {
        var now = clock.GetUtcNow();
        var quote = new PaymentQuote(
            requirement.Network, requirement.Asset, asset.Symbol, asset.Decimals, requirement.Amount.ToString(CultureInfo.InvariantCulture), requirement.PayTo,
            required.Resource?.Url ?? requirement.ResourceUrl ?? requestUrl.AbsoluteUri, signer.Address, Scheme: PaymentQuote.BatchSettlement);
        if (S.Status == SessionStatus.Active && !S.AllowRepeatPayments)
        {
            return Refuse(SessionErrorCode.PaymentRefused, "The server asked for another payment and this session does not allow repeat payments (start it with allow_repeat_payments).");
        }

        if (!AtomicAmount.TryParseDecimal(S.MaxPayment, asset.Decimals, out var maxPayment, out var why))
        {
            return Refuse(SessionErrorCode.PaymentRefused, $"The session's max_payment is not usable for {asset.Symbol}: {why}");
        }

        // The channel does not know session totals: max_total first, with this request at its maximum.
        if (MaxTotalRefusal(quote, requirement.Amount) is { } overTotal)
        {
            return await RefuseAsync(quote, overTotal);
        }

        if (!ChannelConfig.TryFromRequirements(requirement, signer.Address, out var config, out why, salt: PaymentChannelGrain.AgentSalt(S.AgentId)))
        {
            return await RefuseAsync(quote, $"cannot open a batch-settlement channel: {why}");
        }

        var channelId = config!.ComputeId(requirement.Network);
        var key = ChannelKeys.For(requirement.Network, channelId);
        if (S.Channel is { } current && current.Key != key)
        {
            return await RefuseAsync(quote, $"this session pays through channel {current.ChannelId}; the server now asks for another channel ({channelId}): start a new session for it");
        }

        var channel = GrainFactory.GetGrain<IPaymentChannelGrain>(key);
        await channel.Join(new ChannelMember(Id, S.AgentId, S.ExpiresAt));
        S.Channel ??= new SessionChannelRecord { Key = key, Network = requirement.Network, Asset = requirement.Asset, Symbol = asset.Symbol, Decimals = asset.Decimals, ChannelId = channelId };
        var payment = await channel.PrepareRequest(new ChannelRequest(
            S.AgentId, Id, ChallengeJson(challenge), requirement.ToJson().ToJsonString(), maxPayment.ToString(CultureInfo.InvariantCulture),
            Rules.ChannelDepositCapAtomic(asset.Decimals), asset.Symbol, asset.Decimals));
        if (!payment.Succeeded)
        {
            var message = payment.Refusal == ChannelRefusal.Busy && payment.LeaseUntil is { } until
                ? $"the payment channel is busy with another request until {Iso(until)} (one request per channel at a time); retry after it"
                : $"cannot pay {requestUrl.AbsoluteUri} through the batch-settlement channel: {payment.Message}";
            await state.WriteStateAsync();
            return await RefuseAsync(quote, message);
        }

        var pending = new PendingPayment
        {
            ReservationId = payment.RequestId,
            Quote = quote with { AmountAtomic = payment.RequestMaxAtomic },
            AuthorizedAt = now,
            HeaderName = payment.HeaderName,
            HeaderValue = payment.HeaderValue,
            ValidBefore = payment.LeaseUntil,
            ForStart = S.Status == SessionStatus.Starting,
            ChannelKey = key,
            DepositAtomic = payment.DepositAtomic,
            Corrected = corrected,
        };
        S.Pending.Add(pending);

        // Recorded before the signed payload leaves the silo (the channel stored it first).
        await state.WriteStateAsync();
        _issuedHere.Add(pending.ReservationId);
        ArmPendingTimer();
        return new PaymentDecision(true, pending.ReservationId, SessionErrorCode.None, string.Empty, ToSigned(pending));
    }

    /// <inheritdoc />
    public async Task<ChannelAnswerResult> RecordChannelAnswer(string agentId, ChannelAnswer answer)
    {
        ArgumentNullException.ThrowIfNull(answer);
        if (!state.RecordExists || S.AgentId != agentId
            || S.Pending.FirstOrDefault(p => p.ReservationId == answer.RequestId && p.ChannelKey is not null) is not { } pending)
        {
            return new ChannelAnswerResult(false, "this channel request is not pending on the session");
        }

        _issuedHere.Remove(pending.ReservationId);
        S.Pending.Remove(pending);
        var channel = GrainFactory.GetGrain<IPaymentChannelGrain>(pending.ChannelKey!);
        ChannelAnswerResult result;
        switch (answer.Kind)
        {
            case ChannelAnswerKind.Receipt:
                result = await RecordReceiptAsync(channel, pending, answer.Value ?? string.Empty);
                break;
            case ChannelAnswerKind.Challenge:
                result = await RecordChallengeAsync(channel, pending, answer.Value ?? string.Empty, answer.Reason);
                break;
            case ChannelAnswerKind.Unanswered:
                await channel.FailRequest(pending.ReservationId, ChannelRequestFailure.Unanswered);
                await Audit(pending.Quote, "unknown", null, $"the channel request got no answer ({answer.Reason}): its charge (at most {pending.Quote.AmountAtomic}) is known after the server's next answer");
                result = new ChannelAnswerResult(false, $"the paid request got no answer ({answer.Reason}); the server may have charged up to {Format(pending.Quote.AmountAtomic, pending.Quote)} from the channel (it says so at the next call)");
                break;
            default:
                await channel.FailRequest(pending.ReservationId, answer.Kind == ChannelAnswerKind.NotSent ? ChannelRequestFailure.NotSent : ChannelRequestFailure.Rejected);
                await Audit(pending.Quote, "refused", null, answer.Reason);
                result = new ChannelAnswerResult(false, pending.Refund ? $"the server refused the refund: {answer.Reason}" : $"the server refused the payment: {answer.Reason}");
                if (pending.Refund && S.Channel is { } record)
                {
                    record.RefundDue = false;
                    record.Note = $"refund refused by the server: {answer.Reason}";
                }

                break;
        }

        await state.WriteStateAsync();
        await RefreshChannelAsync();
        return result;
    }

    /// <inheritdoc />
    public async Task<PaymentDecision> PrepareRefund(string agentId, PaymentChallenge challenge)
    {
        ArgumentNullException.ThrowIfNull(challenge);
        if (!state.RecordExists || S.AgentId != agentId || S.Channel is not { RefundDue: true } record)
        {
            return Refuse(SessionErrorCode.InvalidState, "no channel refund is due for this session");
        }

        if (Signer is not { } signer)
        {
            return Refuse(SessionErrorCode.PaymentRefused, "no wallet is configured on the silo");
        }

        if (!EndpointScope.TryNormalize(challenge.RequestUrl, out var url, out _) || ParsedScope() is not { } scope || !scope.Covers(url!))
        {
            return Refuse(SessionErrorCode.OutOfScope, "the 402 to refund through is not for a URL within the session's scope");
        }

        if (!TryReadChallenge(challenge, out var required, out var why))
        {
            return Refuse(SessionErrorCode.PaymentRefused, $"the server's 402 is unreadable: {why}");
        }

        var requirement = required!.Accepts.FirstOrDefault(a => a.Scheme == BatchSettlementScheme.Name
            && ChannelConfig.TryFromRequirements(a, signer.Address, out var c, out _, salt: PaymentChannelGrain.AgentSalt(S.AgentId)) && ChannelKeys.For(a.Network, c!.ComputeId(a.Network)) == record.Key);
        if (requirement is null)
        {
            record.RefundDue = false;
            record.Note = "no refund: the server no longer offers this channel";
            await state.WriteStateAsync();
            return Refuse(SessionErrorCode.PaymentRefused, record.Note);
        }

        var channel = GrainFactory.GetGrain<IPaymentChannelGrain>(record.Key);
        var view = await channel.GetStatus();
        var payment = await channel.RequestRefund(new ChannelRefundRequest(S.AgentId, Id, ChallengeJson(challenge), requirement.ToJson().ToJsonString()));
        if (!payment.Succeeded && payment.Refusal == ChannelRefusal.Busy && payment.LeaseUntil is { } until)
        {
            // A request (e.g. an earlier refund whose answer was lost) holds the channel: the refund stays due.
            record.Note = $"refund waits: the channel is busy with a request until {Iso(until)}; call x402_session_end again after it";
            await state.WriteStateAsync();
            return Refuse(SessionErrorCode.PaymentRefused, record.Note);
        }

        if (!payment.Succeeded)
        {
            record.RefundDue = false;
            record.Note = payment.Refusal switch
            {
                ChannelRefusal.NothingToRefund => "no refund: nothing is left in the channel",
                ChannelRefusal.AlreadyRefunded => "refunded (the refund's answer was lost; the chain shows nothing left in the channel)",
                _ => $"no refund: {payment.Message}",
            };
            await state.WriteStateAsync();
            return Refuse(SessionErrorCode.PaymentRefused, record.Note);
        }

        var quote = new PaymentQuote(
            record.Network, record.Asset, record.Symbol, record.Decimals, view.RemainingAtomic, requirement.PayTo, required.Resource?.Url ?? url!.AbsoluteUri, signer.Address,
            Scheme: PaymentQuote.BatchSettlement);
        var pending = new PendingPayment
        {
            ReservationId = payment.RequestId,
            Quote = quote,
            AuthorizedAt = clock.GetUtcNow(),
            HeaderName = payment.HeaderName,
            HeaderValue = payment.HeaderValue,
            ValidBefore = payment.LeaseUntil,
            ChannelKey = record.Key,
            Refund = true,
        };
        S.Pending.Add(pending);
        await state.WriteStateAsync();
        _issuedHere.Add(pending.ReservationId);
        return new PaymentDecision(true, pending.ReservationId, SessionErrorCode.None, string.Empty, ToSigned(pending));
    }

    private async Task<ChannelAnswerResult> RecordReceiptAsync(IPaymentChannelGrain channel, PendingPayment pending, string header)
    {
        var charge = await channel.CompleteRequest(pending.ReservationId, header);
        var quote = pending.Quote;
        var (transaction, payer, simulated) = ReadReceipt(header, quote.Wallet);
        if (!charge.Accepted)
        {
            await Audit(quote, "refused", transaction, charge.Message);
            if (pending.Refund && S.Channel is { } refusedRefund)
            {
                refusedRefund.RefundDue = false;
                refusedRefund.Note = $"refund not confirmed: {charge.Message}";
            }

            return new ChannelAnswerResult(false, pending.Refund ? $"the refund was not confirmed: {charge.Message}" : charge.Message);
        }

        var view = await channel.GetStatus();
        _channelView = view;
        if (pending.Refund)
        {
            var note = $"refunded {Format(quote.AmountAtomic, quote)} (the channel's remaining balance)";
            await Audit(quote, "refunded", transaction, $"cooperative refund of channel {S.Channel?.ChannelId}");
            if (S.Channel is { } refunded)
            {
                refunded.RefundDue = false;
                refunded.Note = note;
            }

            return new ChannelAnswerResult(true, note, quote.ToReceipt(payer, transaction, clock.GetUtcNow(), simulated, quote.AmountAtomic) with { ChannelRemainingAtomic = view.RemainingAtomic });
        }

        if (pending.ForStart && S.Status == SessionStatus.Starting)
        {
            // What a retry needs to activate the start without its lost first response.
            S.Reuse = ReuseMode.PayPerCall;
            S.ResourceUrl ??= quote.ResourceUrl;
        }

        if (charge.DepositMade && pending.DepositAtomic != "0")
        {
            await Audit(quote with { AmountAtomic = pending.DepositAtomic, Scheme = null }, "deposited", transaction, $"deposit into batch-settlement channel {S.Channel?.ChannelId} (charges are paid out of it; the rest comes back by refund)");
        }

        var receipt = quote.ToReceipt(payer, transaction, clock.GetUtcNow(), simulated, charge.ChargedAtomic) with
        {
            DepositAtomic = charge.DepositMade ? pending.DepositAtomic : null,
            ChannelRemainingAtomic = view.RemainingAtomic,
        };
        await CountChargeAsync(quote, receipt, null);
        return new ChannelAnswerResult(true, string.Empty, receipt);
    }

    /// <summary>Adds a channel charge to the session's totals and its channel share, and records it in the payment log.</summary>
    private async Task CountChargeAsync(PaymentQuote quote, PaymentReceipt receipt, string? reason)
    {
        AddReceipt(receipt);
        if (S.Channel is { } record)
        {
            record.ChargedAtomic = (BigInteger.Parse(record.ChargedAtomic, CultureInfo.InvariantCulture) + BigInteger.Parse(receipt.AmountAtomic, CultureInfo.InvariantCulture)).ToString(CultureInfo.InvariantCulture);
        }

        await Audit(quote, "settled", receipt.Transaction, reason, receipt.AmountAtomic);
        Log.Paid(logger, Id, receipt.AmountAtomic, receipt.Asset, receipt.Network, receipt.Transaction);
    }

    private async Task<ChannelAnswerResult> RecordChallengeAsync(IPaymentChannelGrain channel, PendingPayment pending, string challengeJson, string? reason)
    {
        var correction = await channel.AdoptCorrection(pending.ReservationId, challengeJson);
        if (correction.Verdict is "unreadable" or "not_in_flight")
        {
            // Not a corrective 402: the server answered without settling.
            await channel.FailRequest(pending.ReservationId, ChannelRequestFailure.Rejected);
            await Audit(pending.Quote, "refused", null, reason);
            return new ChannelAnswerResult(false, pending.Refund ? $"the server refused the refund: {reason}" : $"the server refused the payment: {reason}");
        }

        if (!correction.Adopted)
        {
            await Audit(pending.Quote, "refused", null, $"corrective 402 not adopted ({correction.Verdict}): {correction.Message}");
            return new ChannelAnswerResult(false, $"the server disputes the channel's charged total and its correction was not adopted ({correction.Verdict}): {correction.Message}");
        }

        if (correction.EarlierSessionId == Id && correction.EarlierChargeAtomic is { } earlier && earlier != "0")
        {
            // This session's earlier call got no answer; the server's total says it was charged: counted now, once.
            var quote = pending.Quote;
            await CountChargeAsync(quote, quote.ToReceipt(quote.Wallet, string.Empty, clock.GetUtcNow(), false, earlier), "charged for an earlier call of this session that got no answer (the server's corrective 402 says so)");
        }

        if (pending.Corrected || pending.Refund || Signer is not { } signer)
        {
            return new ChannelAnswerResult(false, $"the server corrected the channel's charged total to {correction.ChargedTotalAtomic} again; retry the call");
        }

        // Adopted (backed by our own voucher): sign once more on the server's charged total.
        var retryChallenge = new PaymentChallenge(challengeJson, false, pending.Quote.ResourceUrl);
        if (!TryReadChallenge(retryChallenge, out var required, out _)
            || required!.Accepts.FirstOrDefault(a => a.Scheme == BatchSettlementScheme.Name) is not { } requirement
            || Rules.Policy.FindAsset(requirement.Network, requirement.Asset) is not { } asset
            || !Uri.TryCreate(pending.Quote.ResourceUrl, UriKind.Absolute, out var url))
        {
            return new ChannelAnswerResult(false, "the corrective 402 was adopted but offers nothing to pay again");
        }

        var retry = await PrepareChannelPaymentAsync(retryChallenge, required, requirement, asset, signer, url, corrected: true);
        return new ChannelAnswerResult(false, retry.Approved ? "corrected: pay again" : retry.Message, Retry: retry);
    }

    /// <summary>A channel request whose lease ran out with no answer recorded: its charge is unknown to the channel. True when it failed the start.</summary>
    private async Task<bool> ExpireChannelRequestAsync(PendingPayment pending)
    {
        S.Pending.Remove(pending);
        await GrainFactory.GetGrain<IPaymentChannelGrain>(pending.ChannelKey!).FailRequest(pending.ReservationId, ChannelRequestFailure.Unanswered);
        await Audit(pending.Quote, "unknown", null, "no answer was recorded before the channel request's lease ran out: its charge is known after the server's next answer");
        if (pending.ForStart && S.Status == SessionStatus.Starting)
        {
            S.Status = SessionStatus.Failed;
            S.FailureReason = "the start's channel payment got no recorded answer; the channel's next request learns what the server charged";
            await CloseAsync();
            return true;
        }

        return false;
    }

    /// <summary>On close: leaves the channel; the channel's last live session to end asks for the cooperative refund.</summary>
    private async Task LeaveChannelAsync()
    {
        if (S.Channel is not { } record)
        {
            return;
        }

        var others = await GrainFactory.GetGrain<IPaymentChannelGrain>(record.Key).Leave(Id);
        if (others.Count > 0)
        {
            record.Note = $"no refund: {others.Count} other live session(s) pay through this channel; the last one to end asks for the refund";
        }
        else if (S.Status == SessionStatus.Ended)
        {
            record.RefundDue = true;
            record.Note = "refund requested";
        }
        else
        {
            record.Note = "the channel's remaining balance stays deposited until a session on it ends";
        }
    }

    private async Task RefreshChannelAsync()
    {
        if (S.Channel is { } record)
        {
            _channelView = await GrainFactory.GetGrain<IPaymentChannelGrain>(record.Key).GetStatus();
        }
    }

    private SessionChannel? ChannelSnapshot() => S.Channel is not { } c
        ? null
        : new SessionChannel(
            c.Key, c.Network, c.Asset, c.Symbol, c.Decimals, c.ChannelId, (_channelView?.Phase ?? ChannelPhase.Open).ToString().ToLowerInvariant(),
            _channelView?.DepositedAtomic ?? "0", _channelView?.ChargedAtomic ?? "0", _channelView?.RemainingAtomic ?? "0", c.ChargedAtomic, c.RefundDue, c.Note,
            _channelView?.HighestSignedAtomic ?? "0");

    // The channel grain reads the 402 as JSON: a header is decoded first.
    private static string ChallengeJson(PaymentChallenge challenge) =>
        challenge.InHeader && X402Json.TryDecodeHeader(challenge.Encoded, out var json, out _) ? json!.ToJsonString() : challenge.Encoded;

    private static (string Transaction, string Payer, bool Simulated) ReadReceipt(string header, string wallet)
    {
        if (!SettlementResponse.TryDecodeHeader(header, out var response, out _))
        {
            return (string.Empty, wallet, false);
        }

        var simulated = X402Json.TryDecodeHeader(header, out var json, out _) && json!["simulated"] is JsonValue v && v.TryGetValue<bool>(out var s) && s;
        return (response!.Transaction, response.Payer ?? wallet, simulated);
    }

    private static string Format(string atomic, PaymentQuote quote) =>
        $"{AtomicAmount.Format(BigInteger.Parse(atomic, CultureInfo.InvariantCulture), quote.Decimals)} {quote.Symbol}";
}
