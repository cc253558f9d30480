using X402Orleans.Abstractions;

namespace X402Orleans.Grains.Tests;

/// <summary>The due channel refunds: taken once per lease, retried after a growing delay, removed once done.</summary>
[Collection(SessionsClusterDefinition.Name)]
public sealed class ChannelRefundQueueTests(SessionsClusterFixture fixture)
{
    private readonly IChannelRefundQueueGrain _queue = fixture.Grains.GetGrain<IChannelRefundQueueGrain>(0);

    [Fact]
    public async Task TakeDue_HandsAnEntryOutOncePerAttempt_AndResolveRetriesItLaterUntilDone()
    {
        var session = Guid.NewGuid();
        await _queue.Add(session, "agent-q");
        await _queue.Add(session, "agent-q"); // idempotent

        var taken = await _queue.TakeDue(100);
        var takenAgain = await _queue.TakeDue(100);
        await _queue.Resolve(session, done: false, "the server did not answer");
        var retried = Assert.Single(await _queue.List(), d => d.SessionId == session);
        await _queue.Resolve(session, done: true, "refunded");

        Assert.Single(taken, d => d.SessionId == session);
        Assert.DoesNotContain(takenAgain, d => d.SessionId == session); // held by its taker's lease
        Assert.Equal((1, "the server did not answer"), (retried.Attempts, retried.LastOutcome));
        Assert.Equal(fixture.Services.Clock.GetUtcNow() + ChannelRefundQueueGrain.FirstBackoff, retried.NextAttemptAt);
        Assert.DoesNotContain(await _queue.List(), d => d.SessionId == session);
    }
}
