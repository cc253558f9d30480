using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Hosting;
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
            // The reminder that just ticked runs in this silo's reminder service: move it through the service.
            await ScheduleLifecycleReminderAsync(replacing: clock.GetUtcNow());
            DeactivateOnIdle();
        }
    }

    /// <summary>When the lifecycle reminder is due for the state as it is: at expiry while live, at the purge once closed.</summary>
    private DateTimeOffset LifecycleDue() => IsLive ? S.ExpiresAt : (S.EndedAt ?? S.ExpiresAt) + Lifecycle.Retention;

    /// <summary>
    /// Points the lifecycle reminder at the session's next event: its expiry while live, its purge once closed.
    /// <paramref name="replacing"/> is when the reminder it moves was due (null: the session had none).
    /// </summary>
    /// <remarks>
    /// Orleans' reminder service keeps an in-memory entry for every reminder registered through it, also one due long after its
    /// loading window (a stopped placeholder, ~480 B with the row it holds), until its next list refresh (every 5 minutes)
    /// drops those not due within the window (10 minutes); the refresh reads the table and loads each row as it comes within
    /// the window. A session's reminder is usually due an hour (expiry) or days (purge) away, so at thousands of sessions per
    /// second those placeholders were a few hundred MB. Such a reminder is written straight to the reminder table instead (the
    /// same row: grain, name, start, period), where the refresh finds it in time, and <c>GetReminder</c>/<c>UnregisterReminder</c>
    /// read the table anyway. Only when the reminder it replaces was far off too: one the service may already run (due within
    /// its window, or the one ticking now) is moved through the service, which stops its local copy. "Far off" is beyond twice
    /// the loading window, which leaves a window's worth of margin for clocks that differ between silos.
    /// </remarks>
    private async Task ScheduleLifecycleReminderAsync(DateTimeOffset? replacing)
    {
        if (!HasReminders || !state.RecordExists)
        {
            return;
        }

        var period = Lifecycle.ReminderPeriod;
        var at = LifecycleDue();
        var now = clock.GetUtcNow();
        var farOff = now + 2 * (ServiceProvider.GetService<IOptions<ReminderOptions>>()?.Value ?? new ReminderOptions()).ReminderLoadingWindow;
        if (at > farOff && (replacing is null || replacing.Value > farOff)
            && ServiceProvider.GetService<IReminderTable>() is { } table
            && await table.UpsertRow(new ReminderEntry { GrainId = this.GetGrainId(), ReminderName = LifecycleReminderName, StartAt = at.UtcDateTime, Period = period }) is not null)
        {
            return;
        }

        var due = at - now;
        await this.RegisterOrUpdateReminder(LifecycleReminderName, due > TimeSpan.Zero ? due : TimeSpan.Zero, period);
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
