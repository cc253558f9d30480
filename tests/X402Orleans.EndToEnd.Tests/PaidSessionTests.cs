using System.Globalization;
using System.Numerics;
using System.Text.Json;
using X402Orleans.EndToEnd.Tests.Infrastructure;

namespace X402Orleans.EndToEnd.Tests;

/// <summary>
/// Sessions against the official x402 server and facilitator on the local chain, driven by the C# MCP client. Truth is read from the
/// chain (token balances, receipts) and from what the official servers observed (settlements, sign-in-with-x grants, requests served).
/// </summary>
[Collection(StackCollection.Name)]
public sealed class PaidSessionTests(StackFixture fixture)
{
    private X402Stack Stack => fixture.Stack;

    [Fact]
    public async Task SignInWithXRoute_PaysOnceOnChain_ThenReusesBySignInWithoutSettling()
    {
        var ns = StackFixture.NewNamespace();
        var prefix = $"/api/{ns}/";
        var endpoint = Stack.MainServer + $"/api/{ns}/weather";
        var payTo = Stack.PayTo("main");
        var ledger = await Ledger.TakeAsync(Stack, fixture.Payer.Address, payTo, Stack.FacilitatorAddress);
        var price = Stack.Price("weather");

        var start = (await fixture.Client.StartAsync(endpoint)).Ok();

        Assert.Equal("sign-in-with-x", start.Str("reuse"));
        Assert.True(start["sign_in_with_x_offered"].GetBoolean());
        var payment = start["payment"];
        Assert.Equal(price.ToString(CultureInfo.InvariantCulture), payment.GetProperty("amount_atomic").GetString());
        Assert.Equal("0.001", payment.GetProperty("amount").GetString());
        Assert.Equal(Stack.Network, payment.GetProperty("network").GetString());
        Assert.Equal(Stack.Token, payment.GetProperty("asset").GetString(), ignoreCase: true);
        Assert.Equal(payTo, payment.GetProperty("pay_to").GetString(), ignoreCase: true);
        Assert.Equal(fixture.Payer.Address, payment.GetProperty("payer").GetString(), ignoreCase: true);
        Assert.False(payment.GetProperty("simulated").GetBoolean());
        await AssertMinedTransferAsync(payment.GetProperty("transaction").GetString()!);
        Assert.Equal(200, start["response"].GetProperty("status").GetInt32());
        Assert.Equal(-price, await ledger.DeltaAsync(fixture.Payer.Address));
        Assert.Equal(price, await ledger.DeltaAsync(payTo));

        var sessionId = start.Str("session_id");
        for (var call = 2; call <= 4; call++)
        {
            var fetch = (await fixture.Client.FetchAsync(sessionId)).Ok();
            Assert.Equal("sign-in-with-x", fetch.Str("access"));
            Assert.Equal(JsonValueKind.Null, fetch["payment"].ValueKind);
            Assert.Equal(200, fetch["status"].GetInt32());
            Assert.Equal(call, fetch["call_count"].GetInt64());
        }

        // the chain moved by exactly one price, once; the facilitator paid the gas, not the payer
        Assert.Equal(-price, await ledger.DeltaAsync(fixture.Payer.Address));
        Assert.Equal(price, await ledger.DeltaAsync(payTo));
        Assert.Equal(BigInteger.Zero, await ledger.DeltaAsync(Stack.FacilitatorAddress));

        var stats = await Stack.GetStatsAsync();
        var settlement = Assert.Single(stats.Settlements("main", prefix));
        Assert.Equal(payment.GetProperty("transaction").GetString(), settlement["transaction"]!.GetValue<string>());
        Assert.Equal(endpoint, settlement["resource"]!.GetValue<string>());
        Assert.Single(stats.SignInEvents("main", "payment_recorded", prefix));
        Assert.Equal(3, stats.SignInEvents("main", "access_granted", prefix).Count);
        Assert.Equal(4, stats.Delivered("main", prefix));
        Assert.All(stats.Served("main", prefix).Skip(1), s => Assert.True(s["signedIn"]!.GetValue<bool>() && !s["paid"]!.GetValue<bool>()));

        var end = (await fixture.Client.EndAsync(sessionId)).Ok();
        Assert.Equal("ended", end.Str("outcome"));
        Assert.Equal(4, end["call_count"].GetInt64());
        var total = Assert.Single(end["total_paid"].EnumerateArray());
        Assert.Equal(price.ToString(CultureInfo.InvariantCulture), total.GetProperty("amount_atomic").GetString());
    }

