using System.Text.Json;

namespace X402Orleans.Gateway.Tests;

/// <summary>What an MCP client sees in tools/list.</summary>
[Collection(GatewayCollection.Name)]
public sealed class ToolCatalogTests(GatewayFixture fixture)
{
    [Fact]
    public async Task ListTools_ReturnsExactlyTheSessionWalletAndChannelTools_WhenConnected()
    {
        var tools = await fixture.AgentA.ListToolsAsync();

        Assert.Equal(
            [McpCalls.ChannelWithdraw, McpCalls.PaymentLog, McpCalls.End, McpCalls.Fetch, McpCalls.Start, McpCalls.Status, McpCalls.WalletStatus],
            tools.Select(t => t.ProtocolTool.Name).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task ListTools_DescribesEveryToolAndParameter_WhenConnected()
    {
        var tools = await fixture.AgentA.ListToolsAsync();

        foreach (var tool in tools.Select(t => t.ProtocolTool))
        {
            Assert.False(string.IsNullOrWhiteSpace(tool.Description), $"{tool.Name} has no description");
            var input = JsonSerializer.SerializeToElement(tool.InputSchema);
            Assert.Equal("object", input.GetProperty("type").GetString());
            foreach (var parameter in Parameters(input))
            {
                Assert.True(
                    parameter.Value.TryGetProperty("description", out var description) && !string.IsNullOrWhiteSpace(description.GetString()),
                    $"{tool.Name}.{parameter.Name} has no description");
            }
        }
    }

    [Theory]
    [InlineData(McpCalls.Start, "endpoint", "endpoint,scope,ttl_seconds,label,max_payment,method,headers,body,timeout_ms,idempotency_key,allow_repeat_payments,max_total")]
    [InlineData(McpCalls.Fetch, "session_id", "session_id,url,method,headers,body,timeout_ms")]
    [InlineData(McpCalls.Status, "", "session_id,cursor,limit")]
    [InlineData(McpCalls.End, "session_id", "session_id")]
    [InlineData(McpCalls.WalletStatus, "", "")]
    [InlineData(McpCalls.PaymentLog, "", "limit")]
    [InlineData(McpCalls.ChannelWithdraw, "", "action,channel,session_id")]
    public async Task ListTools_ShowsSnakeCaseParametersWithRequiredOnes_ForEachTool(string name, string required, string parameters)
    {
        var tools = await fixture.AgentA.ListToolsAsync();
        var tool = Assert.Single(tools, t => t.ProtocolTool.Name == name).ProtocolTool;
        var input = JsonSerializer.SerializeToElement(tool.InputSchema);

        Assert.Equal(Names(parameters), Parameters(input).Select(p => p.Name).Order(StringComparer.Ordinal));
        var actualRequired = input.TryGetProperty("required", out var r) ? r.EnumerateArray().Select(e => e.GetString()!).ToArray() : [];
        Assert.Equal(Names(required), actualRequired.Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData(McpCalls.Start, "session_id,endpoint,scope,expires_at,reuse,payment,payment_note,response")]
    [InlineData(McpCalls.Fetch, "session_id,url,access,payment,call_count,status,body")]
    [InlineData(McpCalls.Status, "sessions,next_cursor")]
    [InlineData(McpCalls.End, "session_id,endpoint,outcome,call_count,total_paid")]
    [InlineData(McpCalls.WalletStatus, "address,day,max_payment,assets")]
    [InlineData(McpCalls.PaymentLog, "attempts")]
    [InlineData(McpCalls.ChannelWithdraw, "channel,action,outcome,message,phase,amount_atomic,at_least_atomic,returned_atomic,initiated_at,finalizable_at,transactions,channel_config")]
    public async Task ListTools_PublishesAnOutputSchemaWithTheResultFields_ForEachTool(string name, string fields)
    {
        var tools = await fixture.AgentA.ListToolsAsync();
        var tool = Assert.Single(tools, t => t.ProtocolTool.Name == name).ProtocolTool;

        Assert.NotNull(tool.OutputSchema);
        var output = JsonSerializer.SerializeToElement(tool.OutputSchema);
        Assert.Equal(JsonValueKind.Object, output.ValueKind);
        var properties = output.GetProperty("properties");
        foreach (var field in Names(fields))
        {
            Assert.True(properties.TryGetProperty(field, out _), $"{name} output schema lacks {field}");
        }
    }

    [Theory]
    [InlineData("max_payment")]
    [InlineData("max_total")]
    public async Task ListTools_DeclaresAmountAsStringOrNumber_ForSessionStart(string amount)
    {
        var tools = await fixture.AgentA.ListToolsAsync();
        var tool = Assert.Single(tools, t => t.ProtocolTool.Name == McpCalls.Start).ProtocolTool;
        var input = JsonSerializer.SerializeToElement(tool.InputSchema);

        var types = input.GetProperty("properties").GetProperty(amount).GetProperty("type").EnumerateArray().Select(t => t.GetString()).ToList();

        Assert.Contains("string", types);
        Assert.Contains("number", types);
    }

    private static JsonProperty[] Parameters(JsonElement inputSchema) =>
        inputSchema.TryGetProperty("properties", out var properties) ? [.. properties.EnumerateObject()] : [];

    private static string[] Names(string commaSeparated) =>
        [.. commaSeparated.Split(',', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal)];
}
