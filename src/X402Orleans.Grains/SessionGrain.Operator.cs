using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using X402Orleans.Abstractions;

namespace X402Orleans.Grains;

/// <summary>The refusals agents see when an operator control applies.</summary>
public static class OperatorRefusals
{
    /// <summary>The kill switch is on.</summary>
    public const string PaymentsPaused = "payments are paused by the operator";

    /// <summary>Every call is stopped.</summary>
    public const string CallsStopped = "calls are stopped by the operator";

    /// <summary>The agent is suspended.</summary>
    public static string AgentSuspended(string agentId) => $"agent '{agentId}' is suspended by the operator";
}

/// <summary>
/// Operator controls enforced in the session (suspended agent, paused payments, stopped calls: read from this silo's
/// <see cref="FleetControlsCache"/>, checked before anything is reserved, signed or sent) and the operator's view and end of a
/// session (<see cref="ISessionOperatorGrain"/>), with the last calls this activation saw.
/// </summary>
public sealed partial class SessionGrain : ISessionOperatorGrain
{
    /// <summary>How many recent calls an activation remembers for the operator (memory only).</summary>
    internal const int RecentCallsKept = 10;

    private Queue<RecentCall>? _recentCalls;

    // Set while an operator's end runs: no agent's gateway asks for the channels' refunds, so the silo's refund service does.
    private bool _endingByOperator;

    private async ValueTask<FleetControls> ControlsAsync() =>
        ServiceProvider.GetService<FleetControlsCache>() is { } cache
            ? await cache.GetAsync()
            : await GrainFactory.GetGrain<IOperatorControlGrain>(0).GetControls();

    /// <summary>Why a session may not be begun or opened now (suspended agent, stopped calls), or null.</summary>
    private async ValueTask<(SessionErrorCode Error, string Message)?> StartRefusalAsync(string agentId)
    {
        var controls = await ControlsAsync();
        if (controls.IsSuspended(agentId))
        {
            return (SessionErrorCode.AgentSuspended, OperatorRefusals.AgentSuspended(agentId));
        }

        return controls.CallsStopped ? (SessionErrorCode.CallsStopped, OperatorRefusals.CallsStopped) : null;
    }

    /// <summary>Why nothing may be reserved or signed now (suspended agent, paused payments), or null.</summary>
    private async ValueTask<(SessionErrorCode Error, string Message)?> PaymentRefusalAsync(string agentId)
    {
        var controls = await ControlsAsync();
        if (controls.IsSuspended(agentId))
        {
            return (SessionErrorCode.AgentSuspended, OperatorRefusals.AgentSuspended(agentId));
        }

        return controls.PaymentsPaused ? (SessionErrorCode.PaymentsPaused, OperatorRefusals.PaymentsPaused) : null;
    }

    /// <summary>Why no call may go out now (stopped calls), or null.</summary>
    private async ValueTask<(SessionErrorCode Error, string Message)?> CallRefusalAsync() =>
        (await ControlsAsync()).CallsStopped ? (SessionErrorCode.CallsStopped, OperatorRefusals.CallsStopped) : null;

    private async ValueTask<SessionResult?> CallRefusalResultAsync() =>
        await CallRefusalAsync() is { } refusal ? SessionResult.Fail(refusal.Error, refusal.Message, Snapshot()) : null;

    private void NoteCall(string agentId, string? url, CallTicket ticket)
    {
        if (!state.RecordExists || S.AgentId != agentId)
        {
            return;
        }

        _recentCalls ??= new Queue<RecentCall>(RecentCallsKept + 1);
        _recentCalls.Enqueue(new RecentCall(clock.GetUtcNow(), ticket.Allowed ? ticket.Url : url ?? S.Endpoint, ticket.Allowed, ticket.Allowed ? null : ticket.Message));
        while (_recentCalls.Count > RecentCallsKept)
        {
            _recentCalls.Dequeue();
        }
    }

    /// <inheritdoc />
    public async Task<SessionDetail?> Inspect()
    {
        if (!state.RecordExists)
        {
            DeactivateOnIdle();
            return null;
        }

        await ExpireIfDueAsync();
        return Detail();
    }

    /// <inheritdoc />
    public async Task<SessionDetail?> EndByOperator(string operatorName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(operatorName);
        if (!state.RecordExists)
        {
            DeactivateOnIdle();
            return null;
        }

        await ExpireIfDueAsync();
        string outcome;
        _endingByOperator = true;
        try
        {
            outcome = IsLive ? await EndNowAsync() : $"already {S.Status.ToString().ToLowerInvariant()}";
        }
        finally
        {
            _endingByOperator = false;
        }

        await GrainFactory.GetGrain<IOperatorControlGrain>(0).RecordAction(
            new OperatorAction(clock.GetUtcNow(), operatorName, "end-session", Id.ToString(), outcome));
        OperatorLog.EndedByOperator(logger, Id, operatorName);
        return Detail();
    }

    /// <summary>Ends a live session (the owner's or an operator's request): stored as ended, unlisted, deactivated.</summary>
    private async Task<string> EndNowAsync()
    {
        S.Status = SessionStatus.Ended;
        await CloseAsync();
        Log.Ended(logger, Id, S.CallCount);
        return "ended";
    }

    private SessionDetail Detail() => new(Snapshot(), S.FailureReason, S.Pending.Count, _recentCalls is null ? [] : [.. _recentCalls.Reverse()]);

    private static partial class OperatorLog
    {
        [LoggerMessage(50, LogLevel.Warning, "Session {SessionId} ended by operator {Operator}")]
        public static partial void EndedByOperator(ILogger logger, Guid sessionId, string @operator);
    }
}