    [Fact]
    public async Task PayPerCallRoute_SettlesEveryCall_AndServerCountEqualsCallCount()
    {
        var ns = StackFixture.NewNamespace();
        var prefix = $"/api/{ns}/";
        var endpoint = Stack.MainServer + $"/api/{ns}/quote";
        var payTo = Stack.PayTo("main");
        var ledger = await Ledger.TakeAsync(Stack, fixture.Payer.Address, payTo);
        var price = Stack.Price("quote");

        var start = (await fixture.Client.StartAsync(endpoint)).Ok();
        Assert.Equal("pay-per-call", start.Str("reuse"));
        Assert.False(start["sign_in_with_x_offered"].GetBoolean());
        var sessionId = start.Str("session_id");
        var transactions = new List<string> { start["payment"].GetProperty("transaction").GetString()! };
        for (var call = 2; call <= 3; call++)
        {
            var fetch = (await fixture.Client.FetchAsync(sessionId)).Ok();
            Assert.Equal("paid", fetch.Str("access"));
            Assert.Equal(price.ToString(CultureInfo.InvariantCulture), fetch["payment"].GetProperty("amount_atomic").GetString());
            Assert.Equal(call, fetch["call_count"].GetInt64());
            transactions.Add(fetch["payment"].GetProperty("transaction").GetString()!);
        }

        Assert.Equal(3, transactions.Distinct(StringComparer.OrdinalIgnoreCase).Count());
        foreach (var transaction in transactions)
        {
            await AssertMinedTransferAsync(transaction);
        }

        Assert.Equal(-3 * price, await ledger.DeltaAsync(fixture.Payer.Address));
        Assert.Equal(3 * price, await ledger.DeltaAsync(payTo));
        var stats = await Stack.GetStatsAsync();
        Assert.Equal(3, stats.Settlements("main", prefix).Count);
        Assert.Empty(stats.SignInEvents("main", "access_granted", prefix));

        var status = (await fixture.Client.StatusAsync(sessionId)).Ok();
        var session = Assert.Single(status["sessions"].EnumerateArray());
        Assert.Equal(stats.Delivered("main", prefix), session.GetProperty("call_count").GetInt64());
        Assert.Equal(3, session.GetProperty("payments").GetArrayLength());
        Assert.Equal((3 * price).ToString(CultureInfo.InvariantCulture), Assert.Single(session.GetProperty("total_paid").EnumerateArray()).GetProperty("amount_atomic").GetString());
        (await fixture.Client.EndAsync(sessionId)).Ok();
    }

    [Theory]
    [InlineData("weather", "0.001")]
    [InlineData("premium", "0.05")]
    [InlineData("quote", "0.002")]
    public async Task Start_PaysExactlyTheRoutesPrice(string route, string amount)
    {
        var ns = StackFixture.NewNamespace();
        var payTo = Stack.PayTo("main");
        var ledger = await Ledger.TakeAsync(Stack, fixture.Payer.Address, payTo);

        var start = (await fixture.Client.StartAsync(Stack.MainServer + $"/api/{ns}/{route}")).Ok();

        Assert.Equal(amount, start["payment"].GetProperty("amount").GetString());
        Assert.Equal(-Stack.Price(route), await ledger.DeltaAsync(fixture.Payer.Address));
        Assert.Equal(Stack.Price(route), await ledger.DeltaAsync(payTo));
        Assert.Single((await Stack.GetStatsAsync()).Settlements("main", $"/api/{ns}/"));
        (await fixture.Client.EndAsync(start.Str("session_id"))).Ok();
    }

