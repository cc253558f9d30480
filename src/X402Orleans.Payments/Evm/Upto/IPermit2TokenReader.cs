using System.Numerics;

namespace X402Orleans.Payments.Evm.Upto;

/// <summary>
/// The two token reads the upto client needs from a chain (the library itself never talks to one): the payer's Permit2 allowance and
/// its EIP-2612 nonce. A host implements it over JSON-RPC <c>eth_call</c>; without one the client signs no approval extension.
/// </summary>
public interface IPermit2TokenReader
{
    /// <summary><c>token.allowance(owner, Permit2)</c>, or null when the chain cannot tell.</summary>
    ValueTask<BigInteger?> ReadPermit2AllowanceAsync(string network, string token, string owner, CancellationToken cancellationToken);

    /// <summary><c>token.nonces(owner)</c> (EIP-2612).</summary>
    ValueTask<BigInteger> ReadPermitNonceAsync(string network, string token, string owner, CancellationToken cancellationToken);
}

/// <summary>Options of <see cref="UptoEvmScheme.CreatePaymentAsync"/>.</summary>
public sealed record UptoPaymentOptions
{
    /// <summary>Chain reads for the Permit2 allowance; null = the allowance is unknown and no approval extension is signed.</summary>
    public IPermit2TokenReader? Tokens { get; init; }

    /// <summary>Source of the Permit2 nonce; null = 32 cryptographically random bytes (tests inject a fixed value).</summary>
    public Func<BigInteger>? NonceFactory { get; init; }
}
