using Microsoft.Extensions.Logging.Abstractions;
using X402Orleans.Abstractions;
using static X402Orleans.Grains.Tests.TestData;

namespace X402Orleans.Grains.Tests;

/// <summary>
/// The operator's controls as agents feel them: a suspended agent starts nothing and pays nothing, the kill switch refuses every
/// payment before anything is reserved or signed (already-paid sessions keep working), stopped calls refuse every call; the
/// controls are versioned, audited and durable; the operator can inspect and end any session. Every test puts the fleet's
/// controls back as it found them (they are cluster-wide, and this collection's tests run one at a time).
/// </summary>
[Collection(SessionsClusterDefinition.Name)]
public sealed class OperatorControlTests(SessionsClusterFixture fixture)
{
    private const string Operator = "ops-test";
    private readonly IGrainFactory _grains = fixture.Grains;

    private IOperatorControlGrain Control => _grains.GetGrain<IOperatorControlGrain>(0);

    private static (long, bool, bool, string, string?) Shape(FleetControls c) =>
        (c.Version, c.PaymentsPaused, c.CallsStopped, string.Join(',', c.SuspendedAgents), c.ChangedBy);

    [Fact]
    public async Task SetPaymentsPaused_BumpsVersionOnceAndAuditsNoChange_WhenRepeated()
    {
        var before = await Control.GetControls();
        try
        {
            var paused = await Control.SetPaymentsPaused(Operator, true);
            var again = await Control.SetPaymentsPaused(Operator, true);

            Assert.True(paused.PaymentsPaused);
            Assert.Equal(before.Version + 1, paused.Version);
            Assert.Equal(Shape(paused), Shape(again));
            Assert.Equal(Operator, paused.ChangedBy);
            var audit = await Control.ListActions(2);
            Assert.Equal(
                [("pause-payments", "no change"), ("pause-payments", $"version {paused.Version}")],
                audit.Select(a => (a.Action, a.Detail)).ToArray());
            Assert.All(audit, a => Assert.Equal(Operator, a.Operator));
        }
        finally
        {
            await Control.SetPaymentsPaused(Operator, false);
        }
    }