    [Fact]
    public async Task PostWithBody_IsPaidOnce_AndEveryBodyReachesTheServer()
    {
        var ns = StackFixture.NewNamespace();
        var prefix = $"/api/{ns}/";
        var endpoint = Stack.MainServer + $"/api/{ns}/echo";
        var payTo = Stack.PayTo("main");
        var ledger = await Ledger.TakeAsync(Stack, fixture.Payer.Address, payTo);

        var start = (await fixture.Client.StartAsync(endpoint, new() { ["method"] = "POST", ["body"] = """{"question":"first"}""" })).Ok();
        Assert.Equal("sign-in-with-x", start.Str("reuse"));
        using (var first = JsonDocument.Parse(start["response"].GetProperty("body").GetString()!))
        {
            Assert.Equal("POST", first.RootElement.GetProperty("method").GetString());
            Assert.Equal("""{"question":"first"}""", first.RootElement.GetProperty("body").GetString());
        }

        var fetch = (await fixture.Client.FetchAsync(start.Str("session_id"), more: new() { ["method"] = "POST", ["body"] = """{"question":"second"}""" })).Ok();
        Assert.Equal("sign-in-with-x", fetch.Str("access"));
        using (var second = JsonDocument.Parse(fetch.Str("body")))
        {
            Assert.Equal("""{"question":"second"}""", second.RootElement.GetProperty("body").GetString());
        }

        Assert.Equal(-Stack.Price("echo"), await ledger.DeltaAsync(fixture.Payer.Address));
        Assert.Equal(Stack.Price("echo"), await ledger.DeltaAsync(payTo));
        var stats = await Stack.GetStatsAsync();
        Assert.Single(stats.Settlements("main", prefix));
        Assert.Equal(2, stats.Delivered("main", prefix));
        (await fixture.Client.EndAsync(start.Str("session_id"))).Ok();
    }

    [Fact]
    public async Task PerPathRoute_PaysOncePerPath_AndReusesEachPaidPathBySignIn()
    {
        var ns = StackFixture.NewNamespace();
        var prefix = $"/api/{ns}/";
        var payTo = Stack.PayTo("main");
        var ledger = await Ledger.TakeAsync(Stack, fixture.Payer.Address, payTo);
        var price = Stack.Price("item");

        // the collection itself is not paywalled: the session starts free and pays per item below it
        var start = (await fixture.Client.StartAsync(Stack.MainServer + $"/api/{ns}/items")).Ok();
        Assert.Equal(JsonValueKind.Null, start["payment"].ValueKind);
        Assert.Equal("no payment required", start.Str("payment_note"));
        var sessionId = start.Str("session_id");

        string Item(int id) => Stack.MainServer + $"/api/{ns}/items/{id}";
        var accesses = new List<string>();
        foreach (var url in new[] { Item(1), Item(1), Item(2), Item(2), Item(1) })
        {
            accesses.Add((await fixture.Client.FetchAsync(sessionId, url)).Ok().Str("access"));
        }

        Assert.Equal(["paid", "sign-in-with-x", "paid", "sign-in-with-x", "sign-in-with-x"], accesses);
        Assert.Equal(-2 * price, await ledger.DeltaAsync(fixture.Payer.Address));
        Assert.Equal(2 * price, await ledger.DeltaAsync(payTo));
        var stats = await Stack.GetStatsAsync();
        Assert.Equal([Item(1), Item(2)], stats.Settlements("main", prefix).Select(s => s["resource"]!.GetValue<string>()));
        var end = (await fixture.Client.EndAsync(sessionId)).Ok();
        Assert.Equal(6, end["call_count"].GetInt64());
        Assert.Equal(stats.Delivered("main", prefix), end["call_count"].GetInt64());
    }

