using X402Orleans.Payments.Siwx;

namespace X402Orleans.Payments.Tests;

/// <summary>Expected texts are those of @x402/extensions 2.27's createSIWxMessage (which defers to @signinwithethereum/siwe) for the same inputs.</summary>
public class SiwxMessageTests
{
    private const string Signer = "0xB278cFaD83345b7DF60846579cF49F00A84C8135";

    private static readonly SiwxInfo NotesExample = new(
        "127.0.0.1:14021",
        "http://127.0.0.1:14021/api/v1/weather",
        "1",
        "2bffc0a3f49e2363c62211fe88917d84",
        "2026-11-24T21:35:11.892Z",
        "2026-11-24T21:40:11.892Z",
        null,
        null,
        ["http://127.0.0.1:14021/api/v1/weather"],
        "Sign in to access content you already paid for");

    [Fact]
    public void Build_MatchesWireNotesExample_ByteForByte()
    {
        const string expected = """
            127.0.0.1:14021 wants you to sign in with your Ethereum account:
            0xB278cFaD83345b7DF60846579cF49F00A84C8135

            Sign in to access content you already paid for

            URI: http://127.0.0.1:14021/api/v1/weather
            Version: 1
            Chain ID: 84532
            Nonce: 2bffc0a3f49e2363c62211fe88917d84
            Issued At: 2026-11-24T21:35:11.892Z
            Expiration Time: 2026-11-24T21:40:11.892Z
            Resources:
            - http://127.0.0.1:14021/api/v1/weather
            """;

        Assert.Equal(expected.ReplaceLineEndings("\n"), SiwxMessage.Build(NotesExample, Signer, "eip155:84532"));
    }

    [Fact]
    public void Build_WritesTwoEmptyLines_WhenNoStatement()
    {
        var message = SiwxMessage.Build(NotesExample with { Statement = null }, Signer, "eip155:84532");

        Assert.Equal(
            "127.0.0.1:14021 wants you to sign in with your Ethereum account:\n0xB278cFaD83345b7DF60846579cF49F00A84C8135\n\n\nURI: http://127.0.0.1:14021/api/v1/weather\n"
            + "Version: 1\nChain ID: 84532\nNonce: 2bffc0a3f49e2363c62211fe88917d84\nIssued At: 2026-11-24T21:35:11.892Z\nExpiration Time: 2026-11-24T21:40:11.892Z\n"
            + "Resources:\n- http://127.0.0.1:14021/api/v1/weather",
            message);
    }

    [Fact]
    public void Build_WritesEmptyStatementLine_WhenStatementIsEmpty()
    {
        var message = SiwxMessage.Build(NotesExample with { Statement = string.Empty }, Signer, "eip155:84532");

        Assert.StartsWith("127.0.0.1:14021 wants you to sign in with your Ethereum account:\n" + Signer + "\n\n\n\nURI: ", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_WritesOptionalLinesInOrder_AndResourcesHeaderForEmptyList()
    {
        var info = NotesExample with { Statement = null, NotBefore = "2026-11-24T21:35:00.000Z", RequestId = "req-1", Resources = [] };

        Assert.Equal(
            "127.0.0.1:14021 wants you to sign in with your Ethereum account:\n0xB278cFaD83345b7DF60846579cF49F00A84C8135\n\n\nURI: http://127.0.0.1:14021/api/v1/weather\n"
            + "Version: 1\nChain ID: 84532\nNonce: 2bffc0a3f49e2363c62211fe88917d84\nIssued At: 2026-11-24T21:35:11.892Z\nExpiration Time: 2026-11-24T21:40:11.892Z\n"
            + "Not Before: 2026-11-24T21:35:00.000Z\nRequest ID: req-1\nResources:",
            SiwxMessage.Build(info, Signer, "eip155:84532"));
    }

    [Fact]
    public void Build_EndsAtIssuedAt_WhenNoOptionalFields()
    {
        var info = NotesExample with { Statement = null, ExpirationTime = null, Resources = null };

        Assert.Equal(
            "127.0.0.1:14021 wants you to sign in with your Ethereum account:\n0xB278cFaD83345b7DF60846579cF49F00A84C8135\n\n\nURI: http://127.0.0.1:14021/api/v1/weather\n"
            + "Version: 1\nChain ID: 8453\nNonce: 2bffc0a3f49e2363c62211fe88917d84\nIssued At: 2026-11-24T21:35:11.892Z",
            SiwxMessage.Build(info, Signer, "eip155:8453"));
    }

    [Fact]
    public void Build_WritesEachResourceOnItsOwnLine()
    {
        var info = NotesExample with { Resources = ["https://a.example/1", "https://a.example/2"] };

        Assert.EndsWith("\nResources:\n- https://a.example/1\n- https://a.example/2", SiwxMessage.Build(info, Signer, "eip155:84532"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0xb278cfad83345b7df60846579cf49f00a84c8135")]
    [InlineData("0xB278CFAD83345B7DF60846579CF49F00A84C8135")]
    public void Build_ChecksumsAddress_WhenGivenInAnotherCase(string address)
    {
        var message = SiwxMessage.Build(NotesExample, address, "eip155:84532");

        Assert.Equal(SiwxMessage.Build(NotesExample, Signer, "eip155:84532"), message);
        Assert.Contains("\n" + Signer + "\n", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("84532")]
    [InlineData("solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp")]
    [InlineData("eip155:")]
    [InlineData("eip155:0x14a34")]
    public void Build_Throws_WhenChainIsNotEip155(string chainId)
    {
        var ex = Assert.Throws<ArgumentException>(() => SiwxMessage.Build(NotesExample, Signer, chainId));
        Assert.Equal("caip2ChainId", ex.ParamName);
    }
}
