using X402Orleans.OperatorConsole.Data;

namespace X402Orleans.OperatorConsole.Pages;

/// <summary>Every configured agent: live sessions, today's spend against its limit, suspended or not.</summary>
public sealed class AgentsModel(FleetView fleet) : ConsolePageModel
{
    /// <summary>The agents.</summary>
    public IReadOnlyList<AgentRow> Agents { get; private set; } = [];

    /// <summary>Reads the agents.</summary>
    public async Task OnGetAsync(CancellationToken cancellationToken) => Agents = await fleet.AgentsAsync(cancellationToken);
}
