using System.ComponentModel;
using System.Globalization;
using System.Numerics;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using X402Orleans.Abstractions;
using X402Orleans.Gateway.Configuration;
using X402Orleans.Payments.Evm;
using X402Orleans.Payments.Evm.BatchSettlement;

namespace X402Orleans.Gateway.Sessions;

/// <summary>One withdraw transaction, as shown to the agent.</summary>
public sealed record WithdrawTxInfo(
    [property: JsonPropertyName("step"), Description("initiate or finalize.")] string Step,
    [property: JsonPropertyName("hash"), Description("The transaction hash.")] string Hash,
    [property: JsonPropertyName("nonce"), Description("The wallet's nonce it uses.")] string Nonce,
    [property: JsonPropertyName("status"), Description("signed (recorded, not resolved yet), mined, reverted or dropped (its nonce was used by another transaction).")] string Status,
    [property: JsonPropertyName("note"), Description("A revert reason or other detail, if any.")] string? Note);

/// <summary>Output of x402_channel_withdraw.</summary>
public sealed record WithdrawResult(
    [property: JsonPropertyName("channel"), Description("The channel key, network/channel_id (pass it as channel to this tool).")] string Channel,
    [property: JsonPropertyName("action"), Description("The action run: initiate, finalize or status.")] string Action,
    [property: JsonPropertyName("outcome"), Description("initiated, finalized, pending (sent, not mined yet: call again with the same action), already_done, or status.")] string Outcome,
    [property: JsonPropertyName("message"), Description("What happened and what to do next.")] string Message,
    [property: JsonPropertyName("phase"), Description("The channel's phase: open, stopped, refunded, withdrawing or withdrawn.")] string Phase,
    [property: JsonPropertyName("amount_atomic"), Description("The amount the withdraw asked for (atomic units): everything unclaimed at initiation.")] string AmountAtomic,
    [property: JsonPropertyName("at_least_atomic"), Description("What comes back even if the server claims every voucher signed (atomic units).")] string AtLeastAtomic,
    [property: JsonPropertyName("returned_atomic"), Description("What finalize paid back to the wallet (atomic units), once finalized.")] string? ReturnedAtomic,
    [property: JsonPropertyName("requested_at"), Description("ISO-8601: when the withdraw was recorded.")] string? RequestedAt,
    [property: JsonPropertyName("initiated_at"), Description("ISO-8601 block time of the initiation.")] string? InitiatedAt,
    [property: JsonPropertyName("finalizable_at"), Description("ISO-8601: from when finalize is possible (chain time).")] string? FinalizableAt,
    [property: JsonPropertyName("transactions"), Description("Every transaction signed for the withdraw, oldest first.")] IReadOnlyList<WithdrawTxInfo> Transactions,
    [property: JsonPropertyName("channel_config"), Description("The channel's configuration: what initiateWithdraw/finalizeWithdraw take on the x402BatchSettlement contract.")] JsonObject? ChannelConfig);

/// <summary>
/// x402_channel_withdraw: the payer's unilateral exit from a batch-settlement channel whose server stopped cooperating. The channel
/// grain decides and signs (and records each transaction before it is returned); this service, outside any grain turn, reads the
/// chain on the network's configured JSON-RPC node (<c>X402:Payments:Rpc</c>), broadcasts the recorded transaction, waits for its
/// receipt and reports it back. A retry gets the recorded transaction back from the grain and resolves it — by receipt, by the node
/// still knowing it, or by its nonce having been used — and re-broadcasts the same bytes when none of these holds: never a second
/// transaction while one is unresolved.
/// </summary>
public sealed partial class ChannelWithdrawService(IGrainFactory grains, IOptions<X402Options> options, ILogger<ChannelWithdrawService> logger, TimeProvider time)
{
    /// <summary>The gas limit given to both calls (each uses well under 100k).</summary>
    public const long GasLimit = 200_000;

