using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nethereum.KeyStore;
using Nethereum.KeyStore.Model;
using X402Orleans.Gateway.Configuration;
using X402Orleans.Payments;
using X402Orleans.Payments.Signing;

namespace X402Orleans.Gateway.Tests;

/// <summary>The wallet from an encrypted keystore: option validation, loading by <see cref="WalletFactory"/>, and the real host.</summary>
public sealed class WalletKeystoreTests : IDisposable
{
    private const string Password = "keystore password 0123";

    private readonly string _directory = Directory.CreateTempSubdirectory("x402-wallet-keystore-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Validate_Succeeds_WithKeystoreAndPasswordFile()
    {
        var options = Options(new WalletOptions { KeystoreFile = Keystore(), KeystorePasswordFile = Write("password", Password + "\n") });

        Assert.True(new X402OptionsValidator().Validate(null, options).Succeeded);
    }

    [Fact]
    public void Validate_Succeeds_WithKeystoreAndPassword()
    {
        var options = Options(new WalletOptions { KeystoreFile = Keystore(), KeystorePassword = Password });

        Assert.True(new X402OptionsValidator().Validate(null, options).Succeeded);
    }

    [Fact]
    public void Validate_FailsOneLine_WhenTwoKeySources()
    {
        var failures = Failures(new WalletOptions { PrivateKey = GatewayHost.WalletKey, KeystoreFile = Keystore(), KeystorePassword = Password });

        Assert.Equal(["X402:Wallet: set only one of PrivateKey, PrivateKeyFile and KeystoreFile"], failures);
    }

    [Fact]
    public void Validate_FailsOneLine_WhenAllThreeKeySources()
    {
        var failures = Failures(new WalletOptions { PrivateKey = GatewayHost.WalletKey, PrivateKeyFile = Write("key", GatewayHost.WalletKey), KeystoreFile = Keystore(), KeystorePassword = Password });

        Assert.Equal(["X402:Wallet: set only one of PrivateKey, PrivateKeyFile and KeystoreFile"], failures);
    }

    [Fact]
    public void Validate_Fails_WhenKeystoreHasNoPassword()
    {
        var failures = Failures(new WalletOptions { KeystoreFile = Keystore() });

        Assert.Equal(["X402:Wallet:KeystoreFile: set exactly one of KeystorePasswordFile and KeystorePassword"], failures);
    }

    [Fact]
    public void Validate_Fails_WhenKeystoreHasTwoPasswords()
    {
        var failures = Failures(new WalletOptions { KeystoreFile = Keystore(), KeystorePassword = Password, KeystorePasswordFile = Write("password", Password) });

        Assert.Equal(["X402:Wallet:KeystoreFile: set exactly one of KeystorePasswordFile and KeystorePassword"], failures);
    }

    [Fact]
    public void Validate_Fails_WhenPasswordWithoutKeystore()
    {
        var failures = Failures(new WalletOptions { PrivateKey = GatewayHost.WalletKey, KeystorePassword = Password });

        Assert.Equal(["X402:Wallet: KeystorePassword or KeystorePasswordFile is set without KeystoreFile"], failures);
    }

    [Fact]
    public void Validate_FailsOneLinePerMissingFile_WhenFilesMissing()
    {
        var failures = Failures(new WalletOptions { KeystoreFile = Path.Combine(_directory, "missing.json"), KeystorePasswordFile = Path.Combine(_directory, "missing-password") });

        Assert.Equal(["X402:Wallet:KeystoreFile: the file does not exist", "X402:Wallet:KeystorePasswordFile: the file does not exist"], failures);
    }

    [Fact]
    public void Validate_NeverEchoesPassword_InAnyFailure()
    {
        var failures = Failures(new WalletOptions { KeystorePassword = Password, KeystorePasswordFile = Path.Combine(_directory, "missing") });

        Assert.NotEmpty(failures);
        Assert.All(failures, f => Assert.DoesNotContain(Password, f, StringComparison.Ordinal));
    }

    [Fact]
    public void Create_LoadsKeystore_WithPasswordFileAndLogsSourceNotKey()
    {
        var logger = new ListLogger();
        var options = Microsoft.Extensions.Options.Options.Create(Options(new WalletOptions { KeystoreFile = Keystore(), KeystorePasswordFile = Write("password", Password + "\r\n") }));

        var signer = WalletFactory.Create(options, logger);

        Assert.Equal(GatewayHost.WalletAddress, signer.Address);
        var line = Assert.Single(logger.Lines);
        Assert.Equal($"Wallet {GatewayHost.WalletAddress} loaded from X402:Wallet:KeystoreFile", line);
        Assert.DoesNotContain(GatewayHost.WalletKey[2..], line, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(Password, line, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_LoadsKeystore_WithPassword()
    {
        var options = Microsoft.Extensions.Options.Options.Create(Options(new WalletOptions { KeystoreFile = Keystore(), KeystorePassword = Password }));

        Assert.Equal(GatewayHost.WalletAddress, WalletFactory.Create(options, new ListLogger()).Address);
    }

    [Fact]
    public void Create_ThrowsMacMismatchNamingFile_WhenPasswordWrong()
    {
        var keystore = Keystore();
        var options = Microsoft.Extensions.Options.Options.Create(Options(new WalletOptions { KeystoreFile = keystore, KeystorePassword = "not the password" }));

        var ex = Assert.Throws<X402Orleans.Abstractions.InvalidConfigurationException>(() => WalletFactory.Create(options, new ListLogger()));

        Assert.Equal($"X402:Wallet:KeystoreFile (X402__Wallet__KeystoreFile): The wallet keystore file '{keystore}' cannot be opened: the keystore password is wrong (MAC mismatch).", ex.Message);
        Assert.IsType<KeystoreException>(ex.InnerException);
        Assert.DoesNotContain(GatewayHost.WalletKey[2..], ex.ToString(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Host_SignsWithKeystoreWallet_WhenConfiguredByKeystoreFile()
    {
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["X402:Wallet:PrivateKey"] = null,
            ["X402:Wallet:KeystoreFile"] = Keystore(),
            ["X402:Wallet:KeystorePasswordFile"] = Write("password", Password + "\n"),
        });

        Assert.Equal(GatewayHost.WalletAddress, host.Services.GetRequiredService<IPaymentSigner>().Address);
    }

    private static X402Options Options(WalletOptions wallet) => new() { Wallet = wallet };

    private static List<string> Failures(WalletOptions wallet)
    {
        var result = new X402OptionsValidator().Validate(null, Options(wallet));
        Assert.True(result.Failed);
        return [.. result.Failures!];
    }

    /// <summary>The gateway test wallet in a Nethereum scrypt keystore (n lowered to 4096 so the tests stay fast).</summary>
    private string Keystore()
    {
        var json = new KeyStoreScryptService().EncryptAndGenerateKeyStoreAsJson(
            Password, Convert.FromHexString(GatewayHost.WalletKey[2..]), GatewayHost.WalletAddress, new ScryptParams { Dklen = 32, N = 4096, R = 8, P = 1 });
        return Write("wallet.json", json);
    }

    private string Write(string name, string content)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllText(path, content);
        return path;
    }

    private sealed class ListLogger : ILogger
    {
        private readonly ConcurrentQueue<string> _lines = new();

        public IEnumerable<string> Lines => _lines;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            ArgumentNullException.ThrowIfNull(formatter);
            _lines.Enqueue(formatter(state, exception));
        }
    }
}
