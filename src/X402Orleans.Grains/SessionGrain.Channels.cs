using System.Globalization;
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
/// Batch-settlement sessions. A session on a batch-settlement endpoint pays each request through a channel of the silo's wallet, the
/// payee and its agent (<see cref="IPaymentChannelGrain"/>, the sole writer of the channel's numbers, shared by every session on it;
/// the lowest-numbered of the agent's pool that is not busy, see <see cref="PaymentChannelGrain.AgentSalt"/>): the session checks
/// its own limits (repeat payments, max_payment, max_total with pending requests counted at their maximum), joins the channel as a
/// live member and asks it to sign (the first request deposits; the deposit is reserved against the daily budgets by the channel,
/// which commits each charge out of it); the gateway sends the payload and reports the server's answer, which the channel checks;
/// the session adds the charge to its totals and the payment log records deposits, charges and refunds. Ending the channel's last
/// live session marks its cooperative refund due; the gateway (or, for an expired or operator-ended session, the silo's refund service)
/// fetches a fresh 402 and <see cref="PrepareRefund"/> signs it.
/// </summary>
public sealed partial class SessionGrain
{
    // The channels' numbers as last read, by key (not persisted: the channel grains hold them).
    private Dictionary<string, ChannelView>? _channelViews;

    private void KeepChannelView(string key, ChannelView view) => (_channelViews ??= new(StringComparer.Ordinal))[key] = view;

    /// <summary>The key and id of the agent's channel number <paramref name="index"/> for <paramref name="requirement"/>, or (null, why not).</summary>
    private (string? Key, string IdOrWhy) PoolKey(PaymentRequirements requirement, IPaymentSigner signer, int index)
    {
        if (!ChannelConfig.TryFromRequirements(requirement, signer.Address, out var config, out var why, salt: PaymentChannelGrain.AgentSalt(S.AgentId, index)))
        {
            return (null, why);
        }

        var channelId = config!.ComputeId(requirement.Network);
        return (ChannelKeys.For(requirement.Network, channelId), channelId);
    }

    /// <summary>
    /// A refund not signed: the channel's note says why (the session's status shows it), stored; the refund stays due only when
    /// <paramref name="stillDue"/> (the channel is busy for a while), else it is no longer asked for.
    /// </summary>
    private async Task<PaymentDecision> RefuseRefundAsync(SessionChannelRecord record, string note, bool stillDue = false)
    {
        record.RefundDue &= stillDue;
        record.Note = note;
        await state.WriteStateAsync();
        return Refuse(SessionErrorCode.PaymentRefused, note);
    }

    private static string RefundWaits(DateTimeOffset until) =>
        $"refund waits: the channel is busy with a request until {Iso(until)}; call x402_session_end again after it";

    /// <summary>The session's record of the channel a request went through.</summary>
    private SessionChannelRecord? RecordOf(PendingPayment pending) => S.Channels.FirstOrDefault(c => c.Key == pending.ChannelKey);

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

        // The agent's pool of channels with the payee: the lowest-numbered one not busy takes the request (channel i opens only
        // while channels 0 … i−1 are all busy, each with its own deposit).
        var pool = Math.Max(1, Rules.ChannelPoolSize);
        if (S.Channels.Count > 0 && PoolKey(requirement, signer, S.Channels[0].PoolIndex).Key != S.Channels[0].Key)
        {
            return await RefuseAsync(quote, $"this session pays through channel {S.Channels[0].ChannelId}; the server now asks for another channel configuration: start a new session for it");
        }

        ChannelPayment? payment = null;
        var busyUntil = DateTimeOffset.MaxValue;
        string key = string.Empty, channelId = string.Empty;
        var index = 0;
        for (; index < pool; index++)
        {
            var (k, idOrWhy) = PoolKey(requirement, signer, index);
            if (k is null)
            {
                return await RefuseAsync(quote, $"cannot open a batch-settlement channel: {idOrWhy}");
            }

            (key, channelId) = (k, idOrWhy);
            var member = S.Channels.Any(c => c.Key == key);
            var channel = GrainFactory.GetGrain<IPaymentChannelGrain>(key);
            await channel.Join(new ChannelMember(Id, S.AgentId, S.ExpiresAt));
            payment = await channel.PrepareRequest(new ChannelRequest(
                S.AgentId, Id, ChallengeJson(challenge), requirement.ToJson().ToJsonString(), maxPayment.ToString(CultureInfo.InvariantCulture),
                Rules.ChannelDepositCapAtomic(asset.Decimals), asset.Symbol, asset.Decimals, index));
            if (payment.Refusal != ChannelRefusal.Busy)
            {
                break;
            }

            busyUntil = payment.LeaseUntil is { } until && until < busyUntil ? until : busyUntil;
            if (!member)
            {
                // Not paying through it after all: it keeps no refund waiting for this session.
                await channel.Leave(Id);
            }
        }

