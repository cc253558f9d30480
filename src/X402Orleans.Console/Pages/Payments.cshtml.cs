using Microsoft.AspNetCore.Mvc;
using X402Orleans.OperatorConsole.Data;

namespace X402Orleans.OperatorConsole.Pages;

/// <summary>The payment log across agents (each agent's attempts merged, newest first), filtered by agent and outcome.</summary>
public sealed class PaymentsModel(FleetView fleet) : ConsolePageModel
{
    /// <summary>Only this agent's payments (empty: every agent's).</summary>
    [BindProperty(SupportsGet = true, Name = "agent")]
    public string? Agent { get; set; }

    /// <summary>Only payments with this outcome (empty: any).</summary>
    [BindProperty(SupportsGet = true, Name = "outcome")]
    public string? Outcome { get; set; }

    /// <summary>The configured agents.</summary>
    public IReadOnlyList<string> AgentIds => fleet.AgentIds;

    /// <summary>The outcome filter's choices: the known outcomes, and the one asked for if it is none of them.</summary>
    public IReadOnlyList<string> Outcomes => string.IsNullOrEmpty(Outcome) || PaymentOutcomes.Known.Contains(Outcome, StringComparer.Ordinal) ? PaymentOutcomes.Known : [.. PaymentOutcomes.Known, Outcome];

    /// <summary>The payments shown.</summary>
    public IReadOnlyList<PaymentRow> Payments { get; private set; } = [];

    /// <summary>The CSV export of the same filter.</summary>
    public string CsvLink => $"/console/payments.csv?agent={Uri.EscapeDataString(Agent ?? "")}&outcome={Uri.EscapeDataString(Outcome ?? "")}";

    /// <summary>Reads the log.</summary>
    public async Task OnGetAsync(CancellationToken cancellationToken) => Payments = await fleet.PaymentsAsync(Agent, Outcome, cancellationToken);
}
