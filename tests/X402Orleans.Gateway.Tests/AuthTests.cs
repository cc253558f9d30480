using System.Net;

namespace X402Orleans.Gateway.Tests;

/// <summary>API-key authentication and isolation between agents.</summary>
[Collection(GatewayCollection.Name)]
public sealed class AuthTests(GatewayFixture fixture)
{
    private GatewayHost Host => fixture.Host;

    [Theory]
    [InlineData(null)]
    [InlineData("wrong-key-0123456789abcdef")]
    public async Task Connect_IsRefusedWith401_WhenApiKeyIsMissingOrWrong(string? apiKey)
    {
        var ex = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await using var client = await Host.ConnectAsync(apiKey);
        });

        Assert.True(Is401(ex), $"expected HTTP 401, got {ex}");
    }

    [Theory]
    [InlineData(null)]
    [InlineData("Bearer wrong-key-0123456789abcdef")]
    [InlineData("Basic YWdlbnQtYTpzZWNyZXQ=")]
    public async Task McpEndpoint_Answers401WithBearerChallenge_WhenAuthorizationIsMissingOrWrong(string? authorization)
    {
        using var response = await Host.PostMcpAsync(authorization);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains(response.Headers.WwwAuthenticate, h => h.Scheme == "Bearer");
    }

    [Fact]
    public async Task SessionTools_AnswerSessionNotFound_WhenAnotherAgentUsesTheSessionId()
    {
        var a = fixture.AgentA;
        var b = fixture.AgentB;
        var sessionId = (await a.StartAsync(Host.Url("/demo/free"))).Ok().Structured.Str("session_id");
        var notFound = $"Session not found: {sessionId}";

        Assert.Equal(notFound, (await b.FetchAsync(sessionId)).Error());
        Assert.Equal(notFound, (await b.StatusAsync(sessionId)).Error());
        Assert.Equal(notFound, (await b.EndAsync(sessionId)).Error());

        // Agent A's session is untouched by B's attempts.
        var status = (await a.StatusAsync(sessionId)).Ok().Single();
        Assert.Equal("active", status.Str("status"));
        Assert.Equal(1, status.Num("call_count"));
        Assert.Equal(2, (await a.FetchAsync(sessionId)).Ok().Structured.Num("call_count"));
        (await a.EndAsync(sessionId)).Ok();
    }

    [Fact]
    public async Task SessionStatus_ListsOnlyOwnSessions_WhenTwoAgentsHaveSessions()
    {
        var a = fixture.AgentA;
        var b = fixture.AgentB;
        var ofA = (await a.StartAsync(Host.Url("/demo/free"), new() { ["label"] = "agent a" })).Ok().Structured.Str("session_id");
        var ofB = (await b.StartAsync(Host.Url("/demo/free"), new() { ["label"] = "agent b" })).Ok().Structured.Str("session_id");

        var listA = (await a.StatusAsync()).Ok().SessionIds();
        var listB = (await b.StatusAsync()).Ok().SessionIds();

        Assert.Contains(ofA, listA);
        Assert.DoesNotContain(ofB, listA);
        Assert.Contains(ofB, listB);
        Assert.DoesNotContain(ofA, listB);
        (await a.EndAsync(ofA)).Ok();
        (await b.EndAsync(ofB)).Ok();
    }

    private static bool Is401(Exception? ex)
    {
        for (; ex is not null; ex = ex.InnerException)
        {
            if (ex is HttpRequestException { StatusCode: HttpStatusCode.Unauthorized })
            {
                return true;
            }
        }

        return false;
    }
}
