namespace X402Orleans.Payments.Wire;

/// <summary>HTTP header names of x402 V2 and V1 and of the sign-in-with-x extension.</summary>
public static class X402Headers
{
    /// <summary>V2: the server's challenge on a 402.</summary>
    public const string PaymentRequired = "PAYMENT-REQUIRED";

    /// <summary>V2: the client's signed payment.</summary>
    public const string PaymentSignature = "PAYMENT-SIGNATURE";

    /// <summary>V2: the server's settlement receipt.</summary>
    public const string PaymentResponse = "PAYMENT-RESPONSE";

    /// <summary>V1: the client's signed payment.</summary>
    public const string XPayment = "X-PAYMENT";

    /// <summary>V1: the server's settlement receipt.</summary>
    public const string XPaymentResponse = "X-PAYMENT-RESPONSE";

    /// <summary>sign-in-with-x proof.</summary>
    public const string SignInWithX = "SIGN-IN-WITH-X";

    /// <summary>Headers a caller may never set or override: they carry payments and proofs, or route the request.</summary>
    public static readonly IReadOnlySet<string> Reserved = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        PaymentSignature, XPayment, SignInWithX, "Host",
    };
}
