using X402Orleans.Abstractions;

namespace X402Orleans.Grains.Tests;

/// <summary>
/// <see cref="GroupWrite{TState}"/> on a scripted state whose writes complete only when the test says: one write in flight,
/// callers arriving meanwhile share the next one, nobody is answered before a write holding their change is stored.
/// Each test runs off xunit's synchronization context, so completing a scripted write runs the helper on inline.
/// </summary>
public sealed class GroupWriteTests
{
    [Fact]
    public Task PersistAsync_CoversTenCallersWithTwoWrites_WhenNineArriveDuringTheFirst() => Task.Run(() =>
    {
        var state = new ScriptedState();
        var writes = new GroupWrite<List<int>>(state, () => Assert.Fail("no write failed"));

        state.State.Add(0);
        var first = writes.PersistAsync();
        var others = Enumerable.Range(1, 9).Select(i =>
        {
            state.State.Add(i);
            return writes.PersistAsync();
        }).ToList();

        Assert.Equal(1, state.Writes);
        state.Complete(0);
        Assert.True(first.IsCompletedSuccessfully);
        Assert.All(others, t => Assert.False(t.IsCompleted));
        Assert.Equal(2, state.Writes);
        state.Complete(1);
        Assert.All(others, t => Assert.True(t.IsCompletedSuccessfully));
        Assert.Equal(Enumerable.Range(0, 10), state.Stored);
        Assert.Equal(2, state.Writes);
    });

    [Fact]
    public Task PersistAsync_FailsEveryCoveredAndWaitingCaller_WhenTheWriteFails() => Task.Run(() =>
    {
        var state = new ScriptedState();
        var failures = 0;
        var writes = new GroupWrite<List<int>>(state, () => failures++);
        state.State.Add(1);
        var covered = writes.PersistAsync();
        state.State.Add(2);
        var waiting = writes.PersistAsync();
        var reader = writes.StoredAsync();

        var failure = new StorageUnavailableException("injected");
        state.Fail(0, failure);

        Assert.All([covered, waiting, reader], t => Assert.Same(failure, Assert.IsType<StorageUnavailableException>(t.Exception?.InnerException)));
        Assert.Equal(1, failures);
        Assert.True(writes.Failed);

        // The in-memory state now holds lost changes: nobody is answered on top of them, and nothing more is written.
        state.State.Add(3);
        Assert.True(writes.PersistAsync().IsFaulted);
        Assert.True(writes.StoredAsync().IsFaulted);
        Assert.Equal(1, state.Writes);
        Assert.Empty(state.Stored);
    });

    [Fact]
    public Task StoredAsync_WaitsForTheWriteCoveringWhatItSaw_WhenCalledDuringWrites() => Task.Run(() =>
    {
        var state = new ScriptedState();
        var writes = new GroupWrite<List<int>>(state, () => Assert.Fail("no write failed"));
        Assert.True(writes.StoredAsync().IsCompletedSuccessfully);

        var first = writes.PersistAsync();
        var readerDuringFirst = writes.StoredAsync();
        writes.Schedule();
        var readerAfterSchedule = writes.StoredAsync();

        // A reader waits for the write covering every change made before it read, and no later one.
        state.Complete(0);
        Assert.True(first.IsCompletedSuccessfully);
        Assert.True(readerDuringFirst.IsCompletedSuccessfully);
        Assert.False(readerAfterSchedule.IsCompleted);
        state.Complete(1);
        Assert.True(readerAfterSchedule.IsCompletedSuccessfully);
        Assert.True(writes.StoredAsync().IsCompletedSuccessfully);
    });

    [Fact]
    public Task ClearAsync_RunsAfterTheWriteInFlight_WhenAskedDuringIt() => Task.Run(() =>
    {
        var state = new ScriptedState();
        var writes = new GroupWrite<List<int>>(state, () => Assert.Fail("no write failed"));
        var written = writes.PersistAsync();
        var cleared = writes.ClearAsync();

        Assert.Equal(0, state.Clears);
        state.Complete(0);
        Assert.True(written.IsCompletedSuccessfully);
        Assert.Equal(1, state.Clears);
        Assert.False(cleared.IsCompleted);
        state.Complete(1);
        Assert.True(cleared.IsCompletedSuccessfully);
        Assert.Equal(1, state.Writes);
    });

    /// <summary>A state whose storage operations wait for the test; a write stores a copy of the list taken when it starts.</summary>
    private sealed class ScriptedState : IPersistentState<List<int>>
    {
        private readonly List<(TaskCompletionSource Done, List<int>? Snapshot)> _operations = [];

        public List<int> State { get; set; } = [];

        public string? Etag => null;

        public bool RecordExists { get; private set; }

        public int Writes => _operations.Count(o => o.Snapshot is not null);

        public int Clears => _operations.Count(o => o.Snapshot is null);

        public List<int> Stored { get; private set; } = [];

        public Task ReadStateAsync() => Task.CompletedTask;

        public Task WriteStateAsync() => Start([.. State]);

        public Task ClearStateAsync() => Start(null);

        public void Complete(int operation)
        {
            var (done, snapshot) = _operations[operation];
            Stored = snapshot ?? [];
            RecordExists = snapshot is not null;
            done.SetResult();
        }

        public void Fail(int operation, Exception failure) => _operations[operation].Done.SetException(failure);

        private Task Start(List<int>? snapshot)
        {
            Assert.All(_operations, o => Assert.True(o.Done.Task.IsCompleted, "two storage operations in flight"));
            var done = new TaskCompletionSource();
            _operations.Add((done, snapshot));
            return done.Task;
        }
    }
}
