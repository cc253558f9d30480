using System.Net;
using System.Numerics;
using System.Text;
using System.Text.Json.Nodes;
using X402Orleans.Grains.Payments;
using X402Orleans.Payments.Evm.Upto;

namespace X402Orleans.Grains.Tests;

/// <summary>The chain reads for <c>upto</c>: Permit2's nonce bitmap (is this permit used?) and the payer's Permit2 allowance.</summary>
public sealed class RpcAuthorizationStateReaderTests
{
    private const string Network = "eip155:84532";
    private const string Owner = "0x857b06519E91e3A54538791bDbb0E22373e36b66";
    private const string Usdc = "0x036CbD53842c5426634e7929541eC2318f3dCF7e";

    // Nonce with word position 0x1234 and bit 0x05.
    private static readonly BigInteger Nonce = (new BigInteger(0x1234) << 8) + 5;

    private static (RpcAuthorizationStateReader Reader, List<JsonObject> Calls) Reader(string answer)
    {
        var calls = new List<JsonObject>();
        var rules = new PaymentRules { RpcEndpoints = new Dictionary<string, Uri> { [Network] = new("http://node.test/") } };
        return (new RpcAuthorizationStateReader(rules, new HttpClient(new Node(answer, calls))), calls);
    }

    [Theory]
    [InlineData("0x0000000000000000000000000000000000000000000000000000000000000020", true)]
    [InlineData("0x00000000000000000000000000000000000000000000000000000000000000df", false)]
    public async Task ReadPermit2NonceAsync_AsksPermit2ForTheNoncesWordAndReadsItsBit(string word, bool used)
    {
        var (reader, calls) = Reader(word);

        var result = await reader.ReadPermit2NonceAsync(Network, Owner, Nonce.ToString(), CancellationToken.None);

        Assert.Equal((true, used), (result.Known, result.Used));
        var call = Assert.Single(calls)["params"]![0]!;
        Assert.Equal(Permit2.Address, call["to"]!.GetValue<string>());
        Assert.Equal("0x4fe02b44" + Owner[2..].ToLowerInvariant().PadLeft(64, '0') + "1234".PadLeft(64, '0'), call["data"]!.GetValue<string>());
    }

    [Fact]
    public async Task ReadPermit2NonceAsync_AnswersUnknown_WhenNoNodeIsConfiguredForTheNetwork()
    {
        var (reader, calls) = Reader("0x01");

        var result = await reader.ReadPermit2NonceAsync("eip155:8453", Owner, "1", CancellationToken.None);

        Assert.False(result.Known);
        Assert.Empty(calls);
    }

    [Fact]
    public async Task ReadPermit2AllowanceAsync_ReadsTheTokensAllowanceForPermit2()
    {
        var (reader, calls) = Reader("0x00000000000000000000000000000000000000000000000000000000000f4240");

        var allowance = await reader.ReadPermit2AllowanceAsync(Network, Usdc, Owner, CancellationToken.None);

        Assert.Equal(new BigInteger(1_000_000), allowance);
        var call = Assert.Single(calls)["params"]![0]!;
        Assert.Equal(Usdc, call["to"]!.GetValue<string>());
        Assert.Equal("0xdd62ed3e" + Owner[2..].ToLowerInvariant().PadLeft(64, '0') + Permit2.Address[2..].ToLowerInvariant().PadLeft(64, '0'), call["data"]!.GetValue<string>());
    }

