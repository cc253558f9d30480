using System.Numerics;
using X402Orleans.Payments.Evm;

namespace X402Orleans.Payments.Tests;

public class EvmNamesTests
{
    [Theory]
    [InlineData("base", "eip155:8453")]
    [InlineData("base-sepolia", "eip155:84532")]
    [InlineData("Base-Sepolia", "eip155:84532")]
    [InlineData("eip155:84532", "eip155:84532")]
    [InlineData("solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp", "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp")]
    public void ToCaip2_MapsV1NamesAndPassesCaip2Through(string network, string expected)
    {
        Assert.Equal(expected, NetworkNames.ToCaip2(network));
    }

    [Fact]
    public void ToCaip2_ReturnsNull_ForUnknownName()
    {
        Assert.Null(NetworkNames.ToCaip2("moonchain"));
    }

    [Fact]
    public void ToV1Name_ReturnsName_ForKnownNetwork()
    {
        Assert.Equal("base-sepolia", NetworkNames.ToV1Name("eip155:84532"));
        Assert.Null(NetworkNames.ToV1Name("eip155:999999"));
    }

    [Theory]
    [InlineData("eip155:1", 1)]
    [InlineData("eip155:84532", 84532)]
    public void TryGetEvmChainId_ReadsChainId(string network, long expected)
    {
        Assert.True(NetworkNames.TryGetEvmChainId(network, out var chainId));
        Assert.Equal(new BigInteger(expected), chainId);
    }

    [Theory]
    [InlineData("eip155:")]
    [InlineData("eip155:0")]
    [InlineData("eip155:01")]
    [InlineData("eip155:-1")]
    [InlineData("eip155:0x2105")]
    [InlineData("EIP155:8453")]
    [InlineData("base")]
    [InlineData("eip155:123456789012345678901")]
    public void TryGetEvmChainId_Fails_ForMalformedIds(string network)
    {
        Assert.False(NetworkNames.TryGetEvmChainId(network, out _));
    }

    [Theory]
    [InlineData("0x209693Bc6afc0C5328bA36FaF03C514EF312287C", true)]
    [InlineData("0x209693bc6afc0c5328ba36faf03c514ef312287c", true)]
    [InlineData("0X209693bc6afc0c5328ba36faf03c514ef312287c", true)]
    [InlineData("209693bc6afc0c5328ba36faf03c514ef312287c", false)]
    [InlineData("0x209693bc6afc0c5328ba36faf03c514ef312287", false)]
    [InlineData("0x209693bc6afc0c5328ba36faf03c514ef312287g", false)]
    [InlineData(null, false)]
    public void IsValid_ChecksShapeOnly(string? address, bool expected)
    {
        Assert.Equal(expected, EvmAddress.IsValid(address));
    }

    [Fact]
    public void ToChecksum_WritesEip55()
    {
        Assert.Equal("0x209693Bc6afc0C5328bA36FaF03C514EF312287C", EvmAddress.ToChecksum("0x209693bc6afc0c5328ba36faf03c514ef312287c"));
    }

    [Fact]
    public void AreEqual_IgnoresCase_AndRefusesNull()
    {
        Assert.True(EvmAddress.AreEqual("0x209693Bc6afc0C5328bA36FaF03C514EF312287C", "0x209693bc6afc0c5328ba36faf03c514ef312287c"));
        Assert.False(EvmAddress.AreEqual(null, null));
    }
}
