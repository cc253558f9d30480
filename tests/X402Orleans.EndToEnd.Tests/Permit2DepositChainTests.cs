using System.Net.Http.Json;
using System.Numerics;
using System.Text.Json.Nodes;
using X402Orleans.EndToEnd.Tests.Infrastructure;
using X402Orleans.Payments.Evm.BatchSettlement;
using X402Orleans.Payments.Evm.Upto;
using X402Orleans.Payments.Signing;
using X402Orleans.Payments.Wire;

namespace X402Orleans.EndToEnd.Tests;

/// <summary>
/// OUR batch-settlement Permit2 deposit payload (<see cref="BatchSettlementPayloads.CreateDepositAsync"/>, requirement
/// <c>extra.assetTransferMethod = "permit2"</c>) sent to the OFFICIAL batch-settlement facilitator's <c>/verify</c> and
/// <c>/settle</c> on anvil (<c>tests/interop/batch-chain.mjs</c>: Permit2 and our own batch-settlement contracts at the canonical
/// addresses). Truth is the chain: the deposit's Transfer events and the payer's Permit2 allowance.
/// </summary>
public sealed class Permit2DepositChainTests(Permit2DepositChainTests.Chain chain) : IClassFixture<Permit2DepositChainTests.Chain>
{
    private const long Price = 1000;
    private const long Deposit = 10 * Price;

    [Fact]
    public async Task OfficialFacilitator_SettlesOurPermit2Deposit_IntoTheChannel_WhenThePayerApprovedPermit2()
    {
        var payer = chain.Stack.FundedWallets[0]; // approved Permit2 once, holds ETH

        var settled = await chain.DepositAsync(payer, sponsorsPermit: false);

        Assert.Equal([(payer.Address.ToLowerInvariant(), BatchSettlementScheme.ContractAddress.ToLowerInvariant(), new BigInteger(Deposit))], settled);
    }

    [Fact]
    public async Task OfficialFacilitator_SettlesOurPermit2DepositWithItsEip2612Permit_ForAPayerWithoutEthOrApproval()
    {
        var payer = chain.Stack.UnapprovedWallets[0]; // no ETH, no Permit2 approval: the EIP-2612 permit is the only way

        var settled = await chain.DepositAsync(payer, sponsorsPermit: true);

        Assert.Equal([(payer.Address.ToLowerInvariant(), BatchSettlementScheme.ContractAddress.ToLowerInvariant(), new BigInteger(Deposit))], settled);
        Assert.Equal(BigInteger.Zero, await chain.Stack.Chain.AllowanceAsync(chain.Stack.Token, payer.Address, Permit2.Address)); // exactly the deposit, all spent
        Assert.Equal(BigInteger.Zero, await chain.Stack.Chain.EthBalanceAsync(payer.Address));
    }

    /// <summary>batch-chain.mjs in script mode (one approved and one unapproved wallet) and the facilitator's HTTP API.</summary>
    public sealed class Chain : IAsyncLifetime, IDisposable
    {
        private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(60) };
        private BatchChainStack? _stack;

        /// <summary>The stack.</summary>
        public BatchChainStack Stack => _stack ?? throw new InvalidOperationException("not started");

        /// <inheritdoc />
        public async Task InitializeAsync() => _stack = await BatchChainStack.StartAsync();

        /// <inheritdoc />
        public async Task DisposeAsync()
        {
            if (_stack is not null)
            {
                await _stack.DisposeAsync();
            }
        }

        /// <inheritdoc />
        public void Dispose() => _http.Dispose();