    [Fact]
    public async Task ListActions_ReturnsNewestFirstAndKeepsTheNewest500_WhenMoreAreRecorded()
    {
        var run = Guid.NewGuid().ToString("N");
        for (var i = 0; i <= OperatorControlGrain.MaxActions; i++)
        {
            await Control.RecordAction(new OperatorAction(ClusterServices.Start, Operator, "sign-in", run, i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        var all = await Control.ListActions(10_000);
        var newest = await Control.ListActions(3);

        Assert.Equal(OperatorControlGrain.MaxActions, all.Count);
        Assert.Equal(["500", "499", "498"], newest.Select(a => a.Detail ?? string.Empty).ToArray());
        Assert.Equal("1", all[^1].Detail);
        Assert.DoesNotContain(all, a => a.Target == run && a.Detail == "0");
    }

    [Fact]
    public async Task StartAndPayment_RefusedAsSuspended_WhenTheAgentIsSuspended()
    {
        var agent = NewAgent();
        var (session, id, _) = await OpenActiveAsync(_grains, agent, Command(agent, allowRepeatPayments: true));
        await Control.SetAgentSuspended(Operator, agent, true);
        try
        {
            var open = await _grains.GetGrain<ISessionGrain>(Guid.NewGuid()).Open(Command(agent));
            var key = "key-" + Guid.NewGuid().ToString("N");
            var start = await _grains.GetGrain<ISessionGrain>(SessionIds.ForStart(agent, key)).BeginStart(StartSagaTests.StartCommand(agent, key, Guid.NewGuid()));
            var payment = await session.AuthorizePayment(agent, Quote("1000"));
            var otherAgent = await OpenActiveAsync(_grains, NewAgent());

            var message = $"agent '{agent}' is suspended by the operator";
            Assert.Equal((SessionErrorCode.AgentSuspended, message), (open.Error, open.Message));
            Assert.Equal((StartStepKind.Refused, message), (start.Kind, start.Message));
            Assert.Equal((false, SessionErrorCode.AgentSuspended, message), (payment.Approved, payment.Error, payment.Message));
            Assert.Equal([id], await _grains.GetGrain<IAgentGrain>(agent).ListSessions());
            Assert.Equal(SessionStatus.Active, otherAgent.Session.Status);
        }
        finally
        {
            await Control.SetAgentSuspended(Operator, agent, false);
        }

        var resumed = await session.AuthorizePayment(agent, Quote("1000"));
        Assert.True(resumed.Approved, resumed.Message);
    }

    [Fact]
    public async Task Payments_RefusedBeforeAnythingIsReservedOrSigned_WhenPaused()
    {
        var agent = NewAgent();
        var key = "key-" + Guid.NewGuid().ToString("N");
        var attempt = Guid.NewGuid();
        var starting = _grains.GetGrain<ISessionGrain>(SessionIds.ForStart(agent, key));
        var (active, _, _) = await OpenActiveAsync(_grains, agent, Command(agent, allowRepeatPayments: true));
        await Control.SetPaymentsPaused(Operator, true);
        try
        {
            var step = await starting.BeginStart(StartSagaTests.StartCommand(agent, key, attempt));
            var prepared = await starting.PreparePayment(agent, StartSagaTests.Challenge(attempt));
            var authorized = await active.AuthorizePayment(agent, Quote("1000"));

            Assert.Equal(StartStepKind.Proceed, step.Kind);
            Assert.Equal((false, SessionErrorCode.PaymentsPaused, "payments are paused by the operator", null), (prepared.Approved, prepared.Error, prepared.Message, prepared.Payment));
            Assert.Equal((false, SessionErrorCode.PaymentsPaused, "payments are paused by the operator"), (authorized.Approved, authorized.Error, authorized.Message));
            Assert.Equal(0, (await _grains.GetGrain<ISessionOperatorGrain>(SessionIds.ForStart(agent, key)).Inspect())!.PendingPayments);
            var spend = await _grains.GetGrain<IWalletBudgetGrain>(WalletBudgetGrain.KeyFor(fixture.Services.Wallet.Address, fixture.Services.Clock.GetUtcNow())).GetSpend(agent);
            Assert.All(spend, s => Assert.Equal(("0", "0"), (s.AgentReservedAtomic, s.AgentCommittedAtomic)));
        }
        finally
        {
            await Control.SetPaymentsPaused(Operator, false);
        }
    }

    [Fact]
    public async Task BeginCall_ReusesAPaidSession_WhenPaymentsArePaused()
    {
        var agent = NewAgent();
        var (session, _, _) = await OpenActiveAsync(_grains, agent);
        await Control.SetPaymentsPaused(Operator, true);
        try
        {
            var ticket = await session.BeginCall(agent, Endpoint + "/data", Guid.NewGuid());

            Assert.True(ticket.Allowed, ticket.Message);
            Assert.Equal(2, ticket.CallCount);
        }
        finally
        {
            await Control.SetPaymentsPaused(Operator, false);
        }
    }

    [Fact]
    public async Task Calls_RefusedAsStopped_WhenCallsAreStopped()
    {
        var agent = NewAgent();
        var (session, id, _) = await OpenActiveAsync(_grains, agent);
        await Control.SetCallsStopped(Operator, true);
        try
        {
            var fetch = await session.BeginCall(agent, Endpoint + "/data", Guid.NewGuid());
            var authorize = await session.AuthorizeCall(agent, null);
            var detail = await _grains.GetGrain<ISessionOperatorGrain>(id).Inspect();

            Assert.Equal((false, SessionErrorCode.CallsStopped, "calls are stopped by the operator"), (fetch.Allowed, fetch.Error, fetch.Message));
            Assert.Equal((false, SessionErrorCode.CallsStopped), (authorize.Allowed, authorize.Error));
            Assert.Equal(1, detail!.Session.CallCount);
            Assert.Equal([false, false], detail.RecentCalls.Select(c => c.Allowed).ToArray());
            Assert.Equal("calls are stopped by the operator", detail.RecentCalls[0].Refusal);
        }
        finally
        {
            await Control.SetCallsStopped(Operator, false);
        }

        Assert.True((await session.BeginCall(agent, Endpoint + "/data", Guid.NewGuid())).Allowed);
    }

    [Fact]
    public async Task Controls_SurviveDeactivationAndReachTheSilosCache_WhenChanged()
    {
        var agent = NewAgent();
        var suspended = await Control.SetAgentSuspended(Operator, agent, true);
        try
        {
            await DeactivateAllIdleAsync(_grains);
            var stored = await Control.GetControls();
            // A silo starting now loads what is stored.
            var cache = new FleetControlsCache(_grains, fixture.Services.Clock, NullLogger<FleetControlsCache>.Instance);
            var loaded = await cache.GetAsync();

            Assert.Equal(Shape(suspended), Shape(stored));
            Assert.True(loaded.IsSuspended(agent));
            Assert.Equal(suspended.Version, loaded.Version);
            var record = new GrainState<OperatorControlState>();
            await fixture.Storage.ReadStateAsync("operator-controls", Control.GetGrainId(), record);
            Assert.Contains(agent, record.State!.SuspendedAgents);
            Assert.Single(record.State.Subscribers); // the silo's cache, told of changes by the re-activated grain too

            // The re-activated grain tells the silo's cache of the next change before answering it.
            await DeactivateAllIdleAsync(_grains);
            await Control.SetPaymentsPaused(Operator, true);
            var owner = NewAgent();
            var (session, _, _) = await OpenActiveAsync(_grains, owner, Command(owner, allowRepeatPayments: true));
            Assert.Equal(SessionErrorCode.PaymentsPaused, (await session.AuthorizePayment(owner, Quote("1"))).Error);
        }
        finally
        {
            await Control.SetAgentSuspended(Operator, agent, false);
            await Control.SetPaymentsPaused(Operator, false);
        }
    }

    [Fact]
    public async Task Inspect_ReturnsNullAndStoresNothing_WhenTheSessionNeverExisted()
    {
        var id = Guid.NewGuid();
        var grain = _grains.GetGrain<ISessionOperatorGrain>(id);

        var first = await grain.Inspect();
        var ended = await grain.EndByOperator(Operator);

        Assert.Null(first);
        Assert.Null(ended);
        Assert.Equal(0, fixture.Services.Probe.Writes(grain.GetGrainId()));
        Assert.True(await EventuallyAsync(async () => await ActivationCountAsync(_grains, grain) == 0), "the inspected id stayed activated");
    }

    [Fact]
    public async Task EndByOperator_EndsTheSessionAndAudits_SoTheOwnersNextCallIsRefused()
    {
        var agent = NewAgent();
        var (session, id, _) = await OpenActiveAsync(_grains, agent);
        await session.BeginCall(agent, Endpoint + "/data", Guid.NewGuid());

        var detail = await _grains.GetGrain<ISessionOperatorGrain>(id).EndByOperator(Operator);
        var next = await session.BeginCall(agent, Endpoint + "/data", Guid.NewGuid());
        var audit = (await Control.ListActions(1)).Single();

        Assert.Equal(SessionStatus.Ended, detail!.Session.Status);
        Assert.Equal((false, SessionErrorCode.Ended), (next.Allowed, next.Error));
        Assert.Contains("was ended", next.Message, StringComparison.Ordinal);
        Assert.Equal((Operator, "end-session", id.ToString(), "ended"), (audit.Operator, audit.Action, audit.Target, audit.Detail));
        Assert.DoesNotContain(id, await _grains.GetGrain<IAgentGrain>(agent).ListSessions());
    }

    [Fact]
    public async Task Read_SumsReportersAndReplacesAReReport_AndDropsBucketsOlderThan15Minutes()
    {
        var stats = _grains.GetGrain<IFleetStatsGrain>(0);
        var now = CallLatency.BucketStart(fixture.Services.Clock.GetUtcNow());
        var previous = now - CallLatency.BucketWidth;
        var reporterA = "a-" + Guid.NewGuid().ToString("N");
        var reporterB = "b-" + Guid.NewGuid().ToString("N");

        await stats.Report(reporterA, [new CallStatsBucket(previous, 3, 1, [1, 2]), new CallStatsBucket(now, 1, 0, [1])]);
        await stats.Report(reporterA, [new CallStatsBucket(now, 2, 1, [0, 2])]);
        await stats.Report(reporterB, [new CallStatsBucket(now, 5, 0, [4, 0, 1]), new CallStatsBucket(now - TimeSpan.FromMinutes(20), 9, 9, [9])]);
        var merged = await stats.Read(previous);

        Assert.Equal([previous, now], merged.Select(b => b.Start).ToArray());
        Assert.Equal((3L, 1L), (merged[0].Calls, merged[0].Errors));
        Assert.Equal((7L, 1L), (merged[1].Calls, merged[1].Errors));
        Assert.Equal([4L, 2L, 1L], merged[1].LatencyCounts.ToArray());
        Assert.DoesNotContain(await stats.Read(now - TimeSpan.FromMinutes(20)), b => b.Start < now - FleetStatsGrain.Window);
    }
}
