using System.Globalization;
using X402Orleans.Abstractions;
using static X402Orleans.Grains.Tests.TestData;

namespace X402Orleans.Grains.Tests;

/// <summary>
/// Expiry, on its own cluster because these tests move the shared fake clock by hours. Tests in one collection run one at a
/// time and each computes expiry from the clock as it finds it, so earlier moves do not matter; sessions left live by an
/// earlier test simply expire when a later test advances the clock, which touches no other test's agents or sessions.
/// </summary>
/// <remarks>
/// How the fake clock reaches the grain: <c>FakeTimeProvider.Advance</c> runs due timer callbacks synchronously, and an
/// Orleans grain timer's callback only enqueues a tick message on the activation. So when <c>Advance</c> returns, the expiry
/// tick is already queued ahead of any call the test makes next; the (non-reentrant) grain runs it first. A consequence is
/// that a black-box test cannot separate the per-call clock check (<c>CheckUsableAsync</c> → <c>ExpireIfDueAsync</c>) from
/// the timer: on an active session the timer always gets there first. What is proven separately is the timer alone (no
/// call at all) and the activation path (<see cref="GetStatus_StaysExpiredWithoutRepeatedExpiry_WhenExpiredWhileDeactivated"/>).
/// </remarks>
[Collection(ExpiryClusterDefinition.Name)]
public sealed class SessionExpiryTests(ExpiryClusterFixture fixture)
{
    private static readonly TimeSpan Ttl = TimeSpan.FromHours(1);

    private readonly IGrainFactory _grains = fixture.Grains;

    private DateTimeOffset Now => fixture.Services.Clock.GetUtcNow();

    private void Advance(TimeSpan delta) => fixture.Services.Clock.Advance(delta);

    private int ExpiryLogCount(Guid sessionId) => fixture.Services.Logs.Count(ExpiredEventId, sessionId.ToString());

    private Task<IReadOnlyList<Guid>> ListSessions(string agent) => _grains.GetGrain<IAgentGrain>(agent).ListSessions();

    [Fact]
    public async Task AuthorizeCall_ReturnsExpired_WhenClockPassesExpiresAt()
    {
        var agent = NewAgent();
        var (grain, id, session) = await OpenActiveAsync(_grains, agent, Command(agent, Ttl));

        Advance(Ttl + TimeSpan.FromSeconds(1));
        var ticket = await grain.AuthorizeCall(agent, Endpoint + "/items");
        var status = await grain.GetStatus(agent);
        var payment = await grain.AuthorizePayment(agent, Quote("1"));

        Assert.False(ticket.Allowed);
        Assert.Equal(SessionErrorCode.Expired, ticket.Error);
        var expiredAt = session.ExpiresAt.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        Assert.Equal($"Session {id} expired at {expiredAt}; start a new one with x402_session_start.", ticket.Message);
        Assert.True(status.Succeeded, status.Message);
        Assert.Equal(SessionStatus.Expired, status.Session!.Status);
        Assert.Equal(session.ExpiresAt, status.Session.EndedAt);
        Assert.Equal(1, status.Session.CallCount);
        Assert.Equal(SessionErrorCode.Expired, payment.Error);
        Assert.DoesNotContain(id, await ListSessions(agent));
        Assert.Equal(1, ExpiryLogCount(id));
    }

    [Fact]
    public async Task ExpiryTimer_ExpiresSessionAndUnlistsIt_WhenNoCallArrives()
    {
        var agent = NewAgent();
        var (grain, id, session) = await OpenActiveAsync(_grains, agent, Command(agent, Ttl));

        // One second before expiry nothing has happened. (CompleteCall with an undelivered outcome reads the session
        // without a clock check, so it observes state without expiring anything itself.)
        Advance(Ttl - TimeSpan.FromSeconds(1));
        Assert.Equal(SessionStatus.Active, (await grain.CompleteCall(agent, NotDelivered)).Session!.Status);
        Assert.Contains(id, await ListSessions(agent));

        Advance(TimeSpan.FromSeconds(1));

        // From here on no call goes to the session grain until the index has changed. Only the session grain's close path
        // unregisters it from the agent index, and with no call to run it, only the expiry timer's tick can have done so.
        Assert.True(await EventuallyAsync(async () => !(await ListSessions(agent)).Contains(id)), "the expiry timer did not expire the session");

        // Read back without a clock check: the timer persisted Expired with EndedAt at the expiry instant, exactly once.
        var seen = (await grain.CompleteCall(agent, NotDelivered)).Session!;
        Assert.Equal(SessionStatus.Expired, seen.Status);
        Assert.Equal(session.ExpiresAt, seen.EndedAt);
        Assert.Equal(Now, seen.EndedAt);
        Assert.Equal(SessionStatus.Expired, (await grain.GetStatus(agent)).Session!.Status);
        Assert.Equal(1, ExpiryLogCount(id));
    }

