using X402Orleans.Abstractions;
using static X402Orleans.Grains.Tests.TestData;

namespace X402Orleans.Grains.Tests;

/// <summary>
/// Session lifecycle, scope, ownership, payments, end/abandon and persistence. Sessions here live for 30 days and the clock is
/// only moved by minutes, so no session in this cluster ever expires.
/// </summary>
[Collection(SessionsClusterDefinition.Name)]
public sealed class SessionGrainTests(SessionsClusterFixture fixture)
{
    private readonly IGrainFactory _grains = fixture.Grains;

    private DateTimeOffset Now => fixture.Services.Clock.GetUtcNow();

    [Fact]
    public async Task Open_ReturnsStartingSession_WhenNew()
    {
        var agent = NewAgent();
        var id = Guid.NewGuid();
        var ttl = TimeSpan.FromDays(30);

        var result = await _grains.GetGrain<ISessionGrain>(id).Open(Command(agent, ttl));

        Assert.True(result.Succeeded, result.Message);
        var session = result.Session!;
        Assert.Equal(id, session.SessionId);
        Assert.Equal(agent, session.AgentId);
        Assert.Equal(SessionStatus.Starting, session.Status);
        Assert.Equal(Endpoint, session.Endpoint);
        Assert.Equal("prefix", session.Scope);
        Assert.Equal("test session", session.Label);
        Assert.Equal("0.01", session.MaxPayment);
        Assert.Equal(Now, session.CreatedAt);
        Assert.Equal(session.CreatedAt + ttl, session.ExpiresAt);
        Assert.Null(session.EndedAt);
        Assert.Equal(0, session.CallCount);
        Assert.Null(session.LastUsedAt);
        Assert.Empty(session.Payments);
        Assert.Contains(id, await _grains.GetGrain<IAgentGrain>(agent).ListSessions());
    }

    [Fact]
    public async Task Open_ReturnsAlreadyExistsForOwnerAndNotFoundForOthers_WhenSessionExists()
    {
        var agent = NewAgent();
        var (grain, id, _) = await OpenActiveAsync(_grains, agent);

        var again = await grain.Open(Command(agent));
        var stranger = await grain.Open(Command(NewAgent()));

        Assert.Equal(SessionErrorCode.AlreadyExists, again.Error);
        Assert.Equal(SessionStatus.Active, again.Session!.Status);
        Assert.Equal(SessionResult.Fail(SessionErrorCode.NotFound, NotFoundMessage(id)), stranger);
    }

    [Fact]
    public async Task Activate_MakesSessionActiveWithOneCall_WhenStarting()
    {
        var agent = NewAgent();
        var grain = _grains.GetGrain<ISessionGrain>(Guid.NewGuid());
        await grain.Open(Command(agent));

        var result = await grain.Activate(agent, ReuseMode.SignInWithX, Endpoint + "/data");

        Assert.True(result.Succeeded, result.Message);
        Assert.Equal(SessionStatus.Active, result.Session!.Status);
        Assert.Equal(1, result.Session.CallCount);
        Assert.Equal(Now, result.Session.LastUsedAt);
        Assert.Equal(ReuseMode.SignInWithX, result.Session.Reuse);
        Assert.Equal(Endpoint + "/data", result.Session.ResourceUrl);
    }

    [Fact]
    public async Task Activate_ReturnsInvalidState_WhenAlreadyActive()
    {
        var agent = NewAgent();
        var (grain, _, _) = await OpenActiveAsync(_grains, agent);

        var result = await grain.Activate(agent, ReuseMode.PayPerCall, null);

        Assert.Equal(SessionErrorCode.InvalidState, result.Error);
        Assert.Equal(1, result.Session!.CallCount);
        Assert.Equal(ReuseMode.SignInWithX, result.Session.Reuse);
    }

    [Fact]
    public async Task AuthorizeCall_ReturnsInvalidState_WhenSessionStillStarting()
    {
        var agent = NewAgent();
        var grain = _grains.GetGrain<ISessionGrain>(Guid.NewGuid());
        await grain.Open(Command(agent));

        var ticket = await grain.AuthorizeCall(agent, null);

        Assert.False(ticket.Allowed);
        Assert.Equal(SessionErrorCode.InvalidState, ticket.Error);
    }

