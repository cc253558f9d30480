using System.Numerics;
using X402Orleans.Payments.Evm.Upto;

namespace X402Orleans.Interop.Tests;

/// <summary>A chain view with a fixed Permit2 allowance and EIP-2612 nonce: what the oracles' <c>"chain"</c> input gives the official client.</summary>
internal sealed class FixedPermit2Tokens(BigInteger allowance, BigInteger permitNonce) : IPermit2TokenReader
{
    public ValueTask<BigInteger?> ReadPermit2AllowanceAsync(string network, string token, string owner, CancellationToken cancellationToken) => ValueTask.FromResult<BigInteger?>(allowance);

    public ValueTask<BigInteger> ReadPermitNonceAsync(string network, string token, string owner, CancellationToken cancellationToken) => ValueTask.FromResult(permitNonce);
}