        if (payment is not { Succeeded: true })
        {
            var message = payment is null || payment.Refusal == ChannelRefusal.Busy
                ? $"all {pool} payment channel(s) of this agent with this payee are busy (one request in flight per channel{(busyUntil == DateTimeOffset.MaxValue ? string.Empty : $"; the first frees by {Iso(busyUntil)}")}): retry after one completes, or raise X402__Payments__ChannelPoolSize (now {pool}) for more parallel calls (each extra channel takes its own deposit)"
                : $"cannot pay {requestUrl.AbsoluteUri} through the batch-settlement channel: {payment.Message}";
            await state.WriteStateAsync();
            return await RefuseAsync(quote, message);
        }

        if (!S.Channels.Any(c => c.Key == key))
        {
            S.Channels.Add(new SessionChannelRecord { Key = key, Network = requirement.Network, Asset = requirement.Asset, Symbol = asset.Symbol, Decimals = asset.Decimals, ChannelId = channelId, PoolIndex = index });
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
        MarkIssuedHere(pending.ReservationId);
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

        _issuedHere?.Remove(pending.ReservationId);
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
                if (pending.Refund && RecordOf(pending) is { } record)
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
        if (!state.RecordExists || S.AgentId != agentId || S.Channels.FirstOrDefault(c => c.RefundDue) is not { } record)
        {
            return Refuse(SessionErrorCode.InvalidState, "no channel refund is due for this session");
        }

        if (S.Pending.FirstOrDefault(p => p.Refund && p.ChannelKey == record.Key) is { } signed)
        {
            // Signed by an earlier attempt whose answer was never recorded (a crash): it may have reached the server, which may have
            // refunded already. It holds the channel until its lease ends; after that the channel resolves the refund (from the
            // chain when the silo has a node: nothing left = refunded) or signs it again — never a second refund meanwhile.
            if (signed.ValidBefore is { } lease && lease > clock.GetUtcNow())
            {
                return await RefuseRefundAsync(record, RefundWaits(lease), stillDue: true);
            }

            S.Pending.Remove(signed);
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

        var requirement = required!.Accepts.FirstOrDefault(a => a.Scheme == BatchSettlementScheme.Name && PoolKey(a, signer, record.PoolIndex).Key == record.Key);
        if (requirement is null)
        {
            return await RefuseRefundAsync(record, "no refund: the server no longer offers this channel");
        }

        var channel = GrainFactory.GetGrain<IPaymentChannelGrain>(record.Key);
        var view = await channel.GetStatus();
        var payment = await channel.RequestRefund(new ChannelRefundRequest(S.AgentId, Id, ChallengeJson(challenge), requirement.ToJson().ToJsonString(), record.PoolIndex));
        if (!payment.Succeeded && payment.Refusal == ChannelRefusal.Busy && payment.LeaseUntil is { } until)
        {
            // A request (e.g. an earlier refund whose answer was lost) holds the channel: the refund stays due.
            return await RefuseRefundAsync(record, RefundWaits(until), stillDue: true);
        }

        if (!payment.Succeeded)
        {
            return await RefuseRefundAsync(record, payment.Refusal switch
            {
                ChannelRefusal.NothingToRefund => "no refund: nothing is left in the channel",
                ChannelRefusal.AlreadyRefunded => "refunded (the refund's answer was lost; the chain shows nothing left in the channel)",
                _ => $"no refund: {payment.Message}",
            });
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
        MarkIssuedHere(pending.ReservationId);
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
            if (pending.Refund && RecordOf(pending) is { } refusedRefund)
            {
                refusedRefund.RefundDue = false;
                refusedRefund.Note = $"refund not confirmed: {charge.Message}";
            }

            return new ChannelAnswerResult(false, pending.Refund ? $"the refund was not confirmed: {charge.Message}" : charge.Message);
        }

        var view = await channel.GetStatus();
        KeepChannelView(pending.ChannelKey!, view);
        if (pending.Refund)
        {
            var note = $"refunded {Format(quote.AmountAtomic, quote)} (the channel's remaining balance)";
            await Audit(quote, "refunded", transaction, $"cooperative refund of channel {RecordOf(pending)?.ChannelId}");
            if (RecordOf(pending) is { } refunded)
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
            await Audit(quote with { AmountAtomic = pending.DepositAtomic, Scheme = null }, "deposited", transaction, $"deposit into batch-settlement channel {RecordOf(pending)?.ChannelId} (charges are paid out of it; the rest comes back by refund)");
        }

        var receipt = quote.ToReceipt(payer, transaction, clock.GetUtcNow(), simulated, charge.ChargedAtomic) with
        {
            DepositAtomic = charge.DepositMade ? pending.DepositAtomic : null,
            ChannelRemainingAtomic = view.RemainingAtomic,
        };
        await CountChargeAsync(pending, quote, receipt, null);
        return new ChannelAnswerResult(true, string.Empty, receipt);
    }

    /// <summary>Adds a channel charge to the session's totals and its channel share, and records it in the payment log.</summary>
    private async Task CountChargeAsync(PendingPayment pending, PaymentQuote quote, PaymentReceipt receipt, string? reason)
    {
        AddReceipt(receipt);
        if (RecordOf(pending) is { } record)
        {
            record.ChargedAtomic = AtomicAmount.Sum(record.ChargedAtomic, receipt.AmountAtomic);
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
            await CountChargeAsync(pending, quote, quote.ToReceipt(quote.Wallet, string.Empty, clock.GetUtcNow(), false, earlier), "charged for an earlier call of this session that got no answer (the server's corrective 402 says so)");
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

    /// <summary>
    /// On close: leaves each channel; the last live session of a channel to end or expire makes its cooperative refund due. The agent's
    /// <c>x402_session_end</c> asks for it at once (its gateway); for a session that expired or that an operator ended, the session is
    /// put on the <see cref="IChannelRefundQueueGrain"/>, whose silo-side refund service asks for it.
    /// </summary>
    private async Task LeaveChannelAsync()
    {
        var queued = false;
        foreach (var record in S.Channels)
        {
            var others = await GrainFactory.GetGrain<IPaymentChannelGrain>(record.Key).Leave(Id);
            if (others.Count > 0)
            {
                record.Note = $"no refund: {others.Count} other live session(s) pay through this channel; the last one to end asks for the refund";
            }
            else if (S.Status == SessionStatus.Ended && !_endingByOperator)
            {
                record.RefundDue = true;
                record.Note = "refund requested";
            }
            else if (S.Status is SessionStatus.Ended or SessionStatus.Expired)
            {
                record.RefundDue = true;
                record.Note = $"refund due: the silo asks the server for it ({(S.Status == SessionStatus.Expired ? "the session expired" : "ended by an operator")})";
                queued = true;
            }
            else
            {
                record.Note = "the channel's remaining balance stays deposited until a session on it ends";
            }
        }

        if (queued)
        {
            await GrainFactory.GetGrain<IChannelRefundQueueGrain>(0).Add(Id, S.AgentId);
        }
    }

    private async Task RefreshChannelAsync()
    {
        foreach (var record in S.Channels)
        {
            KeepChannelView(record.Key, await GrainFactory.GetGrain<IPaymentChannelGrain>(record.Key).GetStatus());
        }
    }

    private SessionChannel ChannelSnapshot(SessionChannelRecord c)
    {
        var view = _channelViews?.GetValueOrDefault(c.Key);
        return new SessionChannel(
            c.Key, c.Network, c.Asset, c.Symbol, c.Decimals, c.ChannelId, (view?.Phase ?? ChannelPhase.Open).ToString().ToLowerInvariant(),
            view?.DepositedAtomic ?? "0", view?.ChargedAtomic ?? "0", view?.RemainingAtomic ?? "0", c.ChargedAtomic, c.RefundDue, c.Note, c.PoolIndex,
            view?.HighestSignedAtomic ?? "0", view?.ClaimedAtomic, view?.ClaimedSeenAt);
    }

    private IReadOnlyList<SessionChannel> ChannelSnapshots() => [.. S.Channels.Select(ChannelSnapshot)];

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
        $"{AtomicAmount.Format(atomic, quote.Decimals)} {quote.Symbol}";
}
