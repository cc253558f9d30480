using X402Orleans.EndToEnd.Tests.Infrastructure;
using Xunit.Abstractions;

namespace X402Orleans.EndToEnd.Tests;

/// <summary>
/// What goes wrong in the real world, against the official server and facilitator: each failure is an isError result that says why,
/// nothing moves on the chain, nothing is recorded as paid, and the session (if one existed) is left as it was.
/// </summary>
[Collection(StackCollection.Name)]
public sealed class FailureTests(StackFixture fixture, ITestOutputHelper output)
{
    private X402Stack Stack => fixture.Stack;

    [Fact]
    public async Task UnfundedWallet_FacilitatorRefusesForInsufficientBalance_NothingPaid()
    {
        var ns = StackFixture.NewNamespace();
        var prefix = $"/api/{ns}/";
        var payTo = Stack.PayTo("main");
        await using var poorHost = await EmbeddedGateway.StartAsync(Stack, Stack.UnfundedWallet);
        await using var client = await poorHost.ConnectAsync();
        var ledger = await Ledger.TakeAsync(Stack, Stack.UnfundedWallet.Address, payTo);

        var error = (await client.StartAsync(Stack.MainServer + $"/api/{ns}/weather")).Error();

        output.WriteLine(error);

        Assert.Contains("session not started", error, StringComparison.Ordinal);
        Assert.Contains("refused the payment", error, StringComparison.Ordinal);
        Assert.Contains("insufficient_balance", error, StringComparison.Ordinal);
        await ledger.AssertUnchangedAsync();
        var stats = await Stack.GetStatsAsync();
        Assert.Empty(stats.Settlements("main", prefix));
        Assert.Equal(0, stats.Delivered("main", prefix));
        await AssertNoActiveSessionAsync(client, ns);
    }

    [Fact]
    public async Task PriceAboveMaxPayment_RefusedBeforeAnythingIsSigned()
    {
        var ns = StackFixture.NewNamespace();
        var ledger = await Ledger.TakeAsync(Stack, fixture.Payer.Address, Stack.PayTo("main"));
        var verifiesBefore = (await Stack.GetStatsAsync()).Json["facilitator"]!["verify"]!.AsArray().Count;

        var error = (await fixture.Client.StartAsync(Stack.MainServer + $"/api/{ns}/premium", new() { ["max_payment"] = "0.01" })).Error();

        output.WriteLine(error);

        Assert.Contains("exceeds max_payment 0.01", error, StringComparison.Ordinal);
        Assert.Contains("0.05", error, StringComparison.Ordinal);
        await ledger.AssertUnchangedAsync();
        var stats = await Stack.GetStatsAsync();
        Assert.Equal(verifiesBefore, stats.Json["facilitator"]!["verify"]!.AsArray().Count);
        Assert.Empty(stats.Served("main", $"/api/{ns}/"));
        await AssertNoActiveSessionAsync(fixture.Client, ns);
    }

    [Fact]
    public async Task UnsupportedNetwork_RefusedWithTheNetworkNamed()
    {
        var ns = StackFixture.NewNamespace();
        var ledger = await Ledger.TakeAsync(Stack, fixture.Payer.Address, Stack.PayTo("main"));

        var error = (await fixture.Client.StartAsync(Stack.MainServer + $"/api/{ns}/mainnet")).Error();

        output.WriteLine(error);

        Assert.Contains("network eip155:8453 is not allowed", error, StringComparison.Ordinal);
        await ledger.AssertUnchangedAsync();
        Assert.Empty((await Stack.GetStatsAsync()).Served("main", $"/api/{ns}/"));
        await AssertNoActiveSessionAsync(fixture.Client, ns);
    }

