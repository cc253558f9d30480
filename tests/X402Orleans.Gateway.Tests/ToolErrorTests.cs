using System.Text.Json;

namespace X402Orleans.Gateway.Tests;

/// <summary>Bad arguments come back as isError results whose text says what to fix.</summary>
[Collection(GatewayCollection.Name)]
public sealed class ToolErrorTests(GatewayFixture fixture)
{
    private GatewayHost Host => fixture.Host;

    [Theory]
    [InlineData(McpCalls.Fetch)]
    [InlineData(McpCalls.Status)]
    [InlineData(McpCalls.End)]
    public async Task SessionTools_ExplainUuidFormat_WhenSessionIdIsNotUuid(string tool)
    {
        var error = (await fixture.AgentA.CallAsync(tool, new() { ["session_id"] = "not-a-uuid" })).Error();

        Assert.StartsWith("session_id must be a UUID", error, StringComparison.Ordinal);
        Assert.Contains("not-a-uuid", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(McpCalls.Fetch)]
    [InlineData(McpCalls.Status)]
    [InlineData(McpCalls.End)]
    public async Task SessionTools_ReportSessionNotFound_WhenUuidIsUnknown(string tool)
    {
        var id = Guid.NewGuid().ToString();

        var error = (await fixture.AgentA.CallAsync(tool, new() { ["session_id"] = id })).Error();

        Assert.Equal($"Session not found: {id}", error);
    }

    [Theory]
    [InlineData("ftp://127.0.0.1/file", "absolute http:// or https:// URL")]
    [InlineData("/demo/free", "absolute http:// or https:// URL")]
    [InlineData("http://user:secret@127.0.0.1/demo/free", "must not contain user info")]
    [InlineData("http://127.0.0.1/demo/free#part", "must not contain a fragment")]
    public async Task SessionStart_RefusesEndpoint_WhenUrlIsNotPlainHttp(string endpoint, string expected)
    {
        var before = (await fixture.AgentA.StatusAsync()).Ok().SessionIds();

        var error = (await fixture.AgentA.StartAsync(endpoint)).Error();

        Assert.StartsWith("endpoint:", error, StringComparison.Ordinal);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", error, StringComparison.Ordinal);
        Assert.Equal(before.Order(StringComparer.Ordinal), (await fixture.AgentA.StatusAsync()).Ok().SessionIds().Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData(10)]
    [InlineData(59)]
    [InlineData(2592001)]
    public async Task SessionStart_ExplainsTtlRange_WhenTtlIsOutOfRange(int ttl)
    {
        var error = (await fixture.AgentA.StartAsync(Host.Url("/demo/free"), new() { ["ttl_seconds"] = ttl })).Error();

        Assert.Contains("ttl_seconds must be between 60 and 2592000", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SessionStart_ExplainsLabelLimit_WhenLabelHas101Characters()
    {
        var error = (await fixture.AgentA.StartAsync(Host.Url("/demo/free"), new() { ["label"] = new string('x', 101) })).Error();

        Assert.Equal("label must be at most 100 characters", error);
    }

    [Fact]
    public async Task SessionStart_AcceptsLabel_WhenLabelHas100Characters()
    {
        var label = new string('y', 100);

        var start = (await fixture.AgentA.StartAsync(Host.Url("/demo/free"), new() { ["label"] = label, ["ttl_seconds"] = 60 })).Ok();

        Assert.Equal(label, start.Structured.Str("label"));
        (await fixture.AgentA.EndAsync(start.Structured.Str("session_id"))).Ok();
    }

    [Theory]
    [InlineData("PAYMENT-SIGNATURE")]
    [InlineData("payment-signature")]
    [InlineData("X-PAYMENT")]
    [InlineData("SIGN-IN-WITH-X")]
    [InlineData("Host")]
    public async Task SessionStart_RefusesHeader_WhenCallerSuppliesGatewayHeader(string header)
    {
        var before = await Host.GetStatsAsync();

        var error = (await fixture.AgentA.StartAsync(Host.Url("/demo/free"), new() { ["headers"] = new Dictionary<string, string> { [header] = "forged" } })).Error();

        Assert.Contains($"header '{header}' is set by the gateway", error, StringComparison.Ordinal);
        Assert.Equal(before.ServedOn("/demo/free"), (await Host.GetStatsAsync()).ServedOn("/demo/free"));
    }

    [Theory]
    [InlineData("PAYMENT-SIGNATURE")]
    [InlineData("SIGN-IN-WITH-X")]
    [InlineData("Host")]
    public async Task SessionFetch_RefusesHeaderAndDoesNotCount_WhenCallerSuppliesGatewayHeader(string header)
    {
        var sessionId = (await fixture.AgentA.StartAsync(Host.Url("/demo/free"))).Ok().Structured.Str("session_id");

        var error = (await fixture.AgentA.FetchAsync(sessionId, more: new() { ["headers"] = new Dictionary<string, string> { [header] = "forged" } })).Error();

        Assert.Contains($"header '{header}' is set by the gateway", error, StringComparison.Ordinal);
        Assert.Equal(1, (await fixture.AgentA.StatusAsync(sessionId)).Ok().Single().Num("call_count"));
        (await fixture.AgentA.EndAsync(sessionId)).Ok();
    }

    [Theory]
    [InlineData("max_payment", "ten cents", "max_payment")]
    [InlineData("scope", "everything", "scope must be 'prefix' or 'exact'")]
    [InlineData("method", "TRACE", "method must be one of GET, POST, PUT, PATCH, DELETE, HEAD")]
    public async Task SessionStart_ExplainsArgument_WhenValueIsInvalid(string name, string value, string expected)
    {
        var error = (await fixture.AgentA.StartAsync(Host.Url("/demo/free"), new() { [name] = value })).Error();

        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0.001", "0.001")]
    [InlineData("1e-3", "0.001")]
    [InlineData("2.5E-2", "0.025")]
    [InlineData("1.000000000000000001", "1.000000000000000001")]
    public async Task SessionStart_KeepsExactAmount_WhenMaxPaymentIsJsonNumber(string number, string expected)
    {
        using var json = JsonDocument.Parse(number);

        var start = (await fixture.AgentA.StartAsync(Host.Url("/demo/free"), new() { ["max_payment"] = json.RootElement.Clone() })).Ok();

        var id = start.Structured.Str("session_id");
        Assert.Equal(expected, (await fixture.AgentA.StatusAsync(id)).Ok().Single().Str("max_payment"));
        (await fixture.AgentA.EndAsync(id)).Ok();
    }

    [Fact]
    public async Task SessionStart_AcceptsTtl_WhenTtlIsDigitString()
    {
        var start = (await fixture.AgentA.StartAsync(Host.Url("/demo/free"), new() { ["ttl_seconds"] = "120" })).Ok();

        (await fixture.AgentA.EndAsync(start.Structured.Str("session_id"))).Ok();
    }

    [Theory]
    [InlineData("{\"ttl_seconds\": \"abc\"}", "ttl_seconds must be an integer number of seconds (got the string \"abc\")")]
    [InlineData("{\"max_payment\": 1e400}", "max_payment is out of range (got the number 1e400); send a decimal string such as \"0.01\"")]
    [InlineData("{\"max_payment\": true}", "max_payment must be a decimal amount in the asset's units, as a string such as \"0.01\" or a JSON number (got true)")]
    [InlineData("{\"max_payment\": -1}", "max_payment: amount '-1' is not a plain decimal number such as \"0.01\"")]
    [InlineData("{\"max_paymnet\": \"0.01\"}", "unknown argument 'max_paymnet' (did you mean 'max_payment'?)")]
    [InlineData("{\"label\": 7, \"scope\": []}", "label must be a string (got the number 7); scope must be a string (got an array)")]
    public async Task SessionStart_NamesArgumentExpectedAndGot_WhenArgumentDoesNotBind(string extra, string expected)
    {
        var arguments = JsonSerializer.Deserialize<Dictionary<string, object?>>(extra)!;
        arguments["endpoint"] = Host.Url("/demo/weather");
        var before = await Host.GetStatsAsync();

        var error = (await fixture.AgentA.CallAsync(McpCalls.Start, arguments)).Error();

        Assert.Equal(expected, error);
        Assert.Equal(before.Payments, (await Host.GetStatsAsync()).Payments);
    }

    [Theory]
    [InlineData(McpCalls.Fetch)]
    [InlineData(McpCalls.End)]
    public async Task SessionTools_SaySessionIdIsRequired_WhenSessionIdIsMissing(string tool)
    {
        var error = (await fixture.AgentA.CallAsync(tool, [])).Error();

        Assert.Equal("session_id is required", error);
    }

    [Fact]
    public async Task SessionFetch_SuggestsSessionId_WhenArgumentNameIsMisspelt()
    {
        var error = (await fixture.AgentA.CallAsync(McpCalls.Fetch, new() { ["sesion_id"] = Guid.NewGuid().ToString() })).Error();

        Assert.Equal("unknown argument 'sesion_id' (did you mean 'session_id'?); session_id is required", error);
    }
}
