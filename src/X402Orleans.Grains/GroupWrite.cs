namespace X402Orleans.Grains;

/// <summary>
/// Group commit for one grain's persistent state, so a reentrant grain that changes its state on every call serves many calls
/// per storage round trip while each caller is still answered only once its change is stored.
/// </summary>
/// <remarks>
/// <para>
/// Use: a call makes all its checks and changes to <see cref="IPersistentState{TState}.State"/> synchronously, then calls
/// <see cref="PersistAsync"/> in the same turn (before any other await) and awaits it. At most one storage operation is in
/// flight; callers that change the state while one is in flight are all covered by the next single write. A call that changed
/// nothing awaits <see cref="StoredAsync"/> instead, so its answer (which may rest on another caller's change) is given only
/// once everything it could have seen is stored.
/// </para>
/// <para>
/// When a write fails, every caller it covered and every caller waiting for the next one gets the failure, and so does every
/// later call to this instance: the in-memory state then holds changes that were never stored, so the grain must stop serving
/// it. <c>onFailure</c> is called once (grains pass <c>DeactivateOnIdle</c>), and the next activation reloads the stored state.
/// No caller is ever answered on top of a lost change, but a caller whose write failed may see its change stored anyway when
/// the store failed after committing (as with a plain <see cref="IStorage.WriteStateAsync()"/>).
/// </para>
/// <para>
/// Storage providers must take their snapshot of the state synchronously when the write starts (the SQLite store, the ADO.NET
/// store and memory storage all serialize before their first await), since callers keep changing it while the write is in flight.
/// Not thread-safe: use it from the owning grain's turns only.
/// </para>
/// </remarks>
/// <typeparam name="TState">The state type.</typeparam>
public sealed class GroupWrite<TState>
{
    private readonly IPersistentState<TState> _state;
    private readonly Action _onFailure;

    /// <summary>Callers covered by the storage operation in flight.</summary>
    private TaskCompletionSource? _running;

    /// <summary>Callers whose changes the next storage operation will cover.</summary>
    private TaskCompletionSource? _waiting;

    /// <summary>Whether the next operation clears the record instead of writing it.</summary>
    private bool _clearNext;

    private Exception? _failure;

    /// <summary>Creates the helper over <paramref name="state"/>; <paramref name="onFailure"/> runs once when a write fails.</summary>
    public GroupWrite(IPersistentState<TState> state, Action onFailure)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(onFailure);
        _state = state;
        _onFailure = onFailure;
    }

    /// <summary>Whether a write failed, so this instance refuses every call.</summary>
    public bool Failed => _failure is not null;

    /// <summary>Completes once a write that includes every change made to the state so far has been stored.</summary>
    public Task PersistAsync() => Enqueue(clear: false);

    /// <summary>
    /// Completes once the record has been deleted (<see cref="IStorage.ClearStateAsync()"/>). Changes made before the clear by
    /// callers still waiting are dropped with it, so grains clear only a record they are done with.
    /// </summary>
    public Task ClearAsync() => Enqueue(clear: true);

    /// <summary>
    /// Asks for a write covering the changes made so far without waiting for it, for a call that goes on to await other grains
    /// first; the call still awaits <see cref="StoredAsync"/> (or <see cref="PersistAsync"/>) before it answers.
    /// </summary>
    public void Schedule() => _ = Enqueue(clear: false);

    /// <summary><see cref="PersistAsync"/> when the call <paramref name="changed"/> the state, otherwise <see cref="StoredAsync"/>.</summary>
    public Task CompleteAsync(bool changed) => changed ? PersistAsync() : StoredAsync();

    /// <summary>Completes once every change made so far (by any caller) is stored, without asking for a write itself.</summary>
    public Task StoredAsync() =>
        _failure is { } failure ? Task.FromException(failure) : (_waiting ?? _running)?.Task ?? Task.CompletedTask;

    private Task Enqueue(bool clear)
    {
        if (_failure is { } failure)
        {
            return Task.FromException(failure);
        }

        _clearNext |= clear;
        if (_waiting is { } waiting)
        {
            return waiting.Task;
        }

        waiting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _waiting = waiting;
        if (_running is null)
        {
            _ = RunAsync();
        }

        return waiting.Task;
    }

    /// <summary>Runs storage operations one at a time while callers wait; never throws (failures go to the callers).</summary>
    private async Task RunAsync()
    {
        while (_waiting is { } batch)
        {
            _waiting = null;
            _running = batch;
            var clear = _clearNext;
            _clearNext = false;
            try
            {
                await (clear ? _state.ClearStateAsync() : _state.WriteStateAsync());
            }
            catch (Exception ex)
            {
                Fail(ex);
                return;
            }

            _running = null;
            batch.TrySetResult();
        }
    }

    private void Fail(Exception failure)
    {
        _failure = failure;
        var covered = _running;
        var waiting = _waiting;
        _running = null;
        _waiting = null;
        try
        {
            _onFailure();
        }
        finally
        {
            covered?.TrySetException(failure);
            waiting?.TrySetException(failure);
        }
    }
}
