using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Runtime;
using Orleans.Timers;

namespace X402Orleans.Grains;

/// <summary>
/// Durable expiry and purge. A grain timer dies with its silo, so each session also holds one reminder (stored with the
/// cluster): due at <see cref="SessionState.ExpiresAt"/> while live, so the session expires on time even when the silo that
/// held it was killed; once closed, due at <c>EndedAt + Retention</c>, when its state is deleted. Each tick does one bounded
/// step and moves the reminder to the next event (or removes it), so a session past expiry is activated once to expire and
/// once to be purged, never in a loop. Also here: the memory of recent call ids that makes recording a call idempotent
/// across a failover.
/// </summary>
public sealed partial class SessionGrain : IRemindable
{
    /// <summary>The name of the session's lifecycle reminder.</summary>
    public const string LifecycleReminderName = "x402-lifecycle";

    private SessionLifecycleOptions Lifecycle => ServiceProvider.GetService<IOptions<SessionLifecycleOptions>>()?.Value ?? new SessionLifecycleOptions();

    private bool HasReminders => ServiceProvider.GetService<IReminderRegistry>() is not null;

    /// <inheritdoc />
    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName != LifecycleReminderName)
        {
            return;
        }

        if (!state.RecordExists)
        {
            // Purged already (or never written): nothing left to do.
            await DropLifecycleReminderAsync();
            DeactivateOnIdle();
            return;
        }

        if (IsLive)
        {
            // Expiring closes the session, which moves the reminder to the purge time. A tick slightly ahead of this silo's
            // clock leaves the session live: the timer is re-armed for the remaining moment and the reminder stays as it is.
            await ExpireIfDueAsync();
            if (IsLive)
            {
                ArmExpiryTimer();
            }

            return;
        }

        var purgeAt = (S.EndedAt ?? S.ExpiresAt) + Lifecycle.Retention;
        if (clock.GetUtcNow() >= purgeAt)
        {
            await PurgeAsync();
        }
        else
        {
            await ScheduleLifecycleReminderAsync();
            DeactivateOnIdle();
        }
    }

    /// <summary>Points the lifecycle reminder at the session's next event: its expiry while live, its purge once closed.</summary>
    private async Task ScheduleLifecycleReminderAsync()
    {
        if (!HasReminders || !state.RecordExists)
        {
            return;
        }

        var options = Lifecycle;
        var at = IsLive ? S.ExpiresAt : (S.EndedAt ?? S.ExpiresAt) + options.Retention;
        var due = at - clock.GetUtcNow();
        await this.RegisterOrUpdateReminder(LifecycleReminderName, due > TimeSpan.Zero ? due : TimeSpan.Zero, options.ReminderPeriod);
    }

    private async Task PurgeAsync()
    {
        var callCount = S.CallCount;
        await ReleaseIdempotencyKeyAsync();
        await state.ClearStateAsync();
        await DropLifecycleReminderAsync();
        LifecycleLog.Purged(logger, Id, callCount);
        DeactivateOnIdle();
    }

    /// <summary>
    /// Deletes the session's idempotency key record (the key lives exactly as long as its session). Only sessions opened through
    /// a key claim have one: a start through <see cref="BeginStart"/> carries its arguments' fingerprint and its id is derived
    /// from the key, so no record was written for it and there is nothing to release (no call to a key grain on its close).
    /// </summary>
    private Task ReleaseIdempotencyKeyAsync() =>
        S.IdempotencyKey is { } key && S.Fingerprint is null
            ? GrainFactory.GetGrain<IIdempotencyGrain>(IdempotencyGrain.KeyFor(S.AgentId, key)).Release(Id)
            : Task.CompletedTask;

    private async Task DropLifecycleReminderAsync()
    {
        if (!HasReminders)
        {
            return;
        }

        var reminder = await this.GetReminder(LifecycleReminderName);
        if (reminder is not null)
        {
            await this.UnregisterReminder(reminder);
        }
    }

    /// <summary>
    /// How many recent call ids a session remembers: enough for a resend within the gateway's retry budget and for the
    /// uncounting of a call that got no answer while this many later calls on the same session began. Bounded, so a
    /// session's state write does not grow with its history.
    /// </summary>
    internal const int RememberedCalls = 32;

    private bool IsRecordedCall(Guid callId) => callId != Guid.Empty && S.RecentCallIds.Contains(callId);

    private void RememberCall(Guid callId)
    {
        if (callId == Guid.Empty)
        {
            return;
        }

        S.RecentCallIds.Add(callId);
        if (S.RecentCallIds.Count > RememberedCalls)
        {
            S.RecentCallIds.RemoveRange(0, S.RecentCallIds.Count - RememberedCalls);
        }
    }

    private void ForgetCall(Guid callId) => S.RecentCallIds.Remove(callId);

    private static partial class LifecycleLog
    {
        [LoggerMessage(20, LogLevel.Information, "Session {SessionId} purged after its retention ({CallCount} calls)")]
        public static partial void Purged(ILogger logger, Guid sessionId, long callCount);
    }
}