    private static readonly TimeSpan ReceiptPoll = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan ReceiptWait = TimeSpan.FromSeconds(20);
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };

    /// <summary>Runs <paramref name="action"/> on the channel of <paramref name="sessionId"/> or <paramref name="channel"/>.</summary>
    public async Task<WithdrawResult> RunAsync(string agentId, string? sessionId, string? channel, string? action, CancellationToken cancellationToken)
    {
        var act = (action ?? "status").Trim().ToLowerInvariant();
        if (act is not ("initiate" or "finalize" or "status"))
        {
            throw new ToolError($"action must be initiate, finalize or status (got '{RequestArguments.Clip(action ?? string.Empty)}')");
        }

        var key = await ResolveKeyAsync(agentId, sessionId, channel);
        var grain = grains.GetGrain<IChannelWithdrawGrain>(key);
        var view = await grain.GetWithdraw(agentId);
        if (!view.Owned)
        {
            throw new ToolError($"no batch-settlement channel of yours is {key}: pass the session_id of a session that paid through it, or the channel shown by x402_session_status");
        }

        if (act == "status")
        {
            return Result(key, act, "status", view.Exists ? "the withdraw as recorded" : "no withdraw was asked for on this channel", view);
        }

        var rpc = Rpc(view.Network);
        ChannelConfig.TryRead(JsonNode.Parse(view.ConfigJson) as JsonObject, out var config, out _);
        for (var attempt = 0; ; attempt++)
        {
            var request = await ReadChainAsync(rpc, agentId, view.ChannelId, config!.Payer, cancellationToken);
            var step = act == "initiate" ? await grain.InitiateWithdraw(request) : await grain.FinalizeWithdraw(request);
            if (!step.Succeeded)
            {
                return step.Refusal == WithdrawRefusal.AlreadyDone
                    ? Result(key, act, "already_done", step.Message, step.Withdraw)
                    : throw new ToolError(step.Refusal == WithdrawRefusal.TooEarly ? $"{step.Message}; call finalize again then" : step.Message);
            }

            var outcome = await SendOrResolveAsync(rpc, grain, step, config.Payer, cancellationToken);
            if (outcome is { Status: WithdrawTxStatus.Dropped } && attempt == 0)
            {
                continue; // its nonce went to another transaction: the grain signs a fresh one on the next nonce
            }

            view = await grain.GetWithdraw(agentId);
            LogStep(logger, act, key, step.TxHash!, outcome?.Status.ToString() ?? "pending");
            return outcome switch
            {
                null => Result(key, act, "pending", $"{act} transaction {step.TxHash} is sent but not mined yet: call {act} again to check it (the same transaction is resolved, never a second one)", view),
                { Status: WithdrawTxStatus.Mined } when act == "initiate" => Result(key, act, "initiated", $"withdraw initiated by {step.TxHash}; finalize it from {Iso(view.FinalizableAt)} (the server may still claim the vouchers it holds until then)", view),
                { Status: WithdrawTxStatus.Mined } => Result(key, act, "finalized", $"withdraw finalized by {step.TxHash}: {view.ReturnedAtomic} (atomic units) came back to the wallet", view),
                _ => throw new ToolError($"{act} transaction {step.TxHash} {outcome.Status.ToString().ToLowerInvariant()}: {outcome.Note}; call {act} again to sign a new one"),
            };
        }
    }

    /// <summary>Broadcasts the step's transaction (or resolves it when it was recorded earlier) and records its outcome; null while pending.</summary>
    private async Task<WithdrawOutcome?> SendOrResolveAsync(EvmRpc rpc, IChannelWithdrawGrain grain, WithdrawStep step, string payer, CancellationToken cancellationToken)
    {
        var hash = step.TxHash!;
        try
        {
            var receipt = await rpc.GetReceiptAsync(hash, cancellationToken);
            if (receipt is null && step.Resumed && !await rpc.IsKnownAsync(hash, cancellationToken))
            {
                var nonce = BigInteger.Parse(step.Withdraw.Transactions.First(t => t.Hash == hash).Nonce, CultureInfo.InvariantCulture);
                if (await rpc.GetMinedTransactionCountAsync(payer, cancellationToken) > nonce)
                {
                    var dropped = new WithdrawOutcome(hash, WithdrawTxStatus.Dropped, null, null, $"nonce {nonce} was used by another transaction");
                    await grain.RecordWithdrawOutcome(dropped);
                    return dropped;
                }
            }

            if (receipt is null && (!step.Resumed || !await rpc.IsKnownAsync(hash, cancellationToken)))
            {
                await BroadcastAsync(rpc, step.RawTransaction!, payer, cancellationToken);
            }

            for (var waited = TimeSpan.Zero; receipt is null && waited < ReceiptWait; waited += ReceiptPoll)
            {
                receipt = await rpc.GetReceiptAsync(hash, cancellationToken);
                if (receipt is null)
                {
                    await Task.Delay(ReceiptPoll, time, cancellationToken);
                }
            }

            if (receipt is null)
            {
                return null;
            }

            var at = await rpc.GetBlockTimestampAsync(receipt.BlockNumber, cancellationToken);
            var returned = receipt.Logs
                .Where(l => (l["topics"] as JsonArray)?.FirstOrDefault()?.GetValue<string>() is { } topic && string.Equals(topic, WithdrawCalls.FinalizedTopic, StringComparison.OrdinalIgnoreCase))
                .Select(l => AbiWord.ReadUint(l["data"]?.GetValue<string>(), 0)?.ToString(CultureInfo.InvariantCulture))
                .FirstOrDefault();
            var outcome = new WithdrawOutcome(hash, receipt.Succeeded ? WithdrawTxStatus.Mined : WithdrawTxStatus.Reverted, at, returned, receipt.Succeeded ? null : "the transaction reverted");
            await grain.RecordWithdrawOutcome(outcome);
            return outcome;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException or FormatException or EvmRpcException)
        {
            throw new ToolError($"the {rpc.Endpoint.Host} node could not be asked about transaction {hash} ({ex.GetType().Name}); it is recorded: call again to resolve it (never a second one)");
        }
    }

    private static async Task BroadcastAsync(EvmRpc rpc, string raw, string payer, CancellationToken cancellationToken)
    {
        try
        {
            await rpc.SendRawTransactionAsync(raw, cancellationToken);
        }
        catch (EvmRpcException ex) when (ex.Message.Contains("already known", StringComparison.OrdinalIgnoreCase) || ex.Message.Contains("nonce too low", StringComparison.OrdinalIgnoreCase))
        {
            // Already in the pool or mined (or its nonce taken): the receipt and the nonce say which.
        }
        catch (EvmRpcException ex) when (ex.Message.Contains("insufficient funds", StringComparison.OrdinalIgnoreCase))
        {
            throw new ToolError($"the wallet {payer} has too little ETH to pay the gas ({ex.Message}): fund it on this network and call again (the signed transaction is recorded and will be sent as is)");
        }
        catch (EvmRpcException ex)
        {
            throw new ToolError($"the node refused the transaction: {ex.Message}; call again to retry it (the same transaction)");
        }
    }

    /// <summary>The chain's view of the channel and the wallet's next nonce and fees.</summary>
    private static async Task<WithdrawRequest> ReadChainAsync(EvmRpc rpc, string agentId, string channelId, string payer, CancellationToken cancellationToken)
    {
        try
        {
            var channel = WithdrawCalls.ReadChannel(await rpc.CallAsync(BatchSettlementScheme.ContractAddress, WithdrawCalls.ChannelsCall(channelId), cancellationToken));
            var pending = WithdrawCalls.ReadPendingWithdrawal(await rpc.CallAsync(BatchSettlementScheme.ContractAddress, WithdrawCalls.PendingWithdrawalsCall(channelId), cancellationToken));
            if (channel is null || pending is null)
            {
                throw new ToolError($"the node at {rpc.Endpoint.Host} did not answer for the x402BatchSettlement contract at {BatchSettlementScheme.ContractAddress}: is it the right network?");
            }

            var (baseFee, now) = await rpc.GetLatestBlockAsync(cancellationToken);
            var tip = await rpc.GetMaxPriorityFeeAsync(cancellationToken);
            var nonce = await rpc.GetTransactionCountAsync(payer, cancellationToken);
            var fees = new WithdrawFees(Text(nonce), Text(tip), Text((baseFee * 2) + tip), GasLimit.ToString(CultureInfo.InvariantCulture));
            return new WithdrawRequest(agentId, now, Text(channel.Balance), Text(channel.TotalClaimed), Text(pending.Amount), pending.InitiatedAt, fees);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException or FormatException or EvmRpcException)
        {
            throw new ToolError($"the chain could not be read on {rpc.Endpoint.Host} ({ex.GetType().Name}); check the node and call again");
        }
    }

    private EvmRpc Rpc(string network) =>
        options.Value.Payments.Rpc.FirstOrDefault(r => string.Equals(r.Network, network, StringComparison.Ordinal)) is { } rpc && Uri.TryCreate(rpc.Url, UriKind.Absolute, out var url)
            ? new EvmRpc(_http, url)
            : throw new ToolError($"no JSON-RPC node is configured for {network}, and a withdraw is an on-chain transaction: set X402__Payments__Rpc__N__Network={network} and X402__Payments__Rpc__N__Url=<node URL> (N = the next free index) on the gateway and call again; or follow the operator procedure in docs/operations.md with any wallet");

    /// <summary>The channel key from a session (its channel) or a channel argument (network/channel_id, or a bare channel id on a configured network).</summary>
    private async Task<string> ResolveKeyAsync(string agentId, string? sessionId, string? channel)
    {
        if (string.IsNullOrWhiteSpace(sessionId) == string.IsNullOrWhiteSpace(channel))
        {
            throw new ToolError("pass exactly one of session_id (a session that paid through the channel) or channel (network/channel_id as x402_session_status shows it)");
        }

        if (!string.IsNullOrWhiteSpace(sessionId))
        {
            var status = await grains.GetGrain<ISessionGrain>(SessionService.ParseId(sessionId)).GetStatus(agentId);
            return status.Session is { } s
                ? s.Channel?.Key ?? throw new ToolError($"session {sessionId} pays through no batch-settlement channel")
                : throw new ToolError(status.Message);
        }

        var text = channel!.Trim();
        var slash = text.LastIndexOf('/');
        var id = slash < 0 ? text : text[(slash + 1)..];
        if (!BatchSettlementScheme.IsBytes32(id))
        {
            throw new ToolError($"channel must be network/channel_id such as eip155:8453/0x… (got '{RequestArguments.Clip(text)}')");
        }

        if (slash >= 0)
        {
            return ChannelKeys.For(text[..slash], id);
        }

        foreach (var network in options.Value.Payments.Rpc.Select(r => r.Network).Concat(options.Value.Payments.Assets.Select(a => a.Network)).Distinct(StringComparer.Ordinal))
        {
            var key = ChannelKeys.For(network, id);
            if ((await grains.GetGrain<IChannelWithdrawGrain>(key).GetWithdraw(agentId)).Owned)
            {
                return key;
            }
        }

        throw new ToolError($"no channel of yours has id {id} on a configured network: pass it as network/channel_id");
    }

    private static WithdrawResult Result(string key, string action, string outcome, string message, WithdrawView v) => new(
        key, action, outcome, message, v.Phase.ToString().ToLowerInvariant(), v.AmountAtomic, v.AtLeastAtomic, v.ReturnedAtomic,
        v.RequestedAt?.UtcDateTime.ToString("O", CultureInfo.InvariantCulture), Iso(v.InitiatedAt), Iso(v.FinalizableAt),
        [.. v.Transactions.Select(t => new WithdrawTxInfo(t.Step, t.Hash, t.Nonce, t.Status.ToString().ToLowerInvariant(), t.Note))],
        string.IsNullOrEmpty(v.ConfigJson) ? null : JsonNode.Parse(v.ConfigJson) as JsonObject);

    private static string? Iso(long? unixSeconds) => unixSeconds is { } s ? DateTimeOffset.FromUnixTimeSeconds(s).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture) : null;

    private static string Text(BigInteger value) => value.ToString(CultureInfo.InvariantCulture);

    [LoggerMessage(310, LogLevel.Information, "Channel withdraw {Action} on {Channel}: transaction {TxHash} {Status}")]
    private static partial void LogStep(ILogger logger, string action, string channel, string txHash, string status);
}