    [Theory]
    [InlineData(null, Endpoint)]
    [InlineData(Endpoint, Endpoint)]
    [InlineData(Endpoint + "/", Endpoint + "/")]
    [InlineData(Endpoint + "/items/42?page=2", Endpoint + "/items/42?page=2")]
    [InlineData("https://API.Example.com:443/v1/items", Endpoint + "/items")]
    public async Task AuthorizeCall_AllowsUrl_WhenInsidePrefixScope(string? url, string expectedUrl)
    {
        var agent = NewAgent();
        var (grain, _, _) = await OpenActiveAsync(_grains, agent);

        var ticket = await grain.AuthorizeCall(agent, url);

        Assert.True(ticket.Allowed, ticket.Message);
        Assert.Equal(SessionErrorCode.None, ticket.Error);
        Assert.Equal(expectedUrl, ticket.Url);
        Assert.Equal(Endpoint, ticket.Endpoint);
        Assert.Equal("prefix", ticket.Scope);
        Assert.Equal("0.01", ticket.MaxPayment);
        Assert.Equal(ReuseMode.SignInWithX, ticket.Reuse);
    }

    [Theory]
    [InlineData("https://api.example.com/v10")]
    [InlineData("https://api.example.com/v1x/items")]
    [InlineData("https://api.example.com/")]
    [InlineData("https://api.example.com/v2/items")]
    [InlineData("https://evil.example.com/v1")]
    [InlineData("https://api.example.com.evil.com/v1")]
    [InlineData("http://api.example.com/v1")]
    [InlineData("https://api.example.com:8443/v1")]
    [InlineData("https://api.example.com/v1/../admin")]
    public async Task AuthorizeCall_RefusesOutOfScope_WhenUrlOutsidePrefixScope(string url)
    {
        var agent = NewAgent();
        var (grain, _, _) = await OpenActiveAsync(_grains, agent);

        var ticket = await grain.AuthorizeCall(agent, url);

        Assert.False(ticket.Allowed);
        Assert.Equal(SessionErrorCode.OutOfScope, ticket.Error);
        Assert.Contains("is outside the session's scope (prefix https://api.example.com/v1)", ticket.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("https://user:pw@api.example.com/v1")]
    [InlineData("https://api.example.com/v1#frag")]
    [InlineData("/v1/items")]
    [InlineData("ftp://api.example.com/v1")]
    public async Task AuthorizeCall_RefusesOutOfScope_WhenUrlInvalid(string url)
    {
        var agent = NewAgent();
        var (grain, _, _) = await OpenActiveAsync(_grains, agent);

        var ticket = await grain.AuthorizeCall(agent, url);

        Assert.False(ticket.Allowed);
        Assert.Equal(SessionErrorCode.OutOfScope, ticket.Error);
        Assert.StartsWith("url is invalid: ", ticket.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(Endpoint, true)]
    [InlineData(Endpoint + "?q=1", true)]
    [InlineData(Endpoint + "/items", false)]
    [InlineData("https://api.example.com/v10", false)]
    [InlineData("https://other.example.com/v1", false)]
    public async Task AuthorizeCall_AllowsOnlyEndpointPath_WhenScopeExact(string url, bool allowed)
    {
        var agent = NewAgent();
        var (grain, _, _) = await OpenActiveAsync(_grains, agent, Command(agent, scope: "exact"));

        var ticket = await grain.AuthorizeCall(agent, url);

        Assert.Equal(allowed, ticket.Allowed);
        Assert.Equal(allowed ? SessionErrorCode.None : SessionErrorCode.OutOfScope, ticket.Error);
        Assert.Equal("exact", ticket.Scope);
    }

    [Fact]
    public async Task CompleteCall_IncrementsCallCountAndLastUsedAt_WhenDelivered()
    {
        var agent = NewAgent();
        var (grain, _, activated) = await OpenActiveAsync(_grains, agent);
        fixture.Services.Clock.Advance(TimeSpan.FromMinutes(1));
        var at = Now;

        var completed = await grain.CompleteCall(agent, Delivered(ReuseMode.SignInWithX));
        var status = await grain.GetStatus(agent);

        Assert.True(completed.Succeeded, completed.Message);
        Assert.Equal(2, completed.Session!.CallCount);
        Assert.Equal(at, completed.Session.LastUsedAt);
        Assert.True(at > activated.LastUsedAt);
        Assert.True(status.Succeeded, status.Message);
        Assert.Equal(SessionStatus.Active, status.Session!.Status);
        Assert.Equal(2, status.Session.CallCount);
        Assert.Equal(at, status.Session.LastUsedAt);
    }

    [Fact]
    public async Task CompleteCall_LeavesCallCount_WhenNotDelivered()
    {
        var agent = NewAgent();
        var (grain, _, activated) = await OpenActiveAsync(_grains, agent);

        await grain.CompleteCall(agent, new CallOutcome(false, 502, ReuseMode.Unknown, null));
        var status = await grain.GetStatus(agent);

        Assert.Equal(1, status.Session!.CallCount);
        Assert.Equal(activated.LastUsedAt, status.Session.LastUsedAt);
    }

    [Fact]
    public async Task BeginCall_CountsAndPersistsTheCall_InOneTurn()
    {
        var agent = NewAgent();
        var (grain, _, _) = await OpenActiveAsync(_grains, agent);
        fixture.Services.Clock.Advance(TimeSpan.FromMinutes(1));
        var at = Now;

        var ticket = await grain.BeginCall(agent, Endpoint + "/items/1", Guid.NewGuid());
        await DeactivateAllIdleAsync(_grains);
        var status = await grain.GetStatus(agent);

        Assert.True(ticket.Allowed, ticket.Message);
        Assert.Equal(Endpoint + "/items/1", ticket.Url);
        Assert.Equal(2, ticket.CallCount);
        Assert.Equal(2, status.Session!.CallCount);
        Assert.Equal(at, status.Session.LastUsedAt);
    }

    [Fact]
    public async Task BeginCall_CountsOnce_WhenResentWithTheSameCallId()
    {
        var agent = NewAgent();
        var (grain, _, _) = await OpenActiveAsync(_grains, agent);
        var callId = Guid.NewGuid();

        var first = await grain.BeginCall(agent, null, callId);
        var resent = await grain.BeginCall(agent, null, callId);
        var delivered = await grain.CompleteCall(agent, Delivered() with { CallId = callId });

        Assert.Equal(2, first.CallCount);
        Assert.True(resent.Allowed);
        Assert.Equal(2, resent.CallCount);
        Assert.Equal(2, delivered.Session!.CallCount);
    }

    [Fact]
    public async Task CompleteCall_UncountsOnce_WhenABegunCallGotNoAnswer()
    {
        var agent = NewAgent();
        var (grain, _, _) = await OpenActiveAsync(_grains, agent);
        var callId = Guid.NewGuid();
        await grain.BeginCall(agent, null, callId);
        var undelivered = new CallOutcome(false, 0, ReuseMode.Unknown, null, callId);

        var once = await grain.CompleteCall(agent, undelivered);
        var twice = await grain.CompleteCall(agent, undelivered);

        Assert.Equal(1, once.Session!.CallCount);
        Assert.Equal(1, twice.Session!.CallCount);
    }

    [Fact]
    public async Task BeginCall_DoesNotCount_WhenRefused()
    {
        var agent = NewAgent();
        var (grain, _, _) = await OpenActiveAsync(_grains, agent);

        var outside = await grain.BeginCall(agent, "https://elsewhere.example/x", Guid.NewGuid());
        var stranger = await grain.BeginCall(NewAgent(), null, Guid.NewGuid());

        Assert.Equal(SessionErrorCode.OutOfScope, outside.Error);
        Assert.Equal(SessionErrorCode.NotFound, stranger.Error);
        Assert.Equal(string.Empty, stranger.Endpoint);
        Assert.Equal(1, (await grain.GetStatus(agent)).Session!.CallCount);
    }

    [Fact]
    public async Task CompleteCall_UpdatesReuse_WhenServerReportsAnotherMode()
    {
        var agent = NewAgent();
        var (grain, _, _) = await OpenActiveAsync(_grains, agent);

        var completed = await grain.CompleteCall(agent, Delivered(ReuseMode.PayPerCall));

        Assert.Equal(ReuseMode.PayPerCall, completed.Session!.Reuse);
        Assert.Equal(ReuseMode.PayPerCall, (await grain.AuthorizeCall(agent, null)).Reuse);
    }

    [Fact]
    public async Task SessionOperations_BehaveLikeMissingSession_WhenCalledByAnotherAgent()
    {
        var owner = NewAgent();
        var stranger = NewAgent();
        var (grain, id, _) = await OpenActiveAsync(_grains, owner);
        var missingId = Guid.NewGuid();
        var missing = _grains.GetGrain<ISessionGrain>(missingId);
        var url = Endpoint + "/items";

        // What a session that does not exist answers, with its id replaced by this session's id.
        var missingStatus = await missing.GetStatus(stranger);
        var missingTicket = await missing.AuthorizeCall(stranger, url);
        var missingEnd = await missing.End(stranger);
        var missingPayment = await missing.AuthorizePayment(stranger, Quote("1000"));
        var expectedResult = SessionResult.Fail(SessionErrorCode.NotFound, NotFoundMessage(id));
        Assert.Equal(SessionResult.Fail(SessionErrorCode.NotFound, NotFoundMessage(missingId)), missingStatus);
        Assert.Equal(missingStatus, missingEnd);

        var status = await grain.GetStatus(stranger);
        var ticket = await grain.AuthorizeCall(stranger, url);
        var end = await grain.End(stranger);
        var payment = await grain.AuthorizePayment(stranger, Quote("1000"));
        var complete = await grain.CompleteCall(stranger, Delivered());
        var activate = await grain.Activate(stranger, ReuseMode.Free, null);
        var abandon = await grain.Abandon(stranger, "no");

        Assert.Equal(expectedResult, status);
        Assert.Equal(expectedResult, end);
        Assert.Equal(expectedResult, complete);
        Assert.Equal(expectedResult, activate);
        Assert.Equal(expectedResult, abandon);
        Assert.Equal(missingTicket with { Message = NotFoundMessage(id) }, ticket);
        Assert.Equal(SessionErrorCode.NotFound, ticket.Error);
        Assert.Equal(string.Empty, ticket.Endpoint);
        Assert.Equal(string.Empty, ticket.MaxPayment);
        Assert.Null(ticket.ResourceUrl);
        Assert.Equal(missingPayment with { Message = NotFoundMessage(id) }, payment);
        Assert.Equal(new PaymentDecision(false, Guid.Empty, SessionErrorCode.NotFound, NotFoundMessage(id)), payment);

        // And none of it touched the owner's session.
        var own = await grain.GetStatus(owner);
        Assert.Equal(SessionStatus.Active, own.Session!.Status);
        Assert.Equal(1, own.Session.CallCount);
        Assert.Contains(id, await _grains.GetGrain<IAgentGrain>(owner).ListSessions());
        Assert.True((await grain.AuthorizeCall(owner, url)).Allowed);
    }

    [Fact]
    public async Task AuthorizePayment_Approves_WhenPriceWithinMaxPayment()
    {
        var agent = NewAgent();
        var grain = _grains.GetGrain<ISessionGrain>(Guid.NewGuid());
        await grain.Open(Command(agent, maxPayment: "0.01"));

        var decision = await grain.AuthorizePayment(agent, Quote("10000"));

        Assert.True(decision.Approved, decision.Message);
        Assert.NotEqual(Guid.Empty, decision.ReservationId);
        Assert.Equal(SessionErrorCode.None, decision.Error);
    }

    [Fact]
    public async Task AuthorizePayment_RefusesWithPriceAndLimit_WhenPriceAboveMaxPayment()
    {
        var agent = NewAgent();
        var grain = _grains.GetGrain<ISessionGrain>(Guid.NewGuid());
        await grain.Open(Command(agent, maxPayment: "0.01"));

        var decision = await grain.AuthorizePayment(agent, Quote("10001"));

        Assert.False(decision.Approved);
        Assert.Equal(Guid.Empty, decision.ReservationId);
        Assert.Equal(SessionErrorCode.PaymentRefused, decision.Error);
        Assert.Equal("price 0.010001 USDC exceeds max_payment 0.01 USDC", decision.Message);
        var attempt = Assert.Single(await _grains.GetGrain<IAgentGrain>(agent).ListAttempts(10));
        Assert.Equal(("not_authorized", "10001", decision.Message), (attempt.Outcome, attempt.AmountAtomic, attempt.Reason));
    }

    [Fact]
    public async Task AuthorizePayment_Refuses_WhenActiveAndRepeatPaymentsNotAllowed()
    {
        var agent = NewAgent();
        var (grain, _, _) = await OpenActiveAsync(_grains, agent, Command(agent, allowRepeatPayments: false));

        var decision = await grain.AuthorizePayment(agent, Quote("1"));

        Assert.False(decision.Approved);
        Assert.Equal(SessionErrorCode.PaymentRefused, decision.Error);
        Assert.Contains("does not allow repeat payments", decision.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AuthorizePayment_Approves_WhenActiveAndRepeatPaymentsAllowed()
    {
        var agent = NewAgent();
        var (grain, _, _) = await OpenActiveAsync(_grains, agent, Command(agent, allowRepeatPayments: true));

        var decision = await grain.AuthorizePayment(agent, Quote("1"));

        Assert.True(decision.Approved, decision.Message);
    }

    [Fact]
    public async Task RecordPayment_AddsReceiptOnce_WhenSettled()
    {
        var agent = NewAgent();
        var grain = _grains.GetGrain<ISessionGrain>(Guid.NewGuid());
        await grain.Open(Command(agent));
        var decision = await grain.AuthorizePayment(agent, Quote("10000"));
        var receipt = Receipt("10000", Now);

        await grain.RecordPayment(agent, new PaymentOutcome(decision.ReservationId, true, receipt, null));
        await grain.RecordPayment(agent, new PaymentOutcome(decision.ReservationId, true, receipt, null));

        var payments = (await grain.GetStatus(agent)).Session!.Payments;
        Assert.Equal(new[] { receipt }, payments);
        var attempt = Assert.Single(await _grains.GetGrain<IAgentGrain>(agent).ListAttempts(10));
        Assert.Equal(("settled", receipt.Transaction), (attempt.Outcome, attempt.Transaction));
    }

    [Fact]
    public async Task RecordPayment_KeepsFirstAndNewestReceiptsAndEveryPaymentInTotals_WhenPayingPerCall()
    {
        var agent = NewAgent();
        var grain = _grains.GetGrain<ISessionGrain>(Guid.NewGuid());
        await grain.Open(Command(agent, maxPayment: "0.05", allowRepeatPayments: true) with { MaxTotal = "0.05" });
        var paid = new List<PaymentReceipt>();
        for (var i = 1; i <= 30; i++)
        {
            var decision = await grain.AuthorizePayment(agent, Quote("1000"));
            Assert.True(decision.Approved, decision.Message);
            var receipt = Receipt("1000", Now) with { Transaction = "0x" + i.ToString("x64", System.Globalization.CultureInfo.InvariantCulture) };
            await grain.RecordPayment(agent, new PaymentOutcome(decision.ReservationId, true, receipt, null));
            paid.Add(receipt);
        }

        var session = (await grain.GetStatus(agent)).Session!;
        var overTotal = await grain.AuthorizePayment(agent, Quote("20001"));

        Assert.Equal([paid[0], .. paid.TakeLast(19)], session.Payments);
        var total = Assert.Single(session.PaidTotals);
        Assert.Equal(("30000", 30L), (total.AmountAtomic, total.Payments));
        Assert.False(overTotal.Approved);
        Assert.Contains("max_total", overTotal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RecordPayment_AddsNoReceipt_WhenFailed()
    {
        var agent = NewAgent();
        var grain = _grains.GetGrain<ISessionGrain>(Guid.NewGuid());
        await grain.Open(Command(agent));
        var decision = await grain.AuthorizePayment(agent, Quote("10000"));

        await grain.RecordPayment(agent, new PaymentOutcome(decision.ReservationId, false, null, "facilitator refused"));

        // The reservation is used up: a late "settled" for it is ignored too.
        await grain.RecordPayment(agent, new PaymentOutcome(decision.ReservationId, true, Receipt("10000", Now), null));
        Assert.Empty((await grain.GetStatus(agent)).Session!.Payments);
        var attempt = Assert.Single(await _grains.GetGrain<IAgentGrain>(agent).ListAttempts(10));
        Assert.Equal(("refused", "facilitator refused"), (attempt.Outcome, attempt.Reason));
    }

    [Fact]
    public async Task RecordPayment_IsIgnored_WhenReservationUnknownOrOtherAgent()
    {
        var agent = NewAgent();
        var grain = _grains.GetGrain<ISessionGrain>(Guid.NewGuid());
        await grain.Open(Command(agent));
        var decision = await grain.AuthorizePayment(agent, Quote("10000"));

        await grain.RecordPayment(agent, new PaymentOutcome(Guid.NewGuid(), true, Receipt("10000", Now), null));
        await grain.RecordPayment(NewAgent(), new PaymentOutcome(decision.ReservationId, true, Receipt("10000", Now), null));

        Assert.Empty((await grain.GetStatus(agent)).Session!.Payments);

        // The owner's reservation is still open after both.
        var receipt = Receipt("10000", Now);
        await grain.RecordPayment(agent, new PaymentOutcome(decision.ReservationId, true, receipt, null));
        Assert.Equal(new[] { receipt }, (await grain.GetStatus(agent)).Session!.Payments);
    }

    [Fact]
    public async Task End_EndsSessionAndRefusesCalls_WhenActive()
    {
        var agent = NewAgent();
        var (grain, id, _) = await OpenActiveAsync(_grains, agent);

        var ended = await grain.End(agent);
        var again = await grain.End(agent);
        var ticket = await grain.AuthorizeCall(agent, null);
        var payment = await grain.AuthorizePayment(agent, Quote("1"));

        Assert.True(ended.Succeeded, ended.Message);
        Assert.Equal("ended", ended.Message);
        Assert.Equal(SessionStatus.Ended, ended.Session!.Status);
        Assert.Equal(Now, ended.Session.EndedAt);
        Assert.True(again.Succeeded, again.Message);
        Assert.Equal("already ended", again.Message);
        Assert.Equal(SessionStatus.Ended, again.Session!.Status);
        Assert.False(ticket.Allowed);
        Assert.Equal(SessionErrorCode.Ended, ticket.Error);
        Assert.Equal($"Session {id} was ended; start a new one with x402_session_start.", ticket.Message);
        Assert.Equal(SessionErrorCode.Ended, payment.Error);
        Assert.DoesNotContain(id, await _grains.GetGrain<IAgentGrain>(agent).ListSessions());
    }

    [Fact]
    public async Task End_DeactivatesGrainAndPersistsEnded_WhenActive()
    {
        var agent = NewAgent();
        var (grain, _, _) = await OpenActiveAsync(_grains, agent);
        Assert.Equal(1, await ActivationCountAsync(_grains, grain));

        await grain.End(agent);

        // Deactivation runs after End's turn returns, so wait (bounded) for the activation to go.
        Assert.True(await EventuallyAsync(async () => await ActivationCountAsync(_grains, grain) == 0), "the session grain did not deactivate after End");

        // The next call creates a new activation, which can only know the session ended from storage.
        var status = await grain.GetStatus(agent);
        Assert.Equal(SessionStatus.Ended, status.Session!.Status);
        Assert.Equal(1, status.Session.CallCount);
        Assert.Equal(1, await ActivationCountAsync(_grains, grain));
    }

    [Fact]
    public async Task Abandon_MarksFailedAndHidesSession_WhenStarting()
    {
        var agent = NewAgent();
        var id = Guid.NewGuid();
        var grain = _grains.GetGrain<ISessionGrain>(id);
        await grain.Open(Command(agent));
        var missingTicket = await _grains.GetGrain<ISessionGrain>(Guid.NewGuid()).AuthorizeCall(agent, null);

        var abandoned = await grain.Abandon(agent, "first request failed");
        var end = await grain.End(agent);
        var ticket = await grain.AuthorizeCall(agent, null);
        var payment = await grain.AuthorizePayment(agent, Quote("1"));

        Assert.True(abandoned.Succeeded, abandoned.Message);
        Assert.Equal(SessionStatus.Failed, abandoned.Session!.Status);
        Assert.Equal(Now, abandoned.Session.EndedAt);
        Assert.Equal(SessionResult.Fail(SessionErrorCode.NotFound, NotFoundMessage(id)), end);
        Assert.Equal(missingTicket with { Message = NotFoundMessage(id) }, ticket);
        Assert.Equal(SessionErrorCode.NotFound, payment.Error);
        Assert.DoesNotContain(id, await _grains.GetGrain<IAgentGrain>(agent).ListSessions());
    }

    [Fact]
    public async Task Abandon_ReturnsInvalidState_WhenActive()
    {
        var agent = NewAgent();
        var (grain, id, _) = await OpenActiveAsync(_grains, agent);

        var result = await grain.Abandon(agent, "too late");

        Assert.Equal(SessionErrorCode.InvalidState, result.Error);
        Assert.Equal(SessionStatus.Active, (await grain.GetStatus(agent)).Session!.Status);
        Assert.True((await grain.AuthorizeCall(agent, null)).Allowed);
        Assert.Contains(id, await _grains.GetGrain<IAgentGrain>(agent).ListSessions());
    }

    [Fact]
    public async Task SessionState_SurvivesDeactivation_WithCallsReceiptsAndOpenReservation()
    {
        var agent = NewAgent();
        var grain = _grains.GetGrain<ISessionGrain>(Guid.NewGuid());
        await grain.Open(Command(agent, allowRepeatPayments: true));
        var first = await grain.AuthorizePayment(agent, Quote("10000"));
        var firstReceipt = Receipt("10000", Now);
        await grain.RecordPayment(agent, new PaymentOutcome(first.ReservationId, true, firstReceipt, null));
        await grain.Activate(agent, ReuseMode.PayPerCall, Endpoint + "/data");
        fixture.Services.Clock.Advance(TimeSpan.FromSeconds(30));
        await grain.CompleteCall(agent, Delivered());
        var lastUsed = Now;
        var second = await grain.AuthorizePayment(agent, Quote("5000"));

        await DeactivateAllIdleAsync(_grains);
        Assert.True(await EventuallyAsync(async () => await ActivationCountAsync(_grains, grain) == 0), "the session grain was not deactivated");

        // A new activation: everything below was read back from storage, including the reservation still pending.
        var secondReceipt = Receipt("5000", Now);
        await grain.RecordPayment(agent, new PaymentOutcome(second.ReservationId, true, secondReceipt, null));
        var session = (await grain.GetStatus(agent)).Session!;
        Assert.Equal(SessionStatus.Active, session.Status);
        Assert.Equal(2, session.CallCount);
        Assert.Equal(lastUsed, session.LastUsedAt);
        Assert.Equal(ReuseMode.PayPerCall, session.Reuse);
        Assert.Equal(Endpoint + "/data", session.ResourceUrl);
        Assert.Equal(new[] { firstReceipt, secondReceipt }, session.Payments);
        Assert.True((await grain.AuthorizeCall(agent, Endpoint + "/x")).Allowed);
    }
}
