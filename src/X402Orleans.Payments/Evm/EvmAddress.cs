using Nethereum.Util;

namespace X402Orleans.Payments.Evm;

/// <summary>EVM address checks and EIP-55 checksumming (Nethereum).</summary>
public static class EvmAddress
{
    private static readonly AddressUtil Util = AddressUtil.Current;

    /// <summary>True for <c>0x</c> followed by 40 hex digits (any case).</summary>
    public static bool IsValid(string? address) =>
        address is { Length: 42 } && address.StartsWith("0x", StringComparison.OrdinalIgnoreCase) && address.AsSpan(2).ContainsAnyExcept("0123456789abcdefABCDEF") == false;

    /// <summary>EIP-55 checksummed form.</summary>
    public static string ToChecksum(string address) => Util.ConvertToChecksumAddress(address);

    /// <summary>Case-insensitive address equality.</summary>
    public static bool AreEqual(string? a, string? b) => a is not null && b is not null && string.Equals(a, b, StringComparison.OrdinalIgnoreCase);
}
