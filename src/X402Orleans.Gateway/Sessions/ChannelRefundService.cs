using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using X402Orleans.Abstractions;

namespace X402Orleans.Gateway.Sessions;

/// <summary>
/// The silo's background service for channel refunds nobody's <c>x402_session_end</c> asks for: it takes the due entries of the
/// <see cref="IChannelRefundQueueGrain"/> (sessions that expired or that an operator ended as their channel's last live session, and
/// ends whose own refund got no answer), runs the same refund steps as x402_session_end (<see cref="ChannelRefunds"/>) with this
/// process's outbound HTTP, and resolves each entry: done once nothing is due on the session any more, else retried with backoff.
/// Woken at once when a refund becomes due on this silo, else every <see cref="PollInterval"/>. Idempotent: the session grain
/// keeps a refund whose answer a crash lost due until that voucher's lease ends (the server may have made it); then the channel
/// resolves it from the chain when it can, or signs it again — the same voucher byte for byte (same ceiling, deterministic signature).
/// </summary>
internal sealed partial class ChannelRefundService(
    IGrainFactory grains, ChannelRefunds refunds, ChannelRefundSignal signal, IHostApplicationLifetime lifetime, ILogger<ChannelRefundService> logger) : BackgroundService
{
    /// <summary>How often the queue is looked at without a wake.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(30);

    private const int PerRound = 16;

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Grain calls wait for the silo (and the gateway's routes) to be up.
        var started = new TaskCompletionSource();
        using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
        using (stoppingToken.Register(() => started.TrySetCanceled(stoppingToken)))
        {
            await started.Task;
        }

        var queue = grains.GetGrain<IChannelRefundQueueGrain>(0);
        while (!stoppingToken.IsCancellationRequested)
        {
            var full = false;
            try
            {
                var due = await queue.TakeDue(PerRound);
                foreach (var entry in due)
                {
                    await RefundAsync(queue, entry, stoppingToken);
                }

                full = due.Count == PerRound;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Log.RoundFailed(logger, ex);
            }

            if (!full)
            {
                await signal.WaitAsync(PollInterval, stoppingToken);
            }
        }
    }

    private async Task RefundAsync(IChannelRefundQueueGrain queue, DueChannelRefund entry, CancellationToken cancellationToken)
    {
        string outcome;
        bool done;
        try
        {
            var grain = grains.GetGrain<ISessionGrain>(entry.SessionId);
            if ((await grain.GetStatus(entry.AgentId, cancellationToken)).Session is not { } session)
            {
                (done, outcome) = (true, "the session is gone");
            }
            else
            {
                var (after, _) = await refunds.RunAsync(entry.AgentId, grain, session, cancellationToken);
                var left = after.AllChannels.Where(c => c.RefundDue).ToList();
                done = left.Count == 0;
                outcome = done
                    ? string.Join("; ", after.AllChannels.Select(c => c.Note).Where(n => n is not null))
                    : $"{left.Count} refund(s) still due: {string.Join("; ", left.Select(c => c.Note))}";
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            (done, outcome) = (false, ex.Message);
        }

        Log.Attempted(logger, entry.SessionId, done, outcome);
        await queue.Resolve(entry.SessionId, done, outcome);
        signal.OnAttempted(new ChannelRefundAttempt(entry.SessionId, done, outcome));
    }

    private static partial class Log
    {
        [LoggerMessage(710, LogLevel.Information, "Session {SessionId}: channel refund attempt (done: {Done}): {Outcome}")]
        public static partial void Attempted(ILogger logger, Guid sessionId, bool done, string outcome);

        [LoggerMessage(711, LogLevel.Warning, "Channel refunds: a round failed; retried at the next one")]
        public static partial void RoundFailed(ILogger logger, Exception exception);
    }
}
