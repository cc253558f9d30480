using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace X402Orleans.OperatorConsole.Pages;

/// <summary>A console page: signed-in operators only.</summary>
[Authorize(Policy = ConsoleHosting.PolicyName)]
public abstract class ConsolePageModel : PageModel
{
}
