namespace X402Orleans.Gateway.Sessions;

/// <summary>An expected failure of a tool call; its message tells the agent what went wrong and what to do. Never carries secrets.</summary>
public sealed class ToolError : Exception
{
    /// <summary>Creates the error.</summary>
    public ToolError(string message)
        : base(message)
    {
    }

    /// <summary>Creates the error.</summary>
    public ToolError()
    {
    }

    /// <summary>Creates the error.</summary>
    public ToolError(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
