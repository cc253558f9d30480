using X402Orleans.Payments.Policy;

namespace X402Orleans.Payments.Http;

/// <summary>How an <see cref="X402PaymentHandler"/> pays: what it accepts, how much in total, and where it remembers what it paid for.</summary>
public sealed record X402PaymentOptions
{
    /// <summary>Networks, assets and the ceiling per payment (default: USDC on Base and Base Sepolia, at most 0.10 per payment).</summary>
    public PaymentPolicy Policy { get; init; } = PaymentPolicy.Default;

    /// <summary>
    /// The most this handler may spend per asset over its lifetime, as a decimal string in the asset's units (e.g. "1.00"); null for
    /// no total ceiling. A payment counts from the moment it is signed, refused or not: a signed authorization could still settle.
    /// </summary>
    public string? MaxTotal { get; init; }

    /// <summary>Where paid resources are remembered for sign-in-with-x reuse (default: in memory, per handler).</summary>
    public IPaidAccessStore? AccessStore { get; init; }

    /// <summary>The clock for authorization windows.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>
    /// Request bodies are buffered (so a paid retry can resend them) up to this size; a larger body is sent unbuffered and its 402
    /// ends in an <see cref="X402PaymentException"/> of kind <see cref="X402PaymentFailure.BodyNotReplayable"/>.
    /// </summary>
    public long MaxBufferedRequestBytes { get; init; } = 4 * 1024 * 1024;
}

/// <summary>How a request through an <see cref="X402PaymentHandler"/> got its response.</summary>
public enum X402Access
{
    /// <summary>No 402: the response is the server's first answer.</summary>
    Free,

    /// <summary>Paid once; <see cref="X402PaymentOutcome.Settlement"/> holds the server's receipt.</summary>
    Paid,

    /// <summary>Reused a past payment (or a sign-in-only route) by a sign-in-with-x proof; nothing was paid.</summary>
    SignedIn,

    /// <summary>A payment was signed and sent, and the server answered 402 again (its reason in <see cref="X402PaymentOutcome.Error"/>).</summary>
    Rejected,
}

/// <summary>What the handler did for one request; read it with <see cref="X402HttpResponseExtensions.GetX402Outcome"/>.</summary>
/// <param name="Access">How access was obtained.</param>
/// <param name="Payer">The signing wallet's address (null when nothing was signed).</param>
/// <param name="Requirement">The option paid (Paid or Rejected).</param>
/// <param name="Settlement">The server's <c>PAYMENT-RESPONSE</c> (or V1 <c>X-PAYMENT-RESPONSE</c>) receipt, when it sent one.</param>
/// <param name="Error">The server's reason when it refused the payment or the proof.</param>
public sealed record X402PaymentOutcome(X402Access Access, string? Payer, Wire.PaymentRequirements? Requirement, Wire.SettlementResponse? Settlement, string? Error);

/// <summary>Why an <see cref="X402PaymentHandler"/> would not pay a 402.</summary>
public enum X402PaymentFailure
{
    /// <summary>The 402 carries no readable payment requirements (neither a V2 header nor a V1 body).</summary>
    MalformedChallenge,

    /// <summary>No offered option is acceptable under the policy (network, asset, scheme or per-payment ceiling).</summary>
    PolicyRefused,

    /// <summary>Paying would exceed <see cref="X402PaymentOptions.MaxTotal"/>.</summary>
    TotalCapExceeded,

    /// <summary>The request body could not be buffered, so it cannot be resent with a payment.</summary>
    BodyNotReplayable,
}

/// <summary>The handler refused to pay a 402. The message says why in terms of the offer and the policy; it never holds key material.</summary>
public sealed class X402PaymentException : Exception
{
    /// <summary>Creates the exception.</summary>
    public X402PaymentException(X402PaymentFailure failure, string message, Exception? innerException = null)
        : base(message, innerException) => Failure = failure;

    /// <summary>Creates the exception.</summary>
    public X402PaymentException()
    {
    }

    /// <summary>Creates the exception.</summary>
    public X402PaymentException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public X402PaymentException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Why nothing was paid.</summary>
    public X402PaymentFailure Failure { get; }
}

/// <summary>Reads what an <see cref="X402PaymentHandler"/> did from a response.</summary>
public static class X402HttpResponseExtensions
{
    /// <summary>The outcome recorded on the response's request, or null when the request did not go through an <see cref="X402PaymentHandler"/>.</summary>
    public static X402PaymentOutcome? GetX402Outcome(this HttpResponseMessage response)
    {
        ArgumentNullException.ThrowIfNull(response);
        return response.RequestMessage is { } request && request.Options.TryGetValue(X402PaymentHandler.OutcomeKey, out var outcome) ? outcome : null;
    }
}
