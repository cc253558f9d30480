using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;
using X402Orleans.Abstractions;

namespace X402Orleans.Grains;

/// <summary>Persisted fleet controls, audit trail and subscribed silo caches.</summary>
[GenerateSerializer]
[Alias("X402Orleans.Grains.OperatorControlState")]
public sealed class OperatorControlState
{
    /// <summary>Contract version.</summary>
    [Id(0)] public int SchemaVersion { get; set; } = 1;

    /// <summary>Incremented on every real change.</summary>
    [Id(1)] public long Version { get; set; }

    /// <summary>The kill switch: every payment paused.</summary>
    [Id(2)] public bool PaymentsPaused { get; set; }

    /// <summary>Every call stopped.</summary>
    [Id(3)] public bool CallsStopped { get; set; }

    /// <summary>Suspended agent ids (ordinal, sorted).</summary>
    [Id(4)] public List<string> SuspendedAgents { get; set; } = [];

    /// <summary>When the controls last changed.</summary>
    [Id(5)] public DateTimeOffset? ChangedAt { get; set; }

    /// <summary>Who last changed the controls.</summary>
    [Id(6)] public string? ChangedBy { get; set; }

    /// <summary>The audit trail, oldest first, at most <see cref="OperatorControlGrain.MaxActions"/>.</summary>
    [Id(7)] public List<OperatorAction> Actions { get; set; } = [];

    /// <summary>Grain ids of the subscribed silo caches, so a re-activation tells them of changes before they re-subscribe.</summary>
    [Id(8)] public List<string> Subscribers { get; set; } = [];
}

