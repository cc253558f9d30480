using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using X402Orleans.Payments.Signing;

namespace X402Orleans.Gateway.Configuration;

/// <summary>Builds the gateway's signer from configuration; with none configured, a throwaway development wallet.</summary>
public static partial class WalletFactory
{
    /// <summary>Creates the signer. The key is read once and kept only inside the signer.</summary>
    public static IPaymentSigner Create(IOptions<X402Options> options, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        var wallet = options.Value.Wallet;
        if (!string.IsNullOrWhiteSpace(wallet.PrivateKey))
        {
            var signer = LocalPrivateKeySigner.FromHex(wallet.PrivateKey);
            Log.Configured(logger, signer.Address, "X402:Wallet:PrivateKey");
            return signer;
        }

        if (!string.IsNullOrWhiteSpace(wallet.PrivateKeyFile))
        {
            var signer = LocalPrivateKeySigner.FromFile(wallet.PrivateKeyFile);
            Log.Configured(logger, signer.Address, "X402:Wallet:PrivateKeyFile");
            return signer;
        }

        if (!string.IsNullOrWhiteSpace(wallet.KeystoreFile))
        {
            var signer = KeystoreLoader.Load(wallet.KeystoreFile, wallet.KeystorePassword, wallet.KeystorePasswordFile);
            Log.Configured(logger, signer.Address, "X402:Wallet:KeystoreFile");
            return signer;
        }

        var dev = LocalPrivateKeySigner.Generate();
        Log.Generated(logger, dev.Address);
        return dev;
    }

    private static partial class Log
    {
        [LoggerMessage(100, LogLevel.Information, "Wallet {Address} loaded from {Source}")]
        public static partial void Configured(ILogger logger, string address, string source);

        [LoggerMessage(101, LogLevel.Warning, "No wallet configured: generated a throwaway development wallet {Address} (its key is kept in memory only; set X402__Wallet__PrivateKey, X402__Wallet__PrivateKeyFile or X402__Wallet__KeystoreFile for a real one)")]
        public static partial void Generated(ILogger logger, string address);
    }
}
