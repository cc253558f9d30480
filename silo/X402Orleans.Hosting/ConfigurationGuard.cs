using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using X402Orleans.Abstractions;

namespace X402Orleans.Hosting;

/// <summary>
/// Runs a host only when its configuration is valid. Every setting is read and checked (and every service built from settings,
/// such as the wallet, is created) before the host starts serving; an invalid one stops the process with
/// <see cref="ExitCode"/> and one line on stderr naming the setting, never a stack trace, and never a host that looks healthy but
/// cannot serve.
/// </summary>
public static class ConfigurationGuard
{
    /// <summary>The exit code of a process stopped by an invalid setting.</summary>
    public const int ExitCode = 2;

    /// <summary>The start of the line written on stderr.</summary>
    public const string Prefix = "x402orleans: invalid configuration: ";

    /// <summary>
    /// Builds the host with <paramref name="create"/> (which reads the settings), runs <paramref name="validate"/> on its services,
    /// then runs it to the end. Returns the process exit code: 0 after a normal stop, <see cref="ExitCode"/> for an invalid setting.
    /// </summary>
    public static async Task<int> RunAsync(Func<IHost> create, Action<IServiceProvider> validate, TextWriter? error = null)
    {
        ArgumentNullException.ThrowIfNull(create);
        ArgumentNullException.ThrowIfNull(validate);
        error ??= Console.Error;
        IHost? host = null;
        try
        {
            host = create();
            validate(host.Services);
        }
        catch (Exception ex) when (Describe(ex) is { } message)
        {
            host?.Dispose();
            await error.WriteLineAsync(Prefix + message);
            await error.FlushAsync();
            return ExitCode;
        }

        using (host)
        {
            await host.RunAsync();
        }

        return 0;
    }

    /// <summary>Resolves the options of <typeparamref name="TOptions"/>, which runs their validation (and throws on failure).</summary>
    public static void ValidateOptions<TOptions>(IServiceProvider services)
        where TOptions : class => _ = services.GetRequiredService<IOptions<TOptions>>().Value;

    /// <summary>The one-line description of a configuration error, or null when <paramref name="exception"/> is not one.</summary>
    public static string? Describe(Exception exception) => exception switch
    {
        InvalidConfigurationException e => OneLine(e.Message),
        OptionsValidationException e => OneLine(string.Join("; ", e.Failures)),
        _ => null,
    };

    private static string OneLine(string text) => text.ReplaceLineEndings(" ").Trim();
}
