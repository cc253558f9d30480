using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using X402Orleans.Payments;
using X402Orleans.Payments.Evm;

namespace X402Orleans.Gateway.Configuration;

/// <summary>Validates <see cref="X402Options"/> at start, with messages that name the setting to fix.</summary>
public sealed class X402OptionsValidator : IValidateOptions<X402Options>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, X402Options options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        Check(options.Payments, "X402:Payments", failures);
        Check(options.Http, "X402:Http", failures);
        Check(options.Sessions, "X402:Sessions", failures);
        for (var i = 0; i < options.Agents.Count; i++)
        {
            Check(options.Agents[i], $"X402:Agents:{i}", failures);
        }

        var duplicateIds = options.Agents.GroupBy(a => a.Id, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key);
        failures.AddRange(duplicateIds.Select(id => $"X402:Agents: agent id '{id}' is configured twice"));
        if (options.Agents.Select(a => a.ApiKey).Distinct(StringComparer.Ordinal).Count() != options.Agents.Count)
        {
            failures.Add("X402:Agents: two agents share an API key");
        }

        for (var i = 0; i < options.Payments.Assets.Count; i++)
        {
            var asset = options.Payments.Assets[i];
            Check(asset, $"X402:Payments:Assets:{i}", failures);
            if (!EvmAddress.IsValid(asset.Address))
            {
                failures.Add($"X402:Payments:Assets:{i}:Address is not an EVM address");
            }

            if (!NetworkNames.TryGetEvmChainId(asset.Network, out _))
            {
                failures.Add($"X402:Payments:Assets:{i}:Network must be CAIP-2 eip155:<chain id>");
            }
        }

        for (var i = 0; i < options.Payments.Schemes.Count; i++)
        {
            if (options.Payments.Schemes[i] is not ("exact" or "upto" or "batch-settlement"))
            {
                failures.Add($"X402:Payments:Schemes:{i} must be exact, upto or batch-settlement");
            }
        }

        for (var i = 0; i < options.Payments.Rpc.Count; i++)
        {
            var rpc = options.Payments.Rpc[i];
            if (!NetworkNames.TryGetEvmChainId(rpc.Network, out _))
            {
                failures.Add($"X402:Payments:Rpc:{i}:Network must be CAIP-2 eip155:<chain id>");
            }

            if (!Uri.TryCreate(rpc.Url, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
            {
                failures.Add($"X402:Payments:Rpc:{i}:Url must be an absolute http(s) URL");
            }
        }

        if (!AtomicAmount.TryParseDecimal(options.Payments.MaxPayment, 18, out _, out var why))
        {
            failures.Add($"X402:Payments:MaxPayment: {why}");
        }

        CheckWallet(options.Wallet, failures);
        CheckAdmin(options, failures);

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>At most one key source; a keystore with exactly one password source; every named file present.</summary>
    private static void CheckWallet(WalletOptions wallet, List<string> failures)
    {
        if (new[] { wallet.PrivateKey, wallet.PrivateKeyFile, wallet.KeystoreFile }.Count(v => v is not null) > 1)
        {
            failures.Add("X402:Wallet: set only one of PrivateKey, PrivateKeyFile and KeystoreFile");
        }

        var passwordSources = new[] { wallet.KeystorePassword, wallet.KeystorePasswordFile }.Count(v => v is not null);
        if (wallet.KeystoreFile is not null && passwordSources != 1)
        {
            failures.Add("X402:Wallet:KeystoreFile: set exactly one of KeystorePasswordFile and KeystorePassword");
        }
        else if (wallet.KeystoreFile is null && passwordSources > 0)
        {
            failures.Add("X402:Wallet: KeystorePassword or KeystorePasswordFile is set without KeystoreFile");
        }

        CheckFile(wallet.PrivateKeyFile, "X402:Wallet:PrivateKeyFile", failures);
        CheckFile(wallet.KeystoreFile, "X402:Wallet:KeystoreFile", failures);
        CheckFile(wallet.KeystorePasswordFile, "X402:Wallet:KeystorePasswordFile", failures);
    }

    /// <summary>Operator keys long enough, distinct, and never an agent's key; operator names distinct.</summary>
    private static void CheckAdmin(X402Options options, List<string> failures)
    {
        var admin = options.Admin;
        if (admin.ApiKey is { } key && key.Length < AdminOptions.MinKeyLength)
        {
            failures.Add($"X402:Admin:ApiKey: must be at least {AdminOptions.MinKeyLength} characters");
        }

        for (var i = 0; i < admin.Operators.Count; i++)
        {
            Check(admin.Operators[i], $"X402:Admin:Operators:{i}", failures);
        }

        var keys = admin.Operators.Select(o => o.ApiKey).Append(admin.ApiKey).OfType<string>().ToList();
        if (keys.Distinct(StringComparer.Ordinal).Count() != keys.Count)
        {
            failures.Add("X402:Admin: two operators share a key");
        }

        if (keys.Intersect(options.Agents.Select(a => a.ApiKey), StringComparer.Ordinal).Any())
        {
            failures.Add("X402:Admin: an operator key is also an agent's API key (operator and agent keys must differ)");
        }

        var names = admin.Operators.Select(o => o.Name).Concat(admin.ApiKey is null ? [] : ["admin"]).ToList();
        if (names.Distinct(StringComparer.Ordinal).Count() != names.Count)
        {
            failures.Add("X402:Admin:Operators: two operators share a name (\"admin\" is X402:Admin:ApiKey's)");
        }
    }

    private static void CheckFile(string? path, string setting, List<string> failures)
    {
        if (path is not null && !File.Exists(path))
        {
            failures.Add($"{setting}: the file does not exist");
        }
    }

    private static void Check(object target, string prefix, List<string> failures)
    {
        var results = new List<ValidationResult>();
        if (!Validator.TryValidateObject(target, new ValidationContext(target), results, validateAllProperties: true))
        {
            failures.AddRange(results.Select(r => $"{prefix}:{string.Join(",", r.MemberNames)}: {r.ErrorMessage}"));
        }
    }
}
