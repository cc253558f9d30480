using System.Threading.Channels;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using X402Orleans.Gateway.Sessions;
using Xunit;

namespace X402Orleans.Gateway.Tests;

/// <summary>
/// How an idempotent grain call waits through a failover: resent at once when the cluster changes under it, and, while the
/// cluster recovers, resent when an attempt goes unanswered past its bound (its message lost with the dead silo), instead of
/// waiting the client's response timeout (up to 300 s) and failing; never cut short while the cluster is steady.
/// </summary>
public sealed class ClusterRetryTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-12-03T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
    private readonly Channel<int> _started = Channel.CreateUnbounded<int>();
    private readonly List<TaskCompletionSource<int>> _answers = [];

    private ClusterChangeSignal NewSignal() => new(NullLogger<ClusterChangeSignal>.Instance, _time);

    /// <summary>A grain call whose n-th attempt (1-based) waits for <see cref="_answers"/>[n-1] or its token.</summary>
    private async Task<int> CallAsync(CancellationToken token)
    {
        TaskCompletionSource<int> answer;
        lock (_answers)
        {
            answer = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
            _answers.Add(answer);
        }

        _started.Writer.TryWrite(_answers.Count);
        return await answer.Task.WaitAsync(token);
    }

    private async Task<int> NextAttemptAsync() => await _started.Reader.ReadAsync().AsTask().WaitAsync(Guard);

    [Fact]
    public async Task RunAsync_ResendsAnUnansweredAttempt_WhenTheClusterChangedRecently()
    {
        var signal = NewSignal();
        signal.Raise("test");
        var result = ClusterRetry.RunAsync(CallAsync, signal, CancellationToken.None);
        Assert.Equal(1, await NextAttemptAsync());

        _time.Advance(ClusterRetry.FirstAttemptBound);
        Assert.Equal(2, await NextAttemptAsync());
        _answers[1].SetResult(7);

        Assert.Equal(7, await result.WaitAsync(Guard));
    }

    [Fact]
    public async Task RunAsync_DoublesTheBound_WhenResentAttemptsStayUnanswered()
    {
        var signal = NewSignal();
        signal.Raise("test");
        var result = ClusterRetry.RunAsync(CallAsync, signal, CancellationToken.None);
        await NextAttemptAsync();
        _time.Advance(ClusterRetry.FirstAttemptBound);
        await NextAttemptAsync();

        _time.Advance(ClusterRetry.FirstAttemptBound);
        Assert.False(_started.Reader.TryRead(out _), "the second attempt was resent after the first attempt's bound, not twice that");
        _time.Advance(ClusterRetry.FirstAttemptBound);
        Assert.Equal(3, await NextAttemptAsync());
        _answers[2].SetResult(3);

        Assert.Equal(3, await result.WaitAsync(Guard));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task RunAsync_WaitsForTheAnswer_WhenNoClusterChangeIsRecent(bool changedLongAgo)
    {
        var signal = NewSignal();
        if (changedLongAgo)
        {
            signal.Raise("test");
            _time.Advance(ClusterChangeSignal.RecoveryWindow);
        }

        var result = ClusterRetry.RunAsync(CallAsync, signal, CancellationToken.None);
        await NextAttemptAsync();

        _time.Advance(TimeSpan.FromMinutes(5));
        Assert.False(result.IsCompleted);
        _answers[0].SetResult(1);

        Assert.Equal(1, await result.WaitAsync(Guard));
        Assert.Single(_answers);
    }

    [Fact]
    public async Task RunAsync_ResendsAtOnce_WhenTheClusterChangesDuringAnAttempt()
    {
        var signal = NewSignal();
        var result = ClusterRetry.RunAsync(CallAsync, signal, CancellationToken.None);
        await NextAttemptAsync();

        signal.Raise("a silo connection closed");
        Assert.Equal(2, await NextAttemptAsync());
        _answers[1].SetResult(2);

        Assert.Equal(2, await result.WaitAsync(Guard));
    }
}
