using System.Collections.Concurrent;
using Orleans.Runtime;
using Orleans.Storage;

namespace X402Orleans.Grains.Tests;

/// <summary>
/// What the test clusters' grain storage lets tests see and do: count each grain's writes, count calls that have entered a
/// grain (run up to their first await), and hold a grain's next write until the test lets it go on or fail.
/// </summary>
public sealed class StorageProbe
{
    private readonly ConcurrentDictionary<GrainId, int> _writes = new();
    private readonly ConcurrentDictionary<GrainId, int> _entered = new();
    private readonly ConcurrentDictionary<GrainId, HeldWrite> _holds = new();
    private readonly Lock _gate = new();
    private readonly List<(GrainId Grain, int Count, TaskCompletionSource Reached)> _enteredWaits = [];

    /// <summary>How many writes of <paramref name="grain"/>'s state were attempted.</summary>
    public int Writes(GrainId grain) => _writes.GetValueOrDefault(grain);

    /// <summary>How many calls have entered <paramref name="grain"/>.</summary>
    public int Entered(GrainId grain) => _entered.GetValueOrDefault(grain);

    /// <summary>Completes once <paramref name="count"/> calls in all have entered <paramref name="grain"/>.</summary>
    public Task WhenEntered(GrainId grain, int count)
    {
        lock (_gate)
        {
            if (Entered(grain) >= count)
            {
                return Task.CompletedTask;
            }

            var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _enteredWaits.Add((grain, count, reached));
            return reached.Task;
        }
    }

    /// <summary>Holds the next write of <paramref name="grain"/> until the returned handle lets it go.</summary>
    public HeldWrite HoldNextWrite(GrainId grain)
    {
        var hold = new HeldWrite();
        Assert.True(_holds.TryAdd(grain, hold), "a write of this grain is already held");
        return hold;
    }

    /// <summary>Counts a call that has run up to its first await in <paramref name="grain"/>.</summary>
    internal void OnEntered(GrainId grain)
    {
        lock (_gate)
        {
            var count = _entered.AddOrUpdate(grain, 1, (_, n) => n + 1);
            foreach (var wait in _enteredWaits.Where(w => w.Grain == grain && w.Count <= count).ToList())
            {
                _enteredWaits.Remove(wait);
                wait.Reached.TrySetResult();
            }
        }
    }

    /// <summary>Counts a write and waits while it is held (throwing what the test failed it with).</summary>
    internal async Task OnWriteAsync(GrainId grain)
    {
        _writes.AddOrUpdate(grain, 1, (_, n) => n + 1);
        if (_holds.TryRemove(grain, out var hold))
        {
            hold.OnStarted();
            await hold.Gate;
        }
    }
}

/// <summary>A write held by <see cref="StorageProbe.HoldNextWrite"/>.</summary>
public sealed class HeldWrite
{
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the held write has started.</summary>
    public Task Started => _started.Task;

    internal Task Gate => _gate.Task;

    /// <summary>Lets the write go on to storage.</summary>
    public void Release() => _gate.SetResult();

    /// <summary>Fails the write with <paramref name="failure"/> (nothing is stored).</summary>
    public void Fail(Exception failure) => _gate.SetException(failure);

    internal void OnStarted() => _started.TrySetResult();
}

/// <summary>Grain storage that reports to a <see cref="StorageProbe"/> and then stores through <paramref name="inner"/>.</summary>
public sealed class ProbedGrainStorage(IGrainStorage inner, StorageProbe probe) : IGrainStorage
{
    /// <inheritdoc />
    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        inner.ReadStateAsync(stateName, grainId, grainState);

    /// <inheritdoc />
    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        await probe.OnWriteAsync(grainId);
        await inner.WriteStateAsync(stateName, grainId, grainState);
    }

    /// <inheritdoc />
    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        inner.ClearStateAsync(stateName, grainId, grainState);
}

/// <summary>Reports each call to the <see cref="StorageProbe"/> once it has run up to its first await in the grain.</summary>
public sealed class EnteredCallFilter(StorageProbe probe) : IIncomingGrainCallFilter
{
    /// <inheritdoc />
    public async Task Invoke(IIncomingGrainCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var call = context.Invoke();
        probe.OnEntered(context.TargetId);
        await call;
    }
}