    [Fact]
    public async Task UnsupportedAsset_RefusedWithTheAssetNamed_ThoughTheWalletHoldsIt()
    {
        var ns = StackFixture.NewNamespace();
        var ledger = await Ledger.TakeOfTokenAsync(Stack, Stack.OtherToken, fixture.Payer.Address, Stack.PayTo("main"));
        Assert.True(await Stack.BalanceAsync(fixture.Payer.Address, Stack.OtherToken) > 0);

        var error = (await fixture.Client.StartAsync(Stack.MainServer + $"/api/{ns}/other-asset")).Error();

        output.WriteLine(error);

        Assert.Contains($"asset {Stack.OtherToken}", error, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("not an allowed asset", error, StringComparison.Ordinal);
        await ledger.AssertUnchangedAsync();
        Assert.Empty((await Stack.GetStatsAsync()).Served("main", $"/api/{ns}/"));
        await AssertNoActiveSessionAsync(fixture.Client, ns);
    }

    [Fact]
    public async Task Garbage402_IsErrorWithTheReason()
    {
        var ns = StackFixture.NewNamespace();
        var ledger = await Ledger.TakeAsync(Stack, fixture.Payer.Address);

        var error = (await fixture.Client.StartAsync(Stack.MainServer + $"/garbage/{ns}")).Error();

        output.WriteLine(error);

        Assert.Contains("402 without readable payment requirements", error, StringComparison.Ordinal);
        await ledger.AssertUnchangedAsync();
        await AssertNoActiveSessionAsync(fixture.Client, ns);
    }

    [Fact]
    public async Task HandlerFailsAfterPayment_ServerCancelsSettlement_NothingRecordedAsPaid()
    {
        var ns = StackFixture.NewNamespace();
        var prefix = $"/api/{ns}/";
        var ledger = await Ledger.TakeAsync(Stack, fixture.Payer.Address, Stack.PayTo("main"));

        var error = (await fixture.Client.StartAsync(Stack.MainServer + $"/api/{ns}/broken")).Error();
        output.WriteLine(error);

        Assert.Contains("session not started", error, StringComparison.Ordinal);
        Assert.Contains("500", error, StringComparison.Ordinal);
        await ledger.AssertUnchangedAsync();
        var stats = await Stack.GetStatsAsync();
        Assert.Empty(stats.Settlements("main", prefix));
        Assert.Equal(500, Assert.Single(stats.Served("main", prefix))["status"]!.GetValue<int>());
        await AssertNoActiveSessionAsync(fixture.Client, ns);
    }

    [Fact]
    public async Task FacilitatorDown_AtStart_IsError_NothingPaid_ThenWorksWhenBack()
    {
        var ns = StackFixture.NewNamespace();
        var prefix = $"/api/{ns}/";
        var endpoint = Stack.StrictServer + $"/api/{ns}/quote";
        var payTo = Stack.PayTo("strict");
        var ledger = await Ledger.TakeAsync(Stack, fixture.Payer.Address, payTo);

        await Stack.SetSwitchableFacilitatorAsync(up: false);
        string error;
        try
        {
            error = (await fixture.Client.StartAsync(endpoint)).Error();
            output.WriteLine(error);
        }
        finally
        {
            await Stack.SetSwitchableFacilitatorAsync(up: true);
        }

        Assert.Contains("session not started", error, StringComparison.Ordinal);
        await ledger.AssertUnchangedAsync();
        var stats = await Stack.GetStatsAsync();
        Assert.Empty(stats.Settlements("strict", prefix));
        Assert.Equal(0, stats.Delivered("strict", prefix));
        await AssertNoActiveSessionAsync(fixture.Client, ns);

        var start = (await fixture.Client.StartAsync(endpoint)).Ok();
        Assert.Equal(-Stack.Price("quote"), await ledger.DeltaAsync(fixture.Payer.Address));
        (await fixture.Client.EndAsync(start.Str("session_id"))).Ok();
    }

    [Fact]
    public async Task FacilitatorDown_DuringAPaidCall_IsError_SessionKeepsItsCountsAndPayments()
    {
        var ns = StackFixture.NewNamespace();
        var prefix = $"/api/{ns}/";
        var payTo = Stack.PayTo("strict");
        var price = Stack.Price("quote");
        var ledger = await Ledger.TakeAsync(Stack, fixture.Payer.Address, payTo);
        var start = (await fixture.Client.StartAsync(Stack.StrictServer + $"/api/{ns}/quote")).Ok();
        var sessionId = start.Str("session_id");

        await Stack.SetSwitchableFacilitatorAsync(up: false);
        string error;
        try
        {
            error = (await fixture.Client.FetchAsync(sessionId)).Error();
            output.WriteLine(error);
        }
        finally
        {
            await Stack.SetSwitchableFacilitatorAsync(up: true);
        }

        Assert.DoesNotContain("temporarily unavailable", error, StringComparison.Ordinal);
        Assert.Equal(-price, await ledger.DeltaAsync(fixture.Payer.Address));
        var session = Assert.Single((await fixture.Client.StatusAsync(sessionId)).Ok()["sessions"].EnumerateArray());
        Assert.Equal("active", session.GetProperty("status").GetString());
        Assert.Equal(1, session.GetProperty("call_count").GetInt64());
        Assert.Equal(1, session.GetProperty("payments").GetArrayLength());
        var stats = await Stack.GetStatsAsync();
        Assert.Single(stats.Settlements("strict", prefix));
        Assert.Equal(1, stats.Delivered("strict", prefix));

        // back up: the same session pays for the next call as before
        var fetch = (await fixture.Client.FetchAsync(sessionId)).Ok();
        Assert.Equal("paid", fetch.Str("access"));
        Assert.Equal(2, fetch["call_count"].GetInt64());
        Assert.Equal(-2 * price, await ledger.DeltaAsync(fixture.Payer.Address));
        Assert.Equal(2 * price, await ledger.DeltaAsync(payTo));
        (await fixture.Client.EndAsync(sessionId)).Ok();
    }

    private static async Task AssertNoActiveSessionAsync(ModelContextProtocol.Client.McpClient client, string ns)
    {
        // a start that failed leaves no live session behind for the agent (and none with a payment)
        var status = (await client.StatusAsync()).Ok();
        Assert.DoesNotContain(status["sessions"].EnumerateArray(), s => s.GetProperty("endpoint").GetString()!.Contains(ns, StringComparison.Ordinal));
    }
}