        /// <summary>
        /// Signs our Permit2 deposit of <see cref="Deposit"/> (with <paramref name="payer"/>'s key, a fresh payee, the chain's real
        /// allowance and EIP-2612 nonce), has the official facilitator verify and settle it, and returns the settlement's Transfers.
        /// </summary>
        public async Task<IReadOnlyList<(string From, string To, BigInteger Value)>> DepositAsync(Wallet payer, bool sponsorsPermit)
        {
            var extra = new JsonObject
            {
                ["name"] = "USDC",
                ["version"] = "2",
                ["assetTransferMethod"] = BatchSettlementScheme.Permit2TransferMethod,
                ["receiverAuthorizer"] = Stack.ReceiverAuthorizer,
            };
            var requirement = PaymentRequirements.Create(BatchSettlementScheme.Name, Stack.Network, Price, Stack.Token, LocalPrivateKeySigner.Generate().Address, 300, extra);
            var extensions = sponsorsPermit
                ? new JsonObject { [Eip2612Permit.ExtensionKey] = new JsonObject { ["info"] = new JsonObject { ["description"] = "gasless Permit2 approval", ["version"] = "1" } } }
                : null;
            var challenge = PaymentRequired.Create("Payment required", new ResourceInfo("http://127.0.0.1/api/metered", null, null), [requirement], extensions);
            var signer = LocalPrivateKeySigner.FromHex(payer.PrivateKey);
            Assert.True(ChannelConfig.TryFromRequirements(requirement, signer.Address, out var config, out var why), why);
            var allowance = await Stack.Chain.AllowanceAsync(Stack.Token, payer.Address, Permit2.Address);

            var deposit = await BatchSettlementPayloads.CreateDepositAsync(
                challenge, requirement, config!, Deposit, Price, signer, TimeProvider.System, permit2Tokens: new ChainTokens(allowance));
            Assert.Equal(sponsorsPermit, deposit.Extensions?[Eip2612Permit.ExtensionKey]?["info"]?["signature"] is not null);

            var body = new JsonObject { ["x402Version"] = 2, ["paymentPayload"] = deposit.ToJson(), ["paymentRequirements"] = requirement.ToJson() };
            var verify = await PostAsync("/verify", body);
            Assert.True(verify["isValid"]?.GetValue<bool>() == true, verify.ToJsonString());
            var settle = await PostAsync("/settle", body);
            Assert.True(settle["success"]?.GetValue<bool>() == true, settle.ToJsonString());
            return await Stack.Chain.TransfersAsync(settle["transaction"]!.GetValue<string>(), Stack.Token);
        }

        private async Task<JsonObject> PostAsync(string path, JsonObject body)
        {
            using var response = await _http.PostAsJsonAsync(new Uri(Stack.FacilitatorUrl + path), body);
            return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        }

        // The chain's Permit2 allowance as read above; a fresh wallet's EIP-2612 nonce is 0.
        private sealed class ChainTokens(BigInteger allowance) : IPermit2TokenReader
        {
            public ValueTask<BigInteger?> ReadPermit2AllowanceAsync(string network, string token, string owner, CancellationToken cancellationToken) => ValueTask.FromResult<BigInteger?>(allowance);

            public ValueTask<BigInteger> ReadPermitNonceAsync(string network, string token, string owner, CancellationToken cancellationToken) => ValueTask.FromResult(BigInteger.Zero);
        }
    }

    /// <summary><c>tests/interop/batch-chain.mjs</c> as a script: anvil, Permit2, our batch-settlement contracts, the official facilitator.</summary>
    public sealed class BatchChainStack : NodeStack
    {
        private BatchChainStack(Launched launched)
            : base(launched)
        {
        }

        /// <summary>Wallets holding tokens but no ETH and no Permit2 approval.</summary>
        public IReadOnlyList<Wallet> UnapprovedWallets => Wallets("unapproved");

        /// <summary>The facilitator's receiver authorizer (a channel's <c>receiverAuthorizer</c>).</summary>
        public string ReceiverAuthorizer => Info["receiverAuthorizer"]!["address"]!.GetValue<string>();

        /// <summary>Starts the script with one approved and one unapproved wallet.</summary>
        public static async Task<BatchChainStack> StartAsync() =>
            new(await LaunchAsync("batch-chain.mjs", new JsonObject { ["fundedWallets"] = 1, ["unapprovedWallets"] = 1 }));
    }
}
