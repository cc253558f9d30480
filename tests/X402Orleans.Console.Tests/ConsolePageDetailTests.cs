using System.Net;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using X402Orleans.Abstractions;

namespace X402Orleans.Console.Tests;

/// <summary>What an operator sees on the signed-in pages beyond the contract's ids: controls, silo addresses, a quiet log.</summary>
public sealed partial class ConsolePageDetailTests(ConsoleFixture fixture) : IClassFixture<ConsoleFixture>
{
    private static readonly string[] PagesWithForms = ["/console", "/console/agents", "/console/sessions", "/console/payments", "/console/audit", "/console/signin"];

    private GatewayHost Host => fixture.Host;

    [Fact]
    public async Task Pages_LogNoAntiforgeryWarning_WhenTheSignedInOperatorLoadsThem()
    {
        using var client = new ConsoleClient(Host);
        await client.SignInAsOperatorAsync();

        foreach (var path in PagesWithForms)
        {
            using var response = await client.GetAsync(path, "text/html");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.True(response.Headers.CacheControl is { NoCache: true, NoStore: true }, $"{path}: Cache-Control {response.Headers.CacheControl}");
            Assert.Equal("no-cache", response.Headers.Pragma.ToString());
        }

        Assert.DoesNotContain(fixture.Logs.Entries, e => e.Level >= LogLevel.Warning && e.Category.StartsWith("Microsoft.AspNetCore.Antiforgery", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Payments_ShowAChannelEntryAsTheChannelsWithoutASessionLink_WhenAWithdrawIsLogged()
    {
        var tx = "0x" + new string('7', 64);
        await Host.Services.GetRequiredService<IGrainFactory>().GetGrain<IAgentGrain>(GatewayHost.AgentBId).RecordAttempt(new PaymentAttempt(
            DateTimeOffset.UtcNow, Guid.Empty, string.Empty, "eip155:84532", "0xa", "USDC", 6, "4000", "0xb", "withdrawn", tx, "unilateral withdraw finalized"));
        using var client = new ConsoleClient(Host);
        await client.SignInAsOperatorAsync();

        var page = await client.GetPageAsync($"/console/payments?agent={GatewayHost.AgentBId}&outcome=withdrawn");

        Assert.Contains("<option value=\"withdrawn\" selected=\"selected\">withdrawn</option>", page, StringComparison.Ordinal);
        Assert.Contains("<option value=\"claimed\">claimed</option>", page, StringComparison.Ordinal);
        Assert.Contains("4000 (0.004 USDC)", page, StringComparison.Ordinal);
        Assert.Contains(tx, page, StringComparison.Ordinal);
        Assert.DoesNotContain("/console/sessions/" + Guid.Empty, page, StringComparison.Ordinal);
        Assert.Matches(@"class=""session"">\s*<span [^>]*>channel</span>", page);
    }

    [Fact]
    public async Task Overview_ShowsOnlyTheControlsThatApply_WhilePaymentsArePausedAndAfterTheyResume()
    {
        using var client = new ConsoleClient(Host);
        await client.SignInAsOperatorAsync();
        var active = await client.GetPageAsync("/console");
        try
        {
            using (var pause = await client.PostFormAsync("/console/controls/pause-payments", new Dictionary<string, string>(), active))
            {
                Assert.Equal(HttpStatusCode.Redirect, pause.StatusCode);
            }

            var paused = await client.GetPageAsync("/console");

            Assert.False(Hidden(active, "pause-payments"));
            Assert.True(Hidden(active, "resume-payments"));
            Assert.Contains("id=\"payments-state\" class=\"badge active\">active<", active, StringComparison.Ordinal);
            Assert.True(Hidden(paused, "pause-payments"));
            Assert.False(Hidden(paused, "resume-payments"));
            Assert.Contains("id=\"payments-state\" class=\"badge paused\">paused<", paused, StringComparison.Ordinal);
            Assert.False(Hidden(paused, "stop-calls"));
            Assert.True(Hidden(paused, "resume-calls"));
        }
        finally
        {
            using var resume = await client.PostFormAsync("/console/controls/resume-payments", new Dictionary<string, string>(), await client.GetPageAsync("/console"));
            Assert.Equal(HttpStatusCode.Redirect, resume.StatusCode);
        }

        Assert.False(Hidden(await client.GetPageAsync("/console"), "pause-payments"));
    }

    [Fact]
    public async Task Overview_ShowsTheSiloAsHostAndPort_WithTheFullOrleansAddressAsItsTitle()
    {
        using var client = new ConsoleClient(Host);
        await client.SignInAsOperatorAsync();

        var cell = SiloAddressCell().Match(await client.GetPageAsync("/console"));

        Assert.True(cell.Success, "no td.silo-address with a title");
        Assert.Matches(@"^127\.0\.0\.1:\d+$", cell.Groups["shown"].Value);
        Assert.StartsWith("S" + cell.Groups["shown"].Value + ":", cell.Groups["full"].Value, StringComparison.Ordinal);
    }

    private static bool Hidden(string html, string formId)
    {
        var tag = Regex.Match(html, $"<form id=\"{formId}\"[^>]*>");
        Assert.True(tag.Success, $"no form#{formId}");
        return Regex.IsMatch(tag.Value, @"\shidden(=|\s|>)");
    }

    [GeneratedRegex("<td class=\"silo-address\" title=\"(?<full>[^\"]+)\">(?<shown>[^<]+)<")]
    private static partial Regex SiloAddressCell();
}
