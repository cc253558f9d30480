using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using X402Orleans.Abstractions;

namespace X402Orleans.Gateway.Tests;

/// <summary>
/// The silo's channel refund service: a batch-settlement session on the demo paywall's <c>/demo/stream</c> that expires, or that an
/// operator ends, as its channel's last live session gets its cooperative refund without any agent asking — the paywall counts one
/// refund more and the channel shows refunded. Its own host, whose grains run on a test clock (expiry is a clock step, not a wait).
/// </summary>
public sealed class ChannelRefundServiceTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);
    private GatewayHost? _host;
    private ModelContextProtocol.Client.McpClient? _agentA;
    private ModelContextProtocol.Client.McpClient? _agentB;

    private GatewayHost Host => _host!;

    private ModelContextProtocol.Client.McpClient AgentA => _agentA!;

    private ModelContextProtocol.Client.McpClient AgentB => _agentB!;

    public async Task InitializeAsync()
    {
        _host = await GatewayHost.StartAsync(configure: b => b.Services.AddKeyedSingleton<TimeProvider>(X402Orleans.Grains.TimeProviderNames.Grains, _clock));
        _agentA = await _host.ConnectAsync(GatewayHost.AgentAKey);
        _agentB = await _host.ConnectAsync(GatewayHost.AgentBKey);
    }

    public async Task DisposeAsync()
    {
        await (_agentA?.DisposeAsync() ?? ValueTask.CompletedTask);
        await (_agentB?.DisposeAsync() ?? ValueTask.CompletedTask);
        await (_host?.DisposeAsync() ?? ValueTask.CompletedTask);
    }

    [Fact]
    public async Task ExpiredSession_GetsItsChannelRefunded_WithoutAnAgentAsking()
    {
        var sessionId = (await AgentA.StartAsync(Host.Url("/demo/stream"), new() { ["max_payment"] = "0.01", ["ttl_seconds"] = 60 })).Ok().Structured.Str("session_id");
        var before = await Host.GetStatsAsync();
        var refunded = RefundDone(sessionId);

        _clock.Advance(TimeSpan.FromMinutes(2));
        var expired = (await AgentA.StatusAsync(sessionId)).Ok().Single(); // the session sees its expiry
        await refunded;

        Assert.Equal(before.Channels!.Refunds + 1, (await Host.GetStatsAsync()).Channels!.Refunds);

        var channel = (await AgentA.StatusAsync(sessionId)).Ok().Single().GetProperty("channel");
        Assert.Equal("expired", expired.Str("status"));
        Assert.Equal("refunded", channel.Str("phase"));
        Assert.StartsWith("refunded 0.004 USDC", channel.Str("note"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task OperatorEndedSession_GetsItsChannelRefunded_WithoutAnAgentAsking()
    {
        var sessionId = (await AgentB.StartAsync(Host.Url("/demo/stream"), new() { ["max_payment"] = "0.01" })).Ok().Structured.Str("session_id");
        var before = await Host.GetStatsAsync();
        var refunded = RefundDone(sessionId);

        var ended = await Host.Services.GetRequiredService<IGrainFactory>().GetGrain<ISessionOperatorGrain>(Guid.Parse(sessionId)).EndByOperator("ops");
        await refunded;

        Assert.Equal(before.Channels!.Refunds + 1, (await Host.GetStatsAsync()).Channels!.Refunds);

        var channel = (await AgentB.StatusAsync(sessionId)).Ok().Single().GetProperty("channel");
        Assert.Equal(SessionStatus.Ended, ended!.Session.Status);
        Assert.Equal("refunded", channel.Str("phase"));
        Assert.StartsWith("refunded 0.004 USDC", channel.Str("note"), StringComparison.Ordinal);
    }

    /// <summary>
    /// Completes when the host's refund service reports the session's refund done (signalled by the service, no polling); fails
    /// after 30 s — a bound for a hung run, not a timing assumption — naming the attempts it saw.
    /// </summary>
    private async Task RefundDone(string sessionId)
    {
        var signal = Host.Services.GetRequiredService<ChannelRefundSignal>();
        var seen = new System.Collections.Concurrent.ConcurrentQueue<ChannelRefundAttempt>();
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnAttempted(object? sender, ChannelRefundAttempt attempt)
        {
            if (attempt.SessionId == Guid.Parse(sessionId))
            {
                seen.Enqueue(attempt);
                if (attempt.Done)
                {
                    done.TrySetResult();
                }
            }
        }

        signal.Attempted += OnAttempted;
        try
        {
            await done.Task.WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
            Assert.Fail($"no refund done for {sessionId} within 30 s; attempts: {string.Join(" | ", seen.Select(a => a.Outcome))}");
        }
        finally
        {
            signal.Attempted -= OnAttempted;
        }
    }
}
