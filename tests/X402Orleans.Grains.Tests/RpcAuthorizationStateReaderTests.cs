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

    private sealed class Node(string answer, List<JsonObject> calls) : HttpMessageHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            calls.Add(JsonNode.Parse(await request.Content!.ReadAsStringAsync(cancellationToken))!.AsObject());
            var body = new JsonObject { ["jsonrpc"] = "2.0", ["id"] = 1, ["result"] = answer }.ToJsonString();
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        }
    }
}