/// <summary>
/// The fleet controls (key 0). Non-reentrant: each change is checked, stored, pushed to every subscribed silo cache (each
/// awaited with <see cref="NotifyTimeout"/>) and only then answered, so a confirmed change is in force cluster-wide. A silo whose
/// cache missed a push (timeout, restart) catches up by its periodic refresh (the newest version wins).
/// </summary>
public sealed partial class OperatorControlGrain(
    [PersistentState("operator-controls", StorageNames.Sessions)] IPersistentState<OperatorControlState> state,
    [FromKeyedServices(TimeProviderNames.Grains)] TimeProvider clock,
    ILogger<OperatorControlGrain> logger) : Grain, IOperatorControlGrain
{
    /// <summary>How many audit entries are kept (the newest).</summary>
    public const int MaxActions = 500;

    /// <summary>How long a change waits for one silo cache to take it.</summary>
    public static readonly TimeSpan NotifyTimeout = TimeSpan.FromSeconds(2);

    /// <summary>A subscription not renewed for this long is dropped (caches renew every <see cref="FleetControlsCache.RefreshPeriod"/>).</summary>
    public static readonly TimeSpan SubscriptionLifetime = TimeSpan.FromMinutes(5);

    // Subscribers and when they last (re-)subscribed; restored ones count as renewed at activation.
    private readonly Dictionary<GrainId, (IFleetControlsObserver Observer, DateTimeOffset Seen)> _observers = [];

    private OperatorControlState S => state.State;

    /// <inheritdoc />
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        foreach (var text in S.Subscribers)
        {
            if (GrainId.TryParse(text, out var id))
            {
                _observers[id] = (GrainFactory.GetGrain<IFleetControlsObserver>(id), now);
            }
        }

        return base.OnActivateAsync(cancellationToken);
    }

    /// <inheritdoc />
    public Task<FleetControls> GetControls() => Task.FromResult(Current());

    /// <inheritdoc />
    public Task<FleetControls> SetPaymentsPaused(string operatorName, bool paused) =>
        ChangeAsync(operatorName, paused ? "pause-payments" : "resume-payments", "payments", () =>
        {
            var changed = S.PaymentsPaused != paused;
            S.PaymentsPaused = paused;
            return changed;
        });

    /// <inheritdoc />
    public Task<FleetControls> SetCallsStopped(string operatorName, bool stopped) =>
        ChangeAsync(operatorName, stopped ? "stop-calls" : "resume-calls", "calls", () =>
        {
            var changed = S.CallsStopped != stopped;
            S.CallsStopped = stopped;
            return changed;
        });

    /// <inheritdoc />
    public Task<FleetControls> SetAgentSuspended(string operatorName, string agentId, bool suspended)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(agentId);
        return ChangeAsync(operatorName, suspended ? "suspend-agent" : "resume-agent", agentId, () =>
        {
            var index = S.SuspendedAgents.BinarySearch(agentId, StringComparer.Ordinal);
            if (suspended == index >= 0)
            {
                return false;
            }

            if (suspended)
            {
                S.SuspendedAgents.Insert(~index, agentId);
            }
            else
            {
                S.SuspendedAgents.RemoveAt(index);
            }

            return true;
        });
    }

    /// <inheritdoc />
    public async Task RecordAction(OperatorAction action)
    {
        ArgumentNullException.ThrowIfNull(action);
        ArgumentException.ThrowIfNullOrWhiteSpace(action.Operator);
        ArgumentException.ThrowIfNullOrWhiteSpace(action.Action);
        Append(action);
        await state.WriteStateAsync();
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<OperatorAction>> ListActions(int limit)
    {
        var take = Math.Clamp(limit, 0, MaxActions);
        IReadOnlyList<OperatorAction> newest = [.. Enumerable.Reverse(S.Actions).Take(take)];
        return Task.FromResult(newest);
    }

    /// <inheritdoc />
    public async Task Subscribe(IFleetControlsObserver observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        var id = observer.GetGrainId();
        var known = _observers.ContainsKey(id);
        _observers[id] = (observer, clock.GetUtcNow());
        if (DropExpired() || !known)
        {
            await SaveSubscribersAsync();
        }
    }

    /// <inheritdoc />
    public async Task Unsubscribe(IFleetControlsObserver observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        if (_observers.Remove(observer.GetGrainId()))
        {
            await SaveSubscribersAsync();
        }
    }

    private async Task<FleetControls> ChangeAsync(string operatorName, string action, string target, Func<bool> change)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(operatorName);
        var now = clock.GetUtcNow();
        if (!change())
        {
            Append(new OperatorAction(now, operatorName, action, target, "no change"));
            await state.WriteStateAsync();
            return Current();
        }

        S.Version++;
        S.ChangedAt = now;
        S.ChangedBy = operatorName;
        Append(new OperatorAction(now, operatorName, action, target, "version " + S.Version.ToString(CultureInfo.InvariantCulture)));
        DropExpired();
        S.Subscribers = [.. _observers.Keys.Select(k => k.ToString())];
        await state.WriteStateAsync();
        var controls = Current();
        Log.Changed(logger, operatorName, action, target, controls.Version);
        await NotifyAsync(controls);
        return controls;
    }

    // Every cache is told before the change is answered; one that does not answer in time catches up by its own refresh, and
    // one that is gone (its silo died) is dropped.
    private async Task NotifyAsync(FleetControls controls)
    {
        var pushes = _observers.Select(async o =>
        {
            try
            {
                await o.Value.Observer.ControlsChanged(controls).WaitAsync(NotifyTimeout);
                return (o.Key, Gone: false);
            }
            catch (TimeoutException)
            {
                Log.NotifyTimedOut(logger, o.Key.ToString(), controls.Version);
                return (o.Key, Gone: false);
            }
            catch (Exception ex) when (ex is OrleansException or InvalidOperationException)
            {
                Log.NotifyFailed(logger, ex, o.Key.ToString(), controls.Version);
                return (o.Key, Gone: true);
            }
        }).ToList();
        var results = await Task.WhenAll(pushes);
        var gone = results.Where(r => r.Gone).Select(r => r.Key).ToList();
        if (gone.Count > 0)
        {
            gone.ForEach(id => _observers.Remove(id));
            await SaveSubscribersAsync();
        }
    }

    private bool DropExpired()
    {
        var cutoff = clock.GetUtcNow() - SubscriptionLifetime;
        var expired = _observers.Where(o => o.Value.Seen < cutoff).Select(o => o.Key).ToList();
        expired.ForEach(id => _observers.Remove(id));
        return expired.Count > 0;
    }

    private Task SaveSubscribersAsync()
    {
        S.Subscribers = [.. _observers.Keys.Select(k => k.ToString())];
        return state.WriteStateAsync();
    }

    private void Append(OperatorAction action)
    {
        S.Actions.Add(action);
        if (S.Actions.Count > MaxActions)
        {
            S.Actions.RemoveRange(0, S.Actions.Count - MaxActions);
        }
    }

    private FleetControls Current() =>
        new(S.Version, S.PaymentsPaused, S.CallsStopped, [.. S.SuspendedAgents], S.ChangedAt, S.ChangedBy);

    private static partial class Log
    {
        [LoggerMessage(40, LogLevel.Warning, "Operator {Operator}: {Action} {Target} (fleet controls version {Version})")]
        public static partial void Changed(ILogger logger, string @operator, string action, string target, long version);

        [LoggerMessage(41, LogLevel.Warning, "Fleet controls version {Version}: the silo cache {Observer} did not answer in time; it catches up by its refresh")]
        public static partial void NotifyTimedOut(ILogger logger, string observer, long version);

        [LoggerMessage(42, LogLevel.Warning, "Fleet controls version {Version}: the silo cache {Observer} is gone; dropped")]
        public static partial void NotifyFailed(ILogger logger, Exception exception, string observer, long version);
    }
}
