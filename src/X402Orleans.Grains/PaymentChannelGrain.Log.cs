using System.Numerics;
using System.Text.Json.Nodes;
using X402Orleans.Abstractions;
using X402Orleans.Payments.Evm.BatchSettlement;
using X402Orleans.Payments;

namespace X402Orleans.Grains;

/// <summary>
/// What the channel itself writes to its owner's payment log (<c>x402_payment_log</c>): the unilateral withdraw's
/// <c>withdraw_initiated</c> and <c>withdrawn</c>, and <c>claimed</c> when a chain read shows the server claimed more. (Deposits,
/// charges and refunds are written by the paying session.) Entries go through <see cref="IAgentGrain.RecordAttempt"/>, the sessions'
/// path, which calls no channel, so no call chain comes back here. Each entry is stored in <see cref="PaymentChannelState.LogOutbox"/>
/// with the change it reports, then appended and cleared; an append that failed is retried by the next turn that logs.
/// </summary>
public sealed partial class PaymentChannelGrain
{
    /// <summary>Adds an entry to the outbox (stored by the caller's next write); nothing when the owner is not known.</summary>
    private void Log(string outcome, BigInteger amount, string? transaction, string reason)
    {
        if (string.IsNullOrEmpty(S.AgentId))
        {
            return;
        }

        var config = ChannelConfig.TryRead(JsonNode.Parse(S.ConfigJson) as JsonObject, out var c, out _) ? c : null;
        S.LogOutbox.Add(new PaymentAttempt(
            clock.GetUtcNow(), Guid.Empty, string.Empty, S.Network, config?.Token ?? string.Empty, S.Symbol, S.Decimals, AtomicAmount.ToText(amount), config?.Receiver ?? string.Empty,
            outcome, transaction, reason));
    }

    /// <summary>Appends the stored outbox to the owner's log, oldest first, and stores it emptied.</summary>
    private async Task FlushLogAsync()
    {
        if (S.LogOutbox.Count == 0)
        {
            return;
        }

        var agent = GrainFactory.GetGrain<IAgentGrain>(S.AgentId);
        while (S.LogOutbox.Count > 0)
        {
            await agent.RecordAttempt(S.LogOutbox[0]);
            S.LogOutbox.RemoveAt(0);
        }

        await state.WriteStateAsync();
    }

    /// <summary>
    /// A chain read of the channel's totalClaimed (monotonic on chain): the increase since the last one seen is logged as
    /// <c>claimed</c> (nothing when unchanged). Stored by the caller's next write.
    /// </summary>
    private void NoteClaimed(BigInteger totalClaimed)
    {
        var seen = AtomicAmount.Parse(S.ClaimSeenAtomic);
        S.ClaimSeenAt = clock.GetUtcNow();
        if (totalClaimed <= seen)
        {
            return;
        }

        S.ClaimSeenAtomic = AtomicAmount.ToText(totalClaimed);
        Log("claimed", totalClaimed - seen, null, $"the server claimed {totalClaimed - seen} from batch-settlement channel {S.ChannelId} on chain (its totalClaimed is now {totalClaimed})");
    }
}
