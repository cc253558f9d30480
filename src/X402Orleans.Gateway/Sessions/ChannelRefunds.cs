using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using X402Orleans.Abstractions;
using X402Orleans.Gateway.Configuration;
using X402Orleans.Payments;

namespace X402Orleans.Gateway.Sessions;

/// <summary>
/// The cooperative refunds due on a closed session's channels (the session was the channel's last live one), asked for outside any
/// grain turn: per due channel, a fresh 402 from the session's resource (or endpoint) and a refund voucher the session grain signs
/// from it, sent and recorded (<see cref="PaymentExchange.RefundAsync"/>). One piece of code for both callers: x402_session_end
/// (at once) and the silo's <see cref="ChannelRefundService"/> (sessions that expired or that an operator ended).
/// </summary>
internal sealed partial class ChannelRefunds(PaymentExchange exchange, IOptions<X402Options> options, ILogger<ChannelRefunds> logger)
{
    private readonly SessionRoutes _routes = new();

    /// <summary>Runs the refunds due on <paramref name="session"/>; returns the session after them and what came back in all (or null).</summary>
    public async Task<(SessionSnapshot Session, PaymentReceipt? Refunded)> RunAsync(string agentId, ISessionGrain grain, SessionSnapshot session, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(grain);
        ArgumentNullException.ThrowIfNull(session);
        var due = session.AllChannels.Count(c => c.RefundDue);
        if (due == 0)
        {
            return (session, null);
        }

        var s = session;
        var scope = _routes.For(new CallTicket(true, SessionErrorCode.None, string.Empty, s.Endpoint, s.Reuse, s.ResourceUrl, s.MaxPayment, true, s.Endpoint, s.Scope));
        var target = s.ResourceUrl is { } resource && Uri.TryCreate(resource, UriKind.Absolute, out var r) && scope.Covers(r) ? r : new Uri(s.Endpoint);
        var request = RequestArguments.Build(target, null, null, null, null, options.Value.Http);
        PaymentReceipt? total = null;
        for (var i = 0; i < due; i++)
        {
            try
            {
                // Each refund takes the session's next due channel; a refused one is no longer due (its note says why).
                var receipt = await exchange.RefundAsync(new ExchangeContext(agentId, s.SessionId, grain, scope, true, string.Empty), request, cancellationToken);
                total = receipt is null || total is null ? receipt ?? total : total with { AmountAtomic = AtomicAmount.Sum(total.AmountAtomic, receipt.AmountAtomic) };
            }
            catch (ToolError ex)
            {
                LogRefundFailed(logger, s.SessionId, ex.Message);
            }
        }

        return ((await grain.GetStatus(agentId, cancellationToken)).Session ?? s, total);
    }

    [LoggerMessage(702, LogLevel.Warning, "Session {SessionId}: the channel's cooperative refund was not made: {Reason}")]
    private static partial void LogRefundFailed(ILogger logger, Guid sessionId, string reason);
}
