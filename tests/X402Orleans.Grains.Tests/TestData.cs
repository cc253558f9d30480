using System.Diagnostics;
using Orleans.Runtime;
using X402Orleans.Abstractions;

namespace X402Orleans.Grains.Tests;

/// <summary>Inputs and small helpers shared by the grain tests.</summary>
internal static class TestData
{
    public const string Endpoint = "https://api.example.com/v1";

    public const string Usdc = "USDC";

    /// <summary>The event id of the session grain's "expired" log line.</summary>
    public const int ExpiredEventId = 3;

    /// <summary>A fresh agent id, so tests never share an agent index.</summary>
    public static string NewAgent() => "agent-" + Guid.NewGuid().ToString("N");

    public static OpenSessionCommand Command(
        string agentId,
        TimeSpan? ttl = null,
        string scope = "prefix",
        string maxPayment = "0.01",
        bool allowRepeatPayments = false) =>
        new(agentId, Endpoint, scope, "test session", ttl ?? TimeSpan.FromDays(30), maxPayment, allowRepeatPayments);

    /// <summary>A USDC (6 decimals) quote of <paramref name="amountAtomic"/> atomic units.</summary>
    public static PaymentQuote Quote(string amountAtomic) =>
        new("eip155:84532", "0x036CbD53842c5426634e7929541eC2318f3dCF7e", Usdc, 6, amountAtomic, "0x209693Bc6afc0C5328bA36FaF03C514EF312287C", Endpoint + "/data");

    public static PaymentReceipt Receipt(string amountAtomic, DateTimeOffset paidAt) =>
        new("eip155:84532", "0x036CbD53842c5426634e7929541eC2318f3dCF7e", Usdc, 6, amountAtomic, "0x209693Bc6afc0C5328bA36FaF03C514EF312287C",
            "0x857b06519E91e3A54538791bDbb0E22373e36b66", "0x" + new string('a', 64), paidAt, Simulated: true);

    public static CallOutcome Delivered(ReuseMode reuse = ReuseMode.Unknown, string? resourceUrl = null) => new(true, 200, reuse, resourceUrl);

    /// <summary>An outcome that changes nothing: <see cref="ISessionGrain.CompleteCall"/> with it reads the session without a clock check.</summary>
    public static CallOutcome NotDelivered { get; } = new(false, 0, ReuseMode.Unknown, null);

    public static string NotFoundMessage(Guid sessionId) => $"Session not found: {sessionId}";

    /// <summary>Opens and activates a session for <paramref name="agentId"/>; returns its grain and activation snapshot.</summary>
    public static async Task<(ISessionGrain Grain, Guid Id, SessionSnapshot Session)> OpenActiveAsync(
        IGrainFactory grains, string agentId, OpenSessionCommand? command = null)
    {
        var id = Guid.NewGuid();
        var grain = grains.GetGrain<ISessionGrain>(id);
        var opened = await grain.Open(command ?? Command(agentId));
        Assert.True(opened.Succeeded, opened.Message);
        var activated = await grain.Activate(agentId, ReuseMode.SignInWithX, Endpoint + "/data");
        Assert.True(activated.Succeeded, activated.Message);
        return (grain, id, activated.Session!);
    }

    /// <summary>How many activations of <paramref name="grain"/> the cluster has (0 when deactivated).</summary>
    public static Task<int> ActivationCountAsync(IGrainFactory grains, IAddressable grain) =>
        grains.GetGrain<IManagementGrain>(0).GetGrainActivationCount((GrainReference)grain);

    /// <summary>Deactivates every idle activation in the cluster and waits until it is done.</summary>
    public static Task DeactivateAllIdleAsync(IGrainFactory grains) =>
        grains.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);

    /// <summary>
    /// Re-checks an observable condition until it holds, for something that happens asynchronously in the silo after the
    /// call that caused it returned (a grain timer's turn, a deactivation). Bounded by wall time (and attempts); it never
    /// waits a fixed time, and each attempt is a grain call, so it ends as soon as the effect is visible.
    /// </summary>
    public static async Task<bool> EventuallyAsync(Func<Task<bool>> condition)
    {
        const int maxAttempts = 100_000;
        var limit = TimeSpan.FromSeconds(30);
        var watch = Stopwatch.StartNew();
        for (var attempt = 0; attempt < maxAttempts && watch.Elapsed < limit; attempt++)
        {
            if (await condition())
            {
                return true;
            }

            await Task.Yield();
        }

        return await condition();
    }
}
