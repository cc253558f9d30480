using System.Text.Json.Nodes;
using X402Orleans.Payments.Wire;

namespace X402Orleans.Payments.Tests;

public class X402JsonTests
{
    // {"q":"???>>>"} encodes with both '/' and '+' and one '=' of padding, so every alphabet variant differs.
    private const string Json = "{\"q\":\"???>>>\"}";
    private const string StandardBase64 = "eyJxIjoiPz8/Pj4+In0=";

    [Theory]
    [InlineData(StandardBase64)]
    [InlineData("eyJxIjoiPz8/Pj4+In0")]
    [InlineData("eyJxIjoiPz8_Pj4-In0=")]
    [InlineData("eyJxIjoiPz8_Pj4-In0")]
    public void TryDecodeHeader_ReturnsObject_ForBase64AndBase64UrlWithOrWithoutPadding(string header)
    {
        Assert.True(X402Json.TryDecodeHeader(header, out var json, out var error), error);
        Assert.Equal("???>>>", json!["q"]!.GetValue<string>());
        Assert.Equal(string.Empty, error);
    }

    [Theory]
    [InlineData("  " + StandardBase64 + "  ")]
    [InlineData("\t" + StandardBase64 + "\r\n")]
    public void TryDecodeHeader_ReturnsObject_WhenSurroundedByWhitespace(string header)
    {
        Assert.True(X402Json.TryDecodeHeader(header, out var json, out var error), error);
        Assert.Equal("???>>>", json!["q"]!.GetValue<string>());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    public void TryDecodeHeader_Fails_WhenEmpty(string? header)
    {
        Assert.False(X402Json.TryDecodeHeader(header, out var json, out var error));
        Assert.Null(json);
        Assert.Equal("header is empty", error);
    }

    [Theory]
    [InlineData("not base64!")]
    [InlineData("eyJxIjoiPz8/Pj4+In0=x")]
    [InlineData("e")]
    [InlineData("eyJx*joiPz8/Pj4+In0=")]
    public void TryDecodeHeader_Fails_WhenNotBase64(string header)
    {
        Assert.False(X402Json.TryDecodeHeader(header, out _, out var error));
        Assert.Equal("header is not base64", error);
    }

    [Theory]
    [InlineData("hello world")]
    [InlineData("{\"a\":1")]
    [InlineData("{\"a\":1,}")]
    [InlineData("{'a':1}")]
    public void TryDecodeHeader_Fails_WhenBase64OfNonJson(string text)
    {
        Assert.False(X402Json.TryDecodeHeader(TestData.Base64(text), out _, out var error));
        Assert.StartsWith("invalid JSON (", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("[{\"x402Version\":2}]")]
    [InlineData("\"text\"")]
    [InlineData("42")]
    [InlineData("null")]
    public void TryDecodeHeader_Fails_WhenJsonIsNotAnObject(string text)
    {
        Assert.False(X402Json.TryDecodeHeader(TestData.Base64(text), out _, out var error));
        Assert.Equal("JSON is not an object", error);
    }

    [Fact]
    public void TryDecodeHeader_Fails_WhenLongerThanLimit()
    {
        var header = new string('A', X402Json.MaxHeaderChars + 1);

        Assert.False(X402Json.TryDecodeHeader(header, out _, out var error));
        Assert.Equal("header is longer than 65536 characters", error);
    }

    [Fact]
    public void TryDecodeHeader_ReturnsObject_WhenExactlyAtLimit()
    {
        // {"p":"…"} of 49,152 bytes is exactly 65,536 base64 characters.
        var header = TestData.Base64("{\"p\":\"" + new string('a', 49_152 - 8) + "\"}");
        Assert.Equal(X402Json.MaxHeaderChars, header.Length);

        Assert.True(X402Json.TryDecodeHeader(header, out var json, out var error), error);
        Assert.Equal(49_144, json!["p"]!.GetValue<string>().Length);
    }

    [Theory]
    [InlineData("{\"a\":1,\"a\":2}")]
    [InlineData("{\"x402Version\":2,\"accepts\":[{\"scheme\":\"exact\",\"scheme\":\"upto\"}]}")]
    public void TryDecodeHeader_Fails_WhenObjectHasDuplicateKeys(string text)
    {
        // Accepting it would hand out a JsonObject that throws on first access.
        Assert.False(X402Json.TryDecodeHeader(TestData.Base64(text), out var json, out var error));
        Assert.Null(json);
        Assert.StartsWith("invalid JSON (", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryDecodeHeader_Fails_WhenNestedDeeperThan32()
    {
        var text = "{\"a\":" + new string('[', 40) + new string(']', 40) + "}";

        Assert.False(X402Json.TryDecodeHeader(TestData.Base64(text), out _, out var error));
        Assert.StartsWith("invalid JSON (", error, StringComparison.Ordinal);
    }

    [Fact]
    public void EncodeHeader_WritesStandardPaddedBase64_OfCompactJson()
    {
        var json = new JsonObject { ["q"] = "???>>>" };

        Assert.Equal(StandardBase64, X402Json.EncodeHeader(json));
    }

    [Fact]
    public void Serialize_DoesNotEscapeHtmlOrNonAscii_LikeJsonStringify()
    {
        var json = new JsonObject { ["d"] = "<b>Tom & Jerry's</b> +1 café", ["n"] = new JsonArray(1, 2) };

        Assert.Equal("{\"d\":\"<b>Tom & Jerry's</b> +1 café\",\"n\":[1,2]}", X402Json.Serialize(json));
    }

    [Fact]
    public void Serialize_EscapesQuotesBackslashesAndControlCharacters()
    {
        var json = new JsonObject { ["d"] = "a\"b\\c\nd" };

        Assert.Equal("{\"d\":\"a\\\"b\\\\c\\nd\"}", X402Json.Serialize(json));
    }

    [Fact]
    public void TryParseObject_ReturnsObject_ForUtf8Json()
    {
        Assert.True(X402Json.TryParseObject("{\"x402Version\":1}"u8, out var json, out var error), error);
        Assert.Equal(1, json!["x402Version"]!.GetValue<int>());
    }
}
