using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using X402Orleans.Abstractions;

namespace X402Orleans.Grains;

/// <summary>
/// The sessions whose channel refunds are due without an agent asking (see <see cref="IChannelRefundQueueGrain"/>). Persisted, so a
/// due refund survives any restart; each entry leaves once an attempt finds nothing due any more, or after
/// <see cref="MaxAttempts"/> attempts (the session's channel note keeps the last reason).
/// </summary>
public sealed partial class ChannelRefundQueueGrain(
    [PersistentState("channel-refunds", StorageNames.Sessions)] IPersistentState<ChannelRefundQueueState> state,
    [FromKeyedServices(TimeProviderNames.Grains)] TimeProvider clock,
    ILogger<ChannelRefundQueueGrain> logger) : Grain, IChannelRefundQueueGrain
{
    /// <summary>How long a taken entry is held before it may be taken again (its taker crashed or hangs).</summary>
    public static readonly TimeSpan TakeLease = TimeSpan.FromMinutes(2);

    /// <summary>The delay after the first failed attempt; it doubles with each further one, up to <see cref="MaxBackoff"/>.</summary>
    public static readonly TimeSpan FirstBackoff = TimeSpan.FromSeconds(15);

    /// <summary>The longest delay between attempts.</summary>
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromHours(1);

    /// <summary>Attempts after which an entry is dropped (logged).</summary>
    public const int MaxAttempts = 12;

    private List<DueRefundRecord> Due => state.State.Due;

    /// <inheritdoc />
    public async Task Add(Guid sessionId, string agentId)
    {
        if (!Due.Any(d => d.SessionId == sessionId))
        {
            Due.Add(new DueRefundRecord { SessionId = sessionId, AgentId = agentId, NextAttemptAt = clock.GetUtcNow() });
            await state.WriteStateAsync();
        }

        ServiceProvider.GetService<ChannelRefundSignal>()?.Wake();
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<DueChannelRefund>> TakeDue(int max)
    {
        var now = clock.GetUtcNow();
        var taken = Due.Where(d => d.NextAttemptAt <= now).Take(Math.Max(0, max)).ToList();
        if (taken.Count == 0)
        {
            return [];
        }

        foreach (var entry in taken)
        {
            entry.NextAttemptAt = now + TakeLease;
        }

        await state.WriteStateAsync();
        return [.. taken.Select(View)];
    }

    /// <inheritdoc />
    public async Task Resolve(Guid sessionId, bool done, string outcome)
    {
        if (Due.FirstOrDefault(d => d.SessionId == sessionId) is not { } entry)
        {
            return;
        }

        if (done)
        {
            Due.Remove(entry);
        }
        else if (++entry.Attempts >= MaxAttempts)
        {
            Due.Remove(entry);
            Log.GivenUp(logger, sessionId, entry.Attempts, outcome);
        }
        else
        {
            var delay = TimeSpan.FromTicks(Math.Min(MaxBackoff.Ticks, FirstBackoff.Ticks << Math.Min(entry.Attempts - 1, 20)));
            entry.NextAttemptAt = clock.GetUtcNow() + delay;
            entry.LastOutcome = outcome;
        }

        await state.WriteStateAsync();
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<DueChannelRefund>> List() => Task.FromResult<IReadOnlyList<DueChannelRefund>>([.. Due.Select(View)]);

    private static DueChannelRefund View(DueRefundRecord d) => new(d.SessionId, d.AgentId, d.Attempts, d.NextAttemptAt, d.LastOutcome);

    private static partial class Log
    {
        [LoggerMessage(60, LogLevel.Warning, "Session {SessionId}: its channel refund was given up after {Attempts} attempts: {Outcome}")]
        public static partial void GivenUp(ILogger logger, Guid sessionId, int attempts, string outcome);
    }
}

/// <summary>The persisted state of <see cref="ChannelRefundQueueGrain"/>.</summary>
[GenerateSerializer]
[Alias("X402Orleans.Grains.ChannelRefundQueueState")]
public sealed class ChannelRefundQueueState
{
    /// <summary>Sessions with refunds due, oldest first.</summary>
    [Id(0)] public List<DueRefundRecord> Due { get; set; } = [];
}

/// <summary>One session with refunds due.</summary>
[GenerateSerializer]
[Alias("X402Orleans.Grains.DueRefundRecord")]
public sealed class DueRefundRecord
{
    /// <summary>The session.</summary>
    [Id(0)] public Guid SessionId { get; set; }

    /// <summary>Its agent.</summary>
    [Id(1)] public string AgentId { get; set; } = string.Empty;

    /// <summary>Attempts that left a refund due.</summary>
    [Id(2)] public int Attempts { get; set; }

    /// <summary>When it may next be taken.</summary>
    [Id(3)] public DateTimeOffset NextAttemptAt { get; set; }

    /// <summary>Why the last attempt did not finish.</summary>
    [Id(4)] public string? LastOutcome { get; set; }
}
