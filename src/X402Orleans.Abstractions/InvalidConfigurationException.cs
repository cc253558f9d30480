namespace X402Orleans.Abstractions;

/// <summary>
/// A setting is invalid: the process cannot serve as configured. The message names the setting to fix (never a secret value).
/// The hosts turn it into one line on stderr and exit code 2 before they start serving.
/// </summary>
public sealed class InvalidConfigurationException : Exception
{
    /// <summary>Creates the exception.</summary>
    public InvalidConfigurationException()
        : this("A setting is invalid.")
    {
    }

    /// <summary>Creates the exception naming the setting to fix.</summary>
    public InvalidConfigurationException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception naming the setting to fix, with the cause.</summary>
    public InvalidConfigurationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