    [Fact]
    public async Task SignInOnlyRoute_GrantsAccessBySignIn_WithoutAnyPayment()
    {
        var ns = StackFixture.NewNamespace();
        var prefix = $"/api/{ns}/";
        var ledger = await Ledger.TakeAsync(Stack, fixture.Payer.Address, Stack.PayTo("main"));

        var start = (await fixture.Client.StartAsync(Stack.MainServer + $"/api/{ns}/profile")).Ok();
        Assert.Equal(JsonValueKind.Null, start["payment"].ValueKind);
        Assert.Equal("sign-in-with-x", start.Str("reuse"));
        Assert.Equal(200, start["response"].GetProperty("status").GetInt32());
        var fetch = (await fixture.Client.FetchAsync(start.Str("session_id"))).Ok();
        Assert.Equal("sign-in-with-x", fetch.Str("access"));

        await ledger.AssertUnchangedAsync();
        var stats = await Stack.GetStatsAsync();
        Assert.Empty(stats.Settlements("main", prefix));
        Assert.Equal(2, stats.SignInEvents("main", "access_granted", prefix).Count);
        Assert.Equal(2, stats.Delivered("main", prefix));
        (await fixture.Client.EndAsync(start.Str("session_id"))).Ok();
    }

    [Fact]
    public async Task SingleUseNonceServer_ReusesBySignIn_ReSigningWhenAProofWasSpent()
    {
        var ns = StackFixture.NewNamespace();
        var prefix = $"/api/{ns}/";
        var payTo = Stack.PayTo("strict");
        var ledger = await Ledger.TakeAsync(Stack, fixture.Payer.Address, payTo);

        var start = (await fixture.Client.StartAsync(Stack.StrictServer + $"/api/{ns}/weather")).Ok();
        var sessionId = start.Str("session_id");
        for (var call = 2; call <= 4; call++)
        {
            var fetch = (await fixture.Client.FetchAsync(sessionId)).Ok();
            Assert.Equal("sign-in-with-x", fetch.Str("access"));
            Assert.Equal(call, fetch["call_count"].GetInt64());
        }

        Assert.Equal(-Stack.Price("weather"), await ledger.DeltaAsync(fixture.Payer.Address));
        Assert.Equal(Stack.Price("weather"), await ledger.DeltaAsync(payTo));
        var stats = await Stack.GetStatsAsync();
        Assert.Single(stats.Settlements("strict", prefix));
        Assert.Equal(3, stats.SignInEvents("strict", "access_granted", prefix).Count);
        Assert.Equal(4, stats.Delivered("strict", prefix));
        (await fixture.Client.EndAsync(sessionId)).Ok();
    }

    [Fact]
    public async Task V1Server_PaysWithXPayment_OnChain_EveryCall()
    {
        var ns = StackFixture.NewNamespace();
        var prefix = $"/v1/{ns}/";
        var payTo = Stack.PayTo("v1");
        var ledger = await Ledger.TakeAsync(Stack, fixture.Payer.Address, payTo);
        var price = Stack.Price("v1");

        var start = (await fixture.Client.StartAsync(Stack.V1Server + $"/v1/{ns}/weather")).Ok();
        Assert.Equal("pay-per-call", start.Str("reuse"));
        Assert.Equal(price.ToString(CultureInfo.InvariantCulture), start["payment"].GetProperty("amount_atomic").GetString());
        await AssertMinedTransferAsync(start["payment"].GetProperty("transaction").GetString()!);
        var fetch = (await fixture.Client.FetchAsync(start.Str("session_id"))).Ok();
        Assert.Equal("paid", fetch.Str("access"));
        Assert.Equal(2, fetch["call_count"].GetInt64());

        Assert.Equal(-2 * price, await ledger.DeltaAsync(fixture.Payer.Address));
        Assert.Equal(2 * price, await ledger.DeltaAsync(payTo));
        var stats = await Stack.GetStatsAsync();
        Assert.Equal(2, stats.Settlements("v1", prefix).Count);
        Assert.Equal(2, stats.Delivered("v1", prefix));
        (await fixture.Client.EndAsync(start.Str("session_id"))).Ok();
    }

    private async Task AssertMinedTransferAsync(string transaction)
    {
        Assert.Matches("^0x[0-9a-fA-F]{64}$", transaction);
        var receipt = await Stack.Chain.ReceiptAsync(transaction);
        Assert.NotNull(receipt);
        Assert.Equal("0x1", receipt!["status"]!.GetValue<string>());
        Assert.Equal(Stack.Token, receipt["to"]!.GetValue<string>(), ignoreCase: true);
    }
}
