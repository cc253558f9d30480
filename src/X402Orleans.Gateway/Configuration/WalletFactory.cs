using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using X402Orleans.Abstractions;
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
            var signer = Load(() => LocalPrivateKeySigner.FromHex(wallet.PrivateKey), "X402:Wallet:PrivateKey");
            Log.Configured(logger, signer.Address, "X402:Wallet:PrivateKey");
            return signer;
        }

        if (!string.IsNullOrWhiteSpace(wallet.PrivateKeyFile))
        {
            var signer = Load(() => LocalPrivateKeySigner.FromFile(wallet.PrivateKeyFile), "X402:Wallet:PrivateKeyFile");
            Log.Configured(logger, signer.Address, "X402:Wallet:PrivateKeyFile");
            return signer;
        }

        if (!string.IsNullOrWhiteSpace(wallet.KeystoreFile))
        {
            var signer = Load(() => KeystoreLoader.Load(wallet.KeystoreFile, wallet.KeystorePassword, wallet.KeystorePasswordFile), "X402:Wallet:KeystoreFile");
            Log.Configured(logger, signer.Address, "X402:Wallet:KeystoreFile");
            return signer;
        }

        var dev = LocalPrivateKeySigner.Generate();
        Log.Generated(logger, dev.Address);
        return dev;
    }

    /// <summary>
    /// Loads a key, turning a key that cannot be used into an <see cref="InvalidConfigurationException"/> naming
    /// <paramref name="setting"/> (the messages of these exceptions never carry key material).
    /// </summary>
    private static LocalPrivateKeySigner Load(Func<LocalPrivateKeySigner> load, string setting)
    {
        try
        {
            return load();
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException or KeystoreException or IOException or UnauthorizedAccessException)
        {
            throw new InvalidConfigurationException($"{setting} ({EnvironmentName(setting)}): {ex.Message}", ex);
        }
    }

    private static string EnvironmentName(string setting) => setting.Replace(":", "__", StringComparison.Ordinal);

    private static partial class Log
    {
        [LoggerMessage(100, LogLevel.Information, "Wallet {Address} loaded from {Source}")]
        public static partial void Configured(ILogger logger, string address, string source);

        [LoggerMessage(101, LogLevel.Warning, "No wallet configured: generated a throwaway development wallet {Address} (its key is kept in memory only; set X402__Wallet__PrivateKey, X402__Wallet__PrivateKeyFile or X402__Wallet__KeystoreFile for a real one)")]
        public static partial void Generated(ILogger logger, string address);
    }
}
