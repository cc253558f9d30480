using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using X402Orleans.Abstractions;
using X402Orleans.Grains;
using X402Orleans.Grains.Storage;

namespace X402Orleans.Cluster.Tests;

/// <summary>The stored JSON contract of grain state: stable names, no .NET type names, old documents still read.</summary>
public sealed class StateJsonTests
{
    /// <summary>A session as written by schema version 1 (the contract; never edit, only add newer documents).</summary>
    private const string SessionV1 = """
        {"schema_version":1,"agent_id":"agent-a","endpoint":"https://api.example/v1/weather","scope":"prefix","label":"w",
         "status":"active","created_at":"2026-01-02T03:04:05+00:00","expires_at":"2026-01-02T04:04:05+00:00","ended_at":null,
         "call_count":7,"last_used_at":"2026-01-02T03:10:00+00:00","reuse":"sign_in_with_x","max_payment":"0.10",
         "allow_repeat_payments":true,"resource_url":"https://api.example/v1/weather",
         "payments":[{"network":"eip155:84532","asset":"0x036CbD53842c5426634e7929541eC2318f3dCF7e","symbol":"USDC","decimals":6,
           "amount_atomic":"1000","pay_to":"0x209693Bc6afc0C5328bA36FaF03C514EF312287C","payer":"0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
           "transaction":"0xabc","paid_at":"2026-01-02T03:04:06+00:00","simulated":true}],
         "pending":[],"failure_reason":null,"a_member_from_a_newer_writer":{"x":1}}
        """;

    [Fact]
    public void SessionState_V1Document_ReadsWithEveryField()
    {
        var state = new StateJsonSerializer().Deserialize<SessionState>(new BinaryData(Encoding.UTF8.GetBytes(SessionV1)))!;
        Assert.Equal(1, state.SchemaVersion);
        Assert.Equal("agent-a", state.AgentId);
        Assert.Equal(SessionStatus.Active, state.Status);
        Assert.Equal(ReuseMode.SignInWithX, state.Reuse);
        Assert.Equal(7, state.CallCount);
        Assert.Equal(new DateTimeOffset(2026, 1, 2, 4, 4, 5, TimeSpan.Zero), state.ExpiresAt);
        var receipt = Assert.Single(state.Payments);
        Assert.Equal("0xabc", receipt.Transaction);
        Assert.Equal("1000", receipt.AmountAtomic);
        Assert.True(receipt.Simulated);
    }

    [Fact]
    public async Task SessionV1Document_IsServedWithItsTotalsAndCallCount_WhenActivatedFromStorage()
    {
        var app = TestEnvironment.MemoryHost();
        await using (app)
        {
            await app.StartAsync();
            var old = new StateJsonSerializer().Deserialize<SessionState>(new BinaryData(Encoding.UTF8.GetBytes(SessionV1)))!;
            old.ExpiresAt = DateTimeOffset.UtcNow.AddHours(1);
            var grain = app.Services.GetRequiredService<IGrainFactory>().GetGrain<ISessionGrain>(Guid.NewGuid());
            var storage = app.Services.GetRequiredKeyedService<Orleans.Storage.IGrainStorage>(StorageNames.Sessions);
            await storage.WriteStateAsync("session", grain.GetGrainId(), new Orleans.GrainState<SessionState>(old));

            var ticket = await grain.BeginCall("agent-a", null, Guid.NewGuid());
            var session = (await grain.GetStatus("agent-a")).Session!;

            Assert.True(ticket.Allowed, ticket.Message);
            Assert.Equal(8, session.CallCount);
            var total = Assert.Single(session.PaidTotals);
            Assert.Equal(("1000", 1L, "USDC"), (total.AmountAtomic, total.Payments, total.Symbol));
            Assert.Equal("0xabc", Assert.Single(session.Payments).Transaction);
            await app.StopAsync();
        }
    }

    [Fact]
    public void SessionState_RoundTrips_WithoutTypeNames()
    {
        var serializer = new StateJsonSerializer();
        var state = new StateJsonSerializer().Deserialize<SessionState>(new BinaryData(Encoding.UTF8.GetBytes(SessionV1)))!;
        state.Pending.Add(new PendingPayment
        {
            ReservationId = Guid.NewGuid(),
            AuthorizedAt = DateTimeOffset.UnixEpoch,
            Quote = new PaymentQuote("eip155:84532", "0xasset", "USDC", 6, "1000", "0xpay", "https://api.example/v1/weather"),
        });
        var json = serializer.Serialize(state).ToString();

        Assert.DoesNotContain("$type", json, StringComparison.Ordinal);
        Assert.DoesNotContain("X402Orleans", json, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", json, StringComparison.Ordinal);
        Assert.Contains("\"status\":\"active\"", json, StringComparison.Ordinal);
        Assert.Contains("\"reuse\":\"sign_in_with_x\"", json, StringComparison.Ordinal);
        Assert.StartsWith("{\"schema_version\":1,", json, StringComparison.Ordinal);

        var back = serializer.Deserialize<SessionState>(serializer.Serialize(state))!;
        Assert.Equal(serializer.Serialize(state).ToString(), serializer.Serialize(back).ToString());
        Assert.Equal(state.Pending[0].Quote, back.Pending[0].Quote);
    }

    [Fact]
    public void AgentState_KeepsDictionaryKeysVerbatim()
    {
        var serializer = new StateJsonSerializer();
        var state = new AgentState();
        var id = Guid.NewGuid();
        state.Sessions.Add(id);
        state.IdempotencyKeys["Run-42/ABC"] = new IdempotencyEntry { SessionId = id, Fingerprint = "F0" };
        var json = serializer.Serialize(state).ToString();
        Assert.Contains("\"Run-42/ABC\"", json, StringComparison.Ordinal);
        var back = serializer.Deserialize<AgentState>(new BinaryData(Encoding.UTF8.GetBytes(json)))!;
        Assert.Equal(id, back.IdempotencyKeys["Run-42/ABC"].SessionId);
        Assert.Contains(id, back.Sessions);
    }
}
