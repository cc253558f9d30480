using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using X402Orleans.Abstractions;
using X402Orleans.Silo;

namespace X402Orleans.Cluster.Tests;

/// <summary>Recording a call is idempotent per call id, so the gateway can resend it after a failover.</summary>
public sealed class CallRecordingTests
{
    [Fact]
    public async Task CompleteCall_ResentWithTheSameCallId_CountsOnce()
    {
        var app = TestEnvironment.MemoryHost();
        await using (app)
        {
            await app.StartAsync();
            var session = app.Services.GetRequiredService<IGrainFactory>().GetGrain<ISessionGrain>(Guid.NewGuid());
            Assert.True((await session.Open(new OpenSessionCommand("agent", "https://api.example/x", "exact", null, TimeSpan.FromHours(1), "0.1", true))).Succeeded);
            Assert.True((await session.Activate("agent", ReuseMode.Free, null)).Succeeded);

            var first = new CallOutcome(true, 200, ReuseMode.Unknown, null, Guid.NewGuid());
            Assert.Equal(2, (await session.CompleteCall("agent", first)).Session!.CallCount);
            Assert.Equal(2, (await session.CompleteCall("agent", first)).Session!.CallCount);
            Assert.Equal(3, (await session.CompleteCall("agent", first with { CallId = Guid.NewGuid() })).Session!.CallCount);
            Assert.Equal(4, (await session.CompleteCall("agent", first with { CallId = Guid.Empty })).Session!.CallCount);
            Assert.Equal(5, (await session.CompleteCall("agent", first with { CallId = Guid.Empty })).Session!.CallCount);
            await app.StopAsync();
        }
    }
}