    private const string PayTo = "0x209693Bc6afc0C5328bA36FaF03C514EF312287C";
    private const string UsedWord = "0x0000000000000000000000000000000000000000000000000000000000000020";

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ReadPermit2SettlementAsync_ReadsTheChargedAmount_FromTheTransferWhoseCallCarriesTheNonce(bool found)
    {
        // two transfers payer → payee; only the older one's transaction carries the permit's nonce
        var nonceWord = Nonce.ToString("x").PadLeft(64, '0');
        var other = new string('7', 64);
        var calls = new List<JsonObject>();
        var rules = new PaymentRules { RpcEndpoints = new Dictionary<string, Uri> { [Network] = new("http://node.test/") } };
        var reader = new RpcAuthorizationStateReader(rules, new HttpClient(new Node(request => request["method"]!.GetValue<string>() switch
        {
            "eth_call" => UsedWord,
            "eth_getLogs" => new JsonArray(
                new JsonObject { ["transactionHash"] = "0xaa", ["data"] = "0x" + "3039".PadLeft(64, '0') },
                new JsonObject { ["transactionHash"] = "0xbb", ["data"] = "0x" + "c350".PadLeft(64, '0') }),
            _ => new JsonObject { ["input"] = "0x12345678" + (request["params"]![0]!.GetValue<string>() == "0xaa" && found ? nonceWord : other) + other },
        }, calls)));

        var result = await reader.ReadPermit2SettlementAsync(Network, Usdc, Owner, PayTo, Nonce.ToString(), CancellationToken.None);

        Assert.Equal((true, true), (result.Known, result.Used));
        Assert.Equal(found ? ("0xaa", "12345") : (null, null), (result.Transaction, result.AmountAtomic));
        var filter = calls.Single(c => c["method"]!.GetValue<string>() == "eth_getLogs")["params"]![0]!;
        Assert.Equal(Usdc, filter["address"]!.GetValue<string>());
        Assert.Equal(
            ["0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef", "0x" + Owner[2..].ToLowerInvariant().PadLeft(64, '0'), "0x" + PayTo[2..].ToLowerInvariant().PadLeft(64, '0')],
            filter["topics"]!.AsArray().Select(t => t!.GetValue<string>()));
    }

    [Fact]
    public async Task ReadPermit2SettlementAsync_LooksNothingUp_WhenTheNonceIsUnused()
    {
        var (reader, calls) = Reader("0x00");

        var result = await reader.ReadPermit2SettlementAsync(Network, Usdc, Owner, PayTo, Nonce.ToString(), CancellationToken.None);

        Assert.Equal((true, false, null), (result.Known, result.Used, result.AmountAtomic));
        Assert.Single(calls);
    }

    [Fact]
    public async Task ReadChannelAsync_ReadsBalanceTotalClaimedAndRefundNonceFromTheBatchSettlementContract()
    {
        const string ChannelId = "0xe29fed62008a40de05c8593990dba482da4a00354ae83325b76ea6514dc32134";
        var calls = new List<JsonObject>();
        var rules = new PaymentRules { RpcEndpoints = new Dictionary<string, Uri> { [Network] = new("http://node.test/") } };
        var reader = new RpcAuthorizationStateReader(rules, new HttpClient(new Node(
            call => call["params"]![0]!["data"]!.GetValue<string>().StartsWith("0x7a7ebd7b", StringComparison.Ordinal)
                ? "0x" + "1770".PadLeft(64, '0') + "1770".PadLeft(64, '0') // channels(id): balance 6000, totalClaimed 6000
                : "0x1", // refundNonce(id): 1
            calls)));

        var channel = await reader.ReadChannelAsync(Network, ChannelId, CancellationToken.None);

        Assert.Equal(new ChannelChainState(true, 6000, 6000, 1), channel);
        Assert.All(calls, c => Assert.Equal(X402Orleans.Payments.Evm.BatchSettlement.BatchSettlementScheme.ContractAddress, c["params"]![0]!["to"]!.GetValue<string>()));
        Assert.Equal(["0x7a7ebd7b", "0xf0dc792e"], calls.Select(c => c["params"]![0]!["data"]!.GetValue<string>()[..10]));
        Assert.Equal(ChannelChainState.Unknown, await new RpcAuthorizationStateReader(new PaymentRules(), new HttpClient()).ReadChannelAsync(Network, ChannelId, CancellationToken.None));
    }

    private sealed class Node(Func<JsonObject, JsonNode?> answer, List<JsonObject> calls) : HttpMessageHandler
    {
        public Node(string answer, List<JsonObject> calls)
            : this(_ => answer, calls)
        {
        }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var call = JsonNode.Parse(await request.Content!.ReadAsStringAsync(cancellationToken))!.AsObject();
            calls.Add(call);
            var body = new JsonObject { ["jsonrpc"] = "2.0", ["id"] = 1, ["result"] = answer(call) }.ToJsonString();
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        }
    }
}
