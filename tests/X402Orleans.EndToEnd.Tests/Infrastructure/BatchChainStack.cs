using System.Globalization;
using System.Net.Http.Json;
using System.Numerics;
using System.Text.Json.Nodes;

namespace X402Orleans.EndToEnd.Tests.Infrastructure;

/// <summary>
/// The batch-settlement chain from <c>tests/interop/batch-chain.mjs</c> (script mode), as a child process: anvil with our
/// x402BatchSettlement and ERC3009DepositCollector at their canonical addresses, our token, and the OFFICIAL batch-settlement
/// facilitator over HTTP (it makes deposits and claims on chain and signs claims with <see cref="ReceiverAuthorizer"/>). No resource
/// server: a test plays the server's part through the facilitator (<see cref="SettleAsync"/>).
/// </summary>
public sealed class BatchChainStack : NodeStack
{
    private BatchChainStack(Launched launched)
        : base(launched)
    {
    }

    /// <summary>The x402BatchSettlement contract (canonical address).</summary>
    public string BatchSettlement => Text("batchSettlement");

    /// <summary>The receiver authorizer the facilitator signs claims and refunds with.</summary>
    public string ReceiverAuthorizer => Info["receiverAuthorizer"]!["address"]!.GetValue<string>();

    /// <summary>Starts the chain and waits for its ready line.</summary>
    public static async Task<BatchChainStack> StartAsync() =>
        new(await LaunchAsync("batch-chain.mjs", new JsonObject { ["fundedWallets"] = 1, ["unapprovedWallets"] = 0 }));

    /// <summary>The amount of the withdrawal pending on chain for channel <paramref name="key"/> (<c>network/channelId</c>; 0: none), read raw.</summary>
    public async Task<BigInteger> PendingWithdrawalAsync(string key)
    {
        const string PendingWithdrawals = "0xb7f06ebe"; // pendingWithdrawals(bytes32) → (uint128 amount, uint40 initiatedAt)
        var words = await Chain.EthCallAsync(BatchSettlement, PendingWithdrawals + key[(key.LastIndexOf('/') + 3)..]);
        return BigInteger.Parse("0" + words[2..66], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
    }

    /// <summary>POSTs <c>/settle</c> to the official facilitator; returns its answer (fails unless it succeeded).</summary>
    public async Task<JsonObject> SettleAsync(JsonObject paymentPayload, JsonObject paymentRequirements)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        using var response = await http.PostAsJsonAsync(FacilitatorUrl + "/settle", new JsonObject { ["paymentPayload"] = paymentPayload, ["paymentRequirements"] = paymentRequirements });
        var answer = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.True(response.IsSuccessStatusCode && answer["success"]?.GetValue<bool>() == true, $"the facilitator did not settle: {answer.ToJsonString()}");
        return answer;
    }
}

/// <summary>One <see cref="BatchChainStack"/> and one embedded host paying with its funded wallet and reading the chain (<c>X402:Payments:Rpc:0</c>).</summary>
public sealed class BatchChainStackFixture : NodeStackFixture<BatchChainStack>
{
    /// <inheritdoc />
    protected override bool WithRpc => true;

    /// <inheritdoc />
    protected override Task<BatchChainStack> StartStackAsync() => BatchChainStack.StartAsync();
}

/// <summary>The tests on the batch-settlement chain share it and run one after another.</summary>
[CollectionDefinition(Name)]
public sealed class BatchChainStackCollection : ICollectionFixture<BatchChainStackFixture>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "batch-settlement chain on anvil";
}
