namespace X402Orleans.Payments.Signing;

/// <summary>An encrypted keystore cannot be opened. The message names the keystore and the problem, never a password or key.</summary>
public sealed class KeystoreException : Exception
{
    /// <summary>Creates the exception.</summary>
    public KeystoreException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public KeystoreException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and cause.</summary>
    public KeystoreException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