    [Fact]
    public async Task GetStatus_ShowsFailedAndSessionIsGone_WhenStartingSessionExpires()
    {
        var agent = NewAgent();
        var id = Guid.NewGuid();
        var grain = _grains.GetGrain<ISessionGrain>(id);
        var opened = (await grain.Open(Command(agent, Ttl))).Session!;

        Advance(Ttl);
        var status = await grain.GetStatus(agent);
        var payment = await grain.AuthorizePayment(agent, Quote("1"));
        var activate = await grain.Activate(agent, ReuseMode.SignInWithX, null);

        Assert.Equal(SessionStatus.Failed, status.Session!.Status);
        Assert.Equal(opened.ExpiresAt, status.Session.EndedAt);
        Assert.Equal(SessionErrorCode.NotFound, payment.Error);
        Assert.Equal(SessionErrorCode.NotFound, activate.Error);
        Assert.DoesNotContain(id, await ListSessions(agent));
    }

    [Fact]
    public async Task End_ReturnsAlreadyExpired_WhenSessionExpired()
    {
        var agent = NewAgent();
        var (grain, _, session) = await OpenActiveAsync(_grains, agent, Command(agent, Ttl));
        Advance(Ttl + TimeSpan.FromMinutes(5));

        var result = await grain.End(agent);

        Assert.True(result.Succeeded, result.Message);
        Assert.Equal("already expired", result.Message);
        Assert.Equal(SessionStatus.Expired, result.Session!.Status);
        Assert.Equal(session.ExpiresAt, result.Session.EndedAt);
    }

    [Fact]
    public async Task GetStatus_StaysEnded_WhenClockPassesExpiryAfterEnd()
    {
        var agent = NewAgent();
        var (grain, id, _) = await OpenActiveAsync(_grains, agent, Command(agent, Ttl));
        var endedAt = Now;
        await grain.End(agent);

        Advance(Ttl * 2);
        var status = await grain.GetStatus(agent);

        Assert.Equal(SessionStatus.Ended, status.Session!.Status);
        Assert.Equal(endedAt, status.Session.EndedAt);
        Assert.Equal(0, ExpiryLogCount(id));
    }

    [Fact]
    public async Task CompleteCall_CountsCall_WhenResponseArrivesAfterExpiry()
    {
        var agent = NewAgent();
        var (grain, _, _) = await OpenActiveAsync(_grains, agent, Command(agent, Ttl));
        Assert.True((await grain.AuthorizeCall(agent, null)).Allowed);

        // The response arrives after expiry. CompleteCall does no clock check; the status is Expired because the expiry
        // timer's tick, queued by Advance, ran first. The call still counts: the server served it.
        Advance(Ttl + TimeSpan.FromSeconds(1));
        var completed = await grain.CompleteCall(agent, Delivered());

        Assert.Equal(SessionStatus.Expired, completed.Session!.Status);
        Assert.Equal(2, completed.Session.CallCount);
        Assert.Equal(2, (await grain.GetStatus(agent)).Session!.CallCount);
    }

    [Fact]
    public async Task GetStatus_StaysExpiredWithoutRepeatedExpiry_WhenExpiredWhileDeactivated()
    {
        var agent = NewAgent();
        var (grain, id, session) = await OpenActiveAsync(_grains, agent, Command(agent, Ttl));

        // Deactivate the live session (its timer goes with the activation), then let its expiry pass.
        await DeactivateAllIdleAsync(_grains);
        Assert.True(await EventuallyAsync(async () => await ActivationCountAsync(_grains, grain) == 0), "the session grain was not deactivated");
        Advance(Ttl * 2);
        Assert.Contains(id, await ListSessions(agent));

        // The late call activates it; the activation finds it past expiry, expires it once and serves the call.
        var ticket = await grain.AuthorizeCall(agent, null);
        Assert.Equal(SessionErrorCode.Expired, ticket.Error);
        Assert.DoesNotContain(id, await ListSessions(agent));

        // Further activations (forced each round) find it expired and leave it so: no new expiry, no timer, same EndedAt.
        for (var round = 0; round < 5; round++)
        {
            await DeactivateAllIdleAsync(_grains);
            Advance(TimeSpan.FromHours(1));
            var status = await grain.GetStatus(agent);
            Assert.True(status.Succeeded, status.Message);
            Assert.Equal(SessionStatus.Expired, status.Session!.Status);
            Assert.Equal(session.ExpiresAt, status.Session.EndedAt);
            Assert.Equal(1, status.Session.CallCount);
            Assert.Equal(SessionErrorCode.Expired, (await grain.AuthorizeCall(agent, null)).Error);
        }

        Assert.Equal("already expired", (await grain.End(agent)).Message);
        Assert.DoesNotContain(id, await ListSessions(agent));
        Assert.Equal(1, ExpiryLogCount(id));
    }
}
