using System.Net;
using X402Orleans.Abstractions;
using X402Orleans.OperatorConsole.Data;

namespace X402Orleans.Console.Tests;

/// <summary>What the console's data layer picks to show: silos, an agent's budget lines, a session's cap.</summary>
public sealed class ConsoleDataTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 3, 10, 0, 0, TimeSpan.Zero);

    private static MembershipEntry Silo(int port, SiloStatus status, TimeSpan lastAliveAgo) => new()
    {
        SiloAddress = SiloAddress.New(new IPEndPoint(IPAddress.Loopback, port), 123456789),
        Status = status,
        SiloName = "silo-" + port,
        StartTime = (Now - TimeSpan.FromDays(1)).UtcDateTime,
        IAmAliveTime = (Now - lastAliveAgo).UtcDateTime,
    };

    [Fact]
    public void Silos_ShowActiveAndRecentlyDeadOnes_AsHostAndPort()
    {
        var rows = FleetView.Silos([Silo(11113, SiloStatus.Dead, TimeSpan.FromHours(3)), Silo(11112, SiloStatus.Dead, TimeSpan.FromMinutes(20)), Silo(11111, SiloStatus.Active, TimeSpan.FromSeconds(5))], Now);

        Assert.Equal(["127.0.0.1:11111", "127.0.0.1:11112"], rows.Select(r => r.Address));
        Assert.Equal(["Active", "Dead"], rows.Select(r => r.Status));
        Assert.StartsWith("S127.0.0.1:11111:", rows[0].FullAddress, StringComparison.Ordinal);
    }

    [Fact]
    public void Budgets_LeaveOutNetworks_WhereTheAgentNeitherSpentNorHasALimit()
    {
        AssetBudgetView Asset(string network, string spent, string? limit) => new(network, "0xa", "USDC", 6, spent, "0", limit, spent, "0", null);

        var shown = FleetView.Budgets([Asset("base", "0", null), Asset("base-sepolia", "2500", null), Asset("polygon", "0", "1000000")]);

        Assert.Equal(["base-sepolia", "polygon"], shown.Select(b => b.Network));
    }

    [Fact]
    public void ShowDecimal_ShowsACapLikeEveryOtherAmount_WhenItIsADecimal()
    {
        Assert.Equal("100000 (0.1 USDC)", Amounts.ShowDecimal("0.10", 6, "USDC"));
        Assert.Equal("lots", Amounts.ShowDecimal("lots", 6, "USDC"));
    }
}
