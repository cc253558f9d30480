using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using X402Orleans.Abstractions;
using X402Orleans.Payments.Signing;

namespace X402Orleans.Gateway.Configuration;

/// <summary>Where a process keeps its state, as far as the keyless development wallet is concerned.</summary>
public enum DevWalletMode
{
    /// <summary>No state folder (<c>:memory:</c> storage, tests): a throwaway in-memory wallet.</summary>
    Throwaway,

    /// <summary>Local mode on a SQLite file: one development wallet kept in the state folder and reused on later starts.</summary>
    Persistent,

    /// <summary>AdoNet mode (a cluster): a throwaway wallet per silo, with a warning that a key should be configured.</summary>
    Cluster,
}

/// <summary>Builds the gateway's signer from configuration; with none configured, a development wallet.</summary>
public static partial class WalletFactory
{
    /// <summary>The development wallet's file name in the state folder.</summary>
    public const string DevWalletFileName = "dev-wallet.key";

    /// <summary>Creates the signer. The key is read once and kept only inside the signer.</summary>
    public static IPaymentSigner Create(IOptions<X402Options> options, ILogger logger) => Create(options, logger, DevWalletMode.Throwaway, null);

    /// <summary>
    /// Creates the signer. With no key configured: <see cref="DevWalletMode.Persistent"/> loads (or, on the first start, creates) the
    /// development wallet <see cref="DevWalletFileName"/> in <paramref name="stateFolder"/>; otherwise a throwaway in-memory wallet.
    /// </summary>
    public static IPaymentSigner Create(IOptions<X402Options> options, ILogger logger, DevWalletMode mode, string? stateFolder)
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

        if (mode == DevWalletMode.Persistent && !string.IsNullOrWhiteSpace(stateFolder))
        {
            return LoadOrCreateDevWallet(Path.Combine(stateFolder, DevWalletFileName), logger);
        }

        var dev = LocalPrivateKeySigner.Generate();
        if (mode == DevWalletMode.Cluster)
        {
            Log.GeneratedInCluster(logger, dev.Address);
        }
        else
        {
            Log.Generated(logger, dev.Address);
        }

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

    /// <summary>
    /// Loads the development wallet from <paramref name="path"/>, creating it first when missing: a file holding the hex key, created
    /// owner-only (0600 on Unix) under a temporary name and moved into place, so a crash never leaves a half-written key.
    /// </summary>
    public static LocalPrivateKeySigner LoadOrCreateDevWallet(string path, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (File.Exists(path))
        {
            WarnIfReadableByOthers(path, logger);
            var existing = LoadDevWallet(path);
            Log.DevWalletReused(logger, existing.Address, path);
            return existing;
        }

        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temporary = $"{path}.{Guid.NewGuid():N}.tmp";
        LocalPrivateKeySigner created;
        try
        {
            created = WriteNewKey(temporary);
            try
            {
                File.Move(temporary, path, overwrite: false);
            }
            catch (IOException) when (File.Exists(path))
            {
                // Another process created it first: use that one.
                var raced = LoadDevWallet(path);
                Log.DevWalletReused(logger, raced.Address, path);
                return raced;
            }
        }
        finally
        {
            File.Delete(temporary);
        }

        Log.DevWalletCreated(logger, created.Address, path);
        return created;
    }

    private static LocalPrivateKeySigner LoadDevWallet(string path)
    {
        try
        {
            return LocalPrivateKeySigner.FromFile(path);
        }
        catch (FormatException ex)
        {
            throw new InvalidConfigurationException($"The development wallet file '{path}' does not hold a valid key ({ex.Message}); delete it to create a new one, or configure X402:Wallet.", ex);
        }
    }

    private static LocalPrivateKeySigner WriteNewKey(string temporary)
    {
        var bytes = new byte[32];
        char[] hex = [];
        try
        {
            while (true)
            {
                RandomNumberGenerator.Fill(bytes);
                hex = Convert.ToHexStringLower(bytes).ToCharArray();
                LocalPrivateKeySigner signer;
                try
                {
                    signer = LocalPrivateKeySigner.FromHex(new string(hex));
                }
                catch (FormatException)
                {
                    continue; // 0 or ≥ the group order: astronomically rare, draw again.
                }

                var file = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
                if (!OperatingSystem.IsWindows())
                {
                    file.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
                }

                using (var stream = new FileStream(temporary, file))
                using (var writer = new StreamWriter(stream))
                {
                    writer.Write("0x");
                    writer.Write(hex);
                    writer.Write('\n');
                    writer.Flush();
                    stream.Flush(flushToDisk: true);
                }

                return signer;
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);
            Array.Clear(hex);
        }
    }

    private static void WarnIfReadableByOthers(string path, ILogger logger)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        const UnixFileMode others = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;
        if ((File.GetUnixFileMode(path) & others) != 0)
        {
            Log.DevWalletReadableByOthers(logger, path);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(100, LogLevel.Information, "Wallet {Address} loaded from {Source}")]
        public static partial void Configured(ILogger logger, string address, string source);

        [LoggerMessage(101, LogLevel.Warning, "No wallet configured: generated a throwaway development wallet {Address} (its key is kept in memory only; set X402__Wallet__PrivateKey, X402__Wallet__PrivateKeyFile or X402__Wallet__KeystoreFile for a real one)")]
        public static partial void Generated(ILogger logger, string address);

        [LoggerMessage(102, LogLevel.Warning, "No wallet configured: created the development wallet {Address} in {Path} (local trials only: fund it with test tokens only; set X402__Wallet__PrivateKey, X402__Wallet__PrivateKeyFile or X402__Wallet__KeystoreFile for a real one)")]
        public static partial void DevWalletCreated(ILogger logger, string address, string path);

        [LoggerMessage(103, LogLevel.Warning, "No wallet configured: using the development wallet {Address} from {Path} (local trials only: fund it with test tokens only; set X402__Wallet__PrivateKey, X402__Wallet__PrivateKeyFile or X402__Wallet__KeystoreFile for a real one)")]
        public static partial void DevWalletReused(ILogger logger, string address, string path);

        [LoggerMessage(104, LogLevel.Warning, "The development wallet file {Path} is readable by other users; restrict it with chmod 600")]
        public static partial void DevWalletReadableByOthers(ILogger logger, string path);

        [LoggerMessage(105, LogLevel.Warning, "No wallet configured in AdoNet (cluster) mode: this silo generated its own throwaway wallet {Address}, different from every other silo's and lost on restart; configure X402__Wallet__PrivateKey, X402__Wallet__PrivateKeyFile or X402__Wallet__KeystoreFile on every silo")]
        public static partial void GeneratedInCluster(ILogger logger, string address);
    }
}
