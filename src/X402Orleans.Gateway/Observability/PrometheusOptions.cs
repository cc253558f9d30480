using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using X402Orleans.Abstractions;

namespace X402Orleans.Gateway.Observability;

/// <summary>
/// The Prometheus scrape endpoint (<c>X402:Metrics:Prometheus</c>): <c>/metrics</c> in the Prometheus text format from the
/// process's OpenTelemetry meters. Off unless <see cref="Enabled"/>. With <see cref="Port"/> it is served only on its own
/// endpoint (<see cref="Address"/>:<see cref="Port"/>, loopback unless configured), which serves nothing else; with
/// <see cref="ApiKey"/> a scrape must present <c>Authorization: Bearer &lt;key&gt;</c>. With neither, only loopback clients
/// may scrape.
/// </summary>
public sealed class PrometheusOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "X402:Metrics:Prometheus";

    /// <summary>The scrape path.</summary>
    public const string Path = "/metrics";

    /// <summary>The shortest accepted <see cref="ApiKey"/>.</summary>
    public const int MinimumKeyLength = 32;

    /// <summary>Whether <c>/metrics</c> is served at all (default off).</summary>
    public bool Enabled { get; set; }

    /// <summary>A port of its own for <c>/metrics</c> (served on no other port); null: the host's own URLs.</summary>
    public int? Port { get; set; }

    /// <summary>The address the own <see cref="Port"/> binds (an IP address, <c>localhost</c> or <c>*</c> for all); default loopback.</summary>
    public string Address { get; set; } = "127.0.0.1";

    /// <summary>A bearer key scrapers must present (≥ <see cref="MinimumKeyLength"/> characters); null: none.</summary>
    public string? ApiKey { get; set; }

    /// <summary>
    /// Reads and validates the section; throws <see cref="OptionsValidationException"/> (or
    /// <see cref="InvalidConfigurationException"/> for a value of the wrong type) naming each setting to fix.
    /// </summary>
    public static PrometheusOptions Read(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var options = new PrometheusOptions();
        try
        {
            configuration.GetSection(SectionName).Bind(options);
        }
        catch (InvalidOperationException ex)
        {
            throw new InvalidConfigurationException($"{SectionName}: {ex.Message}");
        }

        var result = new PrometheusOptionsValidator().Validate(null, options);
        return result.Failed ? throw new OptionsValidationException(SectionName, typeof(PrometheusOptions), result.Failures) : options;
    }

    /// <summary>Whether scrapes must present <see cref="ApiKey"/> (an empty value counts as unset).</summary>
    internal bool RequiresKey => !string.IsNullOrEmpty(ApiKey);

    /// <summary>The URL of the own endpoint (null without <see cref="Port"/>).</summary>
    internal string? OwnUrl => Port is { } port ? $"http://{(Address is "*" or "+" ? "*" : Address.Contains(':', StringComparison.Ordinal) ? $"[{Address}]" : Address)}:{port}" : null;
}

/// <summary>Validates <see cref="PrometheusOptions"/> with messages that name the setting to fix.</summary>
public sealed class PrometheusOptionsValidator : IValidateOptions<PrometheusOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, PrometheusOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        const string Section = PrometheusOptions.SectionName;
        if (options.Port is { } port && port is < 1 or > 65535)
        {
            failures.Add($"{Section}:Port must be a TCP port between 1 and 65535 (got {port})");
        }

        if (options.Address is not ("*" or "+" or "localhost") && !IPAddress.TryParse(options.Address, out _))
        {
            failures.Add($"{Section}:Address must be an IP address, 'localhost' or '*' (got '{options.Address}')");
        }

        if (options.ApiKey is { Length: > 0 } key && key.Trim().Length < PrometheusOptions.MinimumKeyLength)
        {
            failures.Add($"{Section}:ApiKey must be at least {PrometheusOptions.MinimumKeyLength} characters (or unset)");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
