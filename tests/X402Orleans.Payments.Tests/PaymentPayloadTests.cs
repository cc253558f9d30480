using System.Text.Json.Nodes;
using X402Orleans.Payments.Wire;

namespace X402Orleans.Payments.Tests;

public class PaymentPayloadTests
{
    private const string Inner = "{\"authorization\":{\"from\":\"0x1\"},\"signature\":\"0xsig\"}";

    private static PaymentPayload V2(bool withResource = true, bool withExtensions = true) => new(
        2,
        withResource ? JsonNode.Parse(TestData.ResourceJson) : null,
        JsonNode.Parse(TestData.Requirement())!.AsObject(),
        JsonNode.Parse(Inner)!.AsObject(),
        withExtensions ? new JsonObject { ["bazaar"] = new JsonObject() } : null);

    [Fact]
    public void ToJson_WritesOfficialV2KeyOrder()
    {
        // @x402/core 2.27's client writes x402Version, payload, extensions, resource, accepted.
        var json = X402Json.Serialize(V2().ToJson());

        Assert.Equal(
            "{\"x402Version\":2,\"payload\":" + Inner + ",\"extensions\":{\"bazaar\":{}},\"resource\":" + TestData.ResourceJson + ",\"accepted\":" + TestData.Requirement() + "}",
            json);
    }

    [Fact]
    public void ToJson_OmitsResourceAndExtensions_WhenAbsent()
    {
        Assert.Equal(["x402Version", "payload", "accepted"], TestData.Keys(V2(withResource: false, withExtensions: false).ToJson()));
    }

    [Fact]
    public void ToJson_WritesV1Shape_WithWireNetworkName()
    {
        var accepted = JsonNode.Parse("{\"scheme\":\"exact\",\"network\":\"base-sepolia\",\"maxAmountRequired\":\"10000\"}")!.AsObject();
        var payload = new PaymentPayload(1, null, accepted, JsonNode.Parse(Inner)!.AsObject(), new JsonObject { ["ignored"] = 1 });

        Assert.Equal("{\"x402Version\":1,\"scheme\":\"exact\",\"network\":\"base-sepolia\",\"payload\":" + Inner + "}", X402Json.Serialize(payload.ToJson()));
        Assert.Equal("X-PAYMENT", payload.HeaderName);
    }

    [Fact]
    public void HeaderName_IsPaymentSignature_ForV2()
    {
        Assert.Equal("PAYMENT-SIGNATURE", V2().HeaderName);
    }

    [Fact]
    public void EncodeHeader_RoundTripsThroughTryDecodeHeader()
    {
        var original = V2();

        Assert.True(PaymentPayload.TryDecodeHeader(original.EncodeHeader(), out var decoded, out var error), error);

        Assert.Equal(2, decoded!.X402Version);
        Assert.True(JsonNode.DeepEquals(original.Resource, decoded.Resource));
        Assert.True(JsonNode.DeepEquals(original.Accepted, decoded.Accepted));
        Assert.True(JsonNode.DeepEquals(original.Payload, decoded.Payload));
        Assert.True(JsonNode.DeepEquals(original.Extensions, decoded.Extensions));
        Assert.Equal(X402Json.Serialize(original.ToJson()), X402Json.Serialize(decoded.ToJson()));
    }

    [Fact]
    public void TryDecodeHeader_AcceptsBase64Url_AsOfficialServerDoes()
    {
        var header = TestData.Base64Url(X402Json.Serialize(V2().ToJson()), padded: false);

        Assert.True(PaymentPayload.TryDecodeHeader(header, out var decoded, out var error), error);
        Assert.Equal(TestData.Requirement(), X402Json.Serialize(decoded!.Accepted));
    }

    [Fact]
    public void TryDecodeHeader_ReadsPayload_WithoutResourceOrExtensions()
    {
        var header = TestData.Base64("{\"x402Version\":2,\"accepted\":{},\"payload\":{}}");

        Assert.True(PaymentPayload.TryDecodeHeader(header, out var decoded, out var error), error);
        Assert.Null(decoded!.Resource);
        Assert.Null(decoded.Extensions);
    }

    [Theory]
    [InlineData("{\"x402Version\":1,\"scheme\":\"exact\",\"network\":\"base\",\"payload\":{}}", "payment payload x402Version is not 2")]
    [InlineData("{\"accepted\":{},\"payload\":{}}", "payment payload x402Version is not 2")]
    [InlineData("{\"x402Version\":2,\"payload\":{}}", "payment payload lacks 'accepted' or 'payload'")]
    [InlineData("{\"x402Version\":2,\"accepted\":{}}", "payment payload lacks 'accepted' or 'payload'")]
    [InlineData("{\"x402Version\":2,\"accepted\":[],\"payload\":{}}", "payment payload lacks 'accepted' or 'payload'")]
    public void TryDecodeHeader_Fails_WhenShapeIsWrong(string json, string expected)
    {
        Assert.False(PaymentPayload.TryDecodeHeader(TestData.Base64(json), out var decoded, out var error));
        Assert.Null(decoded);
        Assert.Equal(expected, error);
    }

    [Fact]
    public void TryDecodeHeader_PrefixesHeaderName_WhenNotBase64()
    {
        Assert.False(PaymentPayload.TryDecodeHeader("***", out _, out var error));
        Assert.Equal("PAYMENT-SIGNATURE header is not base64", error);
    }
}
