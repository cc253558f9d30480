using System.Numerics;

namespace X402Orleans.EndToEnd.Tests.Infrastructure;

/// <summary>Token balances of some addresses at one moment, to assert exact movements afterwards.</summary>
public sealed class Ledger
{
    private readonly NodeStack _stack;
    private readonly string _token;
    private readonly Dictionary<string, BigInteger> _before;

    private Ledger(NodeStack stack, string token, Dictionary<string, BigInteger> before)
    {
        _stack = stack;
        _token = token;
        _before = before;
    }

    /// <summary>Records the balances of <paramref name="addresses"/> now.</summary>
    public static async Task<Ledger> TakeOfTokenAsync(NodeStack stack, string token, params string[] addresses)
    {
        ArgumentNullException.ThrowIfNull(stack);
        var before = new Dictionary<string, BigInteger>(StringComparer.OrdinalIgnoreCase);
        foreach (var address in addresses)
        {
            before[address] = await stack.BalanceAsync(address, token);
        }

        return new Ledger(stack, token, before);
    }

    /// <summary>Records the stack token's balances of <paramref name="addresses"/> now.</summary>
    public static Task<Ledger> TakeAsync(NodeStack stack, params string[] addresses) => TakeOfTokenAsync(stack, stack?.Token ?? string.Empty, addresses);

    /// <summary>How much <paramref name="address"/>'s balance changed since the ledger was taken.</summary>
    public async Task<BigInteger> DeltaAsync(string address) => await _stack.BalanceAsync(address, _token) - _before[address];

    /// <summary>Asserts that every recorded balance is unchanged.</summary>
    public async Task AssertUnchangedAsync()
    {
        foreach (var address in _before.Keys)
        {
            Assert.Equal(BigInteger.Zero, await DeltaAsync(address));
        }
    }
}
