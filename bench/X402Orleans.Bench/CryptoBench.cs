using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using System.Text.Json.Nodes;
using Nethereum.Signer;
using Nethereum.Signer.EIP712;
using Nethereum.Util;
using X402Orleans.Payments.Evm;
using X402Orleans.Payments.Signing;
using X402Orleans.Payments.Wire;

namespace X402Orleans.Bench;

/// <summary>
/// <c>--only crypto</c>: secp256k1 operations per second on one thread, side by side in one process: Nethereum over BouncyCastle
/// (the project's signing and recovery before) and the project's own path on NBitcoin.Secp256k1: EIP-712 sign (an x402
/// <c>exact</c> authorization), EIP-191 personal sign (a sign-in-with-x text) and EIP-712 signer recovery (what the paywall
/// verifies). Both sides hash with Nethereum; each pair is measured twice, alternating, and the better round is kept.
/// </summary>
internal static class CryptoBench
{
    private const string Key = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";

    private const string Message = "127.0.0.1:14021 wants you to sign in with your Ethereum account:\n0x2c7536E3605D9C16a7a3D7b1898e529396a65c23\n\nHi\n\n"
        + "URI: http://127.0.0.1:14021/api/v1/weather\nVersion: 1\nChain ID: 84532\nNonce: abcdef0123456789\nIssued At: 2026-11-24T21:35:11.892Z";

    /// <summary>Measures each operation for <see cref="BenchOptions.Duration"/> per side and round; prints ops/s and the ratio.</summary>
    public static int Run(BenchOptions options)
    {
        var signer = LocalPrivateKeySigner.FromHex(Key);
        var ethKey = new EthECKey(Key);
        var typedData = TypedData(signer.Address);
        var signature = signer.SignTypedDataAsync(typedData).AsTask().GetAwaiter().GetResult();
        var ecdsa = EthECDSASignatureFactory.ExtractECDSASignature(signature);
        var messageSigner = new EthereumMessageSigner();
        Console.Error.WriteLine($"crypto bench: 1 thread, warm-up {options.Warmup.TotalSeconds:0.#} s, window {options.Duration.TotalSeconds:0.#} s per side and round, 2 rounds; load average {LoadAverage()}");

        Compare(options, "eip712_sign",
            () => Eip712TypedDataSigner.Current.SignTypedDataV4(typedData, ethKey),
            () => signer.SignTypedDataAsync(typedData).AsTask().GetAwaiter().GetResult());
        Compare(options, "personal_sign",
            () => messageSigner.EncodeUTF8AndSign(Message, ethKey),
            () => signer.SignMessageAsync(Message).AsTask().GetAwaiter().GetResult());
        Compare(options, "eip712_recover",
            () => EthECKey.RecoverFromSignature(ecdsa, Sha3Keccack.Current.CalculateHash(Eip712TypedDataSigner.Current.EncodeTypedData(typedData))).GetPublicAddress(),
            () => ExactEvmScheme.TryRecover(typedData, signature, out var address) ? address! : string.Empty);
        Console.Error.WriteLine($"crypto bench: load average {LoadAverage()}");
        return 0;
    }

    private static void Compare(BenchOptions options, string name, Func<string> nethereum, Func<string> secp)
    {
        if (!string.Equals(nethereum(), secp(), StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"{name}: the two implementations disagree");
        }

        Measure(nethereum, options.Warmup);
        Measure(secp, options.Warmup);
        double old = 0, fast = 0;
        for (var round = 0; round < 2; round++)
        {
            old = Math.Max(old, Measure(nethereum, options.Duration));
            fast = Math.Max(fast, Measure(secp, options.Duration));
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  {name,-15} nethereum {old,9:F0} ops/s  nbitcoin_secp256k1 {fast,9:F0} ops/s  ratio {fast / old:F2}x"));
    }

    /// <summary>Calls <paramref name="operation"/> in a loop for <paramref name="window"/>; returns calls per second.</summary>
    private static double Measure(Func<string> operation, TimeSpan window)
    {
        var clock = Stopwatch.StartNew();
        long calls = 0;
        while (clock.Elapsed < window)
        {
            operation();
            calls++;
        }

        return calls / clock.Elapsed.TotalSeconds;
    }

    private static string TypedData(string from)
    {
        var requirement = PaymentRequirements.Create(
            ExactEvmScheme.Name, "eip155:84532", 10000, "0x036CbD53842c5426634e7929541eC2318f3dCF7e", "0x209693Bc6afc0C5328bA36FaF03C514EF312287C", 300,
            new JsonObject { ["name"] = "USDC", ["version"] = "2" });
        var authorization = new TransferAuthorization(from, requirement.PayTo, new BigInteger(10000), 0, 1767225900, "0x" + new string('1', 64));
        return ExactEvmScheme.BuildTypedData(requirement, authorization);
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
}
