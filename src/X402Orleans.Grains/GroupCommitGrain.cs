namespace X402Orleans.Grains;

/// <summary>
/// A grain whose one persisted state is written through <see cref="GroupWrite{TState}"/>: a failed write deactivates it, so
/// the next activation reloads what was stored. Subclasses mark themselves <c>[Reentrant]</c> and follow the helper's rules
/// (check and change synchronously, then await <see cref="GroupWrite{TState}.CompleteAsync"/>).
/// </summary>
/// <typeparam name="TState">The state type.</typeparam>
public abstract class GroupCommitGrain<TState> : Grain
{
    /// <summary>Creates the grain over its persisted state.</summary>
    protected GroupCommitGrain(IPersistentState<TState> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        Storage = state;
        Writes = new GroupWrite<TState>(state, DeactivateOnIdle);
    }

    /// <summary>The persisted state.</summary>
    protected IPersistentState<TState> Storage { get; }

    /// <summary>The group commit over <see cref="Storage"/>.</summary>
    protected GroupWrite<TState> Writes { get; }
}
