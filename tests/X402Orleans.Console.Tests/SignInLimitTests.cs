using System.Net;

namespace X402Orleans.Console.Tests;

/// <summary>Sign-in attempts per client address are limited (X402:Console:SignInAttemptsPerMinute).</summary>
public sealed class SignInLimitTests
{
    [Fact]
    public async Task SignIn_Returns429_WhenAttemptsPerMinuteAreUsedUp()
    {
        await using var host = await GatewayHost.StartAsync(ConsoleClient.AdminSettings(attemptsPerMinute: 2));
        using var client = new ConsoleClient(host);
        for (var i = 0; i < 2; i++)
        {
            using var refused = await client.SignInAsync("wrong-operator-key-0123456789abcdefgh");
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        using var limited = await client.SignInAsync(ConsoleClient.AdminKey);

        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        var html = await limited.Content.ReadAsStringAsync();
        Assert.Contains("id=\"signin-error\"", html, StringComparison.Ordinal);
        Assert.Contains("Too many", html, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Redirect, (await client.GetAsync("/console", "text/html")).StatusCode);
    }
}
