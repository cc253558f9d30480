using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;
using X402Orleans.Abstractions;

namespace X402Orleans.Grains;

/// <summary>
/// This silo's copy of the fleet controls, read by every session grain turn that could pay or call. Loaded when the silo
/// becomes active, subscribed to <see cref="IOperatorControlGrain"/> (which pushes each change before answering it), and
/// refreshed every <see cref="RefreshPeriod"/> (re-subscribing and re-reading, in case a push was missed); the newest version
/// wins. Until it has loaded once, a read asks the control grain itself, so a silo never enforces controls it has not seen.
/// </summary>
public sealed partial class FleetControlsCache(
    IGrainFactory grains,
    [FromKeyedServices(TimeProviderNames.Grains)] TimeProvider clock,
    ILogger<FleetControlsCache> logger) : IFleetControlsObserver, ILifecycleParticipant<ISiloLifecycle>, IDisposable
{
    /// <summary>How often the cache re-subscribes and re-reads.</summary>
    public static readonly TimeSpan RefreshPeriod = TimeSpan.FromMinutes(1);

    private readonly Lock _gate = new();
    private FleetControls? _controls;
    private IFleetControlsObserver? _reference;
    private ITimer? _timer;

    private IOperatorControlGrain Control => grains.GetGrain<IOperatorControlGrain>(0);

    /// <summary>The controls in force (asks the control grain until the cache has loaded).</summary>
    public async ValueTask<FleetControls> GetAsync()
    {
        if (Volatile.Read(ref _controls) is { } cached)
        {
            return cached;
        }

        var loaded = await Control.GetControls();
        Apply(loaded);
        return Volatile.Read(ref _controls)!;
    }

    /// <inheritdoc />
    public Task ControlsChanged(FleetControls controls)
    {
        ArgumentNullException.ThrowIfNull(controls);
        Apply(controls);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public void Participate(ISiloLifecycle lifecycle)
    {
        ArgumentNullException.ThrowIfNull(lifecycle);
        lifecycle.Subscribe(nameof(FleetControlsCache), ServiceLifecycleStage.Active, StartAsync, StopAsync);
    }

    /// <inheritdoc />
    public void Dispose() => _timer?.Dispose();

    private async Task StartAsync(CancellationToken cancellationToken)
    {
        _reference = grains.CreateObjectReference<IFleetControlsObserver>(this);
        await RefreshAsync();
        _timer = clock.CreateTimer(static self => _ = ((FleetControlsCache)self!).RefreshAsync(), this, RefreshPeriod, RefreshPeriod);
    }

    private async Task StopAsync(CancellationToken cancellationToken)
    {
        _timer?.Dispose();
        _timer = null;
        if (_reference is { } reference)
        {
            try
            {
                await Control.Unsubscribe(reference).WaitAsync(OperatorControlGrain.NotifyTimeout, cancellationToken);
            }
            catch (Exception ex) when (ex is OrleansException or TimeoutException or OperationCanceledException)
            {
                // The registration expires on its own.
            }

            grains.DeleteObjectReference<IFleetControlsObserver>(reference);
            _reference = null;
        }
    }

    // Failures are logged and retried at the next period: the cache keeps what it has (or, never loaded, reads through).
    private async Task RefreshAsync()
    {
        try
        {
            if (_reference is { } reference)
            {
                await Control.Subscribe(reference);
            }

            Apply(await Control.GetControls());
        }
        catch (Exception ex) when (ex is OrleansException or TimeoutException)
        {
            Log.RefreshFailed(logger, ex);
        }
    }

    private void Apply(FleetControls controls)
    {
        lock (_gate)
        {
            if (_controls is null || controls.Version > _controls.Version)
            {
                Volatile.Write(ref _controls, controls);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(45, LogLevel.Warning, "The fleet controls could not be refreshed; the cache keeps the controls it has and retries")]
        public static partial void RefreshFailed(ILogger logger, Exception exception);
    }
}

/// <summary>Registers the fleet controls cache.</summary>
public static class FleetControlsHosting
{
    /// <summary>Adds this silo's <see cref="FleetControlsCache"/> (loaded at start, told of every change, refreshed periodically).</summary>
    public static IServiceCollection AddX402FleetControls(this IServiceCollection services)
    {
        services.TryAddKeyedSingleton(TimeProviderNames.Grains, TimeProvider.System);
        services.TryAddSingleton<FleetControlsCache>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<FleetControlsCache>());
        return services;
    }

    /// <inheritdoc cref="AddX402FleetControls(IServiceCollection)"/>
    public static ISiloBuilder AddX402FleetControls(this ISiloBuilder silo)
    {
        ArgumentNullException.ThrowIfNull(silo);
        silo.Services.AddX402FleetControls();
        return silo;
    }
}
