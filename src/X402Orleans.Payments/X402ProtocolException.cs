namespace X402Orleans.Payments;

/// <summary>A peer's x402 message cannot be acted on (malformed, unbound to its origin, unsupported). The message says why, never anything secret.</summary>
public sealed class X402ProtocolException : Exception
{
    /// <summary>Creates the exception.</summary>
    public X402ProtocolException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public X402ProtocolException()
    {
    }

    /// <summary>Creates the exception.</summary>
    public X402ProtocolException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
