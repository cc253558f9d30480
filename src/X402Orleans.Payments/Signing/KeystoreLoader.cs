using System.Security.Cryptography;
using System.Text.Json;
using Nethereum.KeyStore;
using Nethereum.KeyStore.Crypto;

namespace X402Orleans.Payments.Signing;

/// <summary>
/// Opens an encrypted Ethereum keystore (Web3 Secret Storage version 3: AES-128-CTR with a scrypt or PBKDF2-SHA-256 key
/// derivation) as a <see cref="LocalPrivateKeySigner"/>. Decryption runs on Nethereum.KeyStore. Errors name the keystore
/// (its file, where there is one) and what is wrong with it, never the password or any key material, and carry no inner
/// exception that could.
/// </summary>
public static class KeystoreLoader
{
    private const string InlineSource = "The wallet keystore";

    /// <summary>
    /// Loads the signer from a keystore file, the password either given (<paramref name="password"/>) or read from
    /// <paramref name="passwordFile"/> (its trailing line break ignored). Exactly one of the two must be set.
    /// </summary>
    /// <exception cref="KeystoreException">No or two password sources, a missing or unreadable file, a malformed keystore or a wrong password.</exception>
    public static LocalPrivateKeySigner Load(string keystoreFile, string? password, string? passwordFile)
    {
        ArgumentNullException.ThrowIfNull(keystoreFile);
        if ((password is null) == (passwordFile is null))
        {
            throw new KeystoreException("The wallet keystore needs exactly one password source: a password or a password file.");
        }

        return FromFile(keystoreFile, password ?? ReadPasswordFile(passwordFile!));
    }

    /// <summary>Reads a keystore password from a file: the whole content, less trailing line breaks (<c>\n</c>, <c>\r\n</c>).</summary>
    /// <exception cref="KeystoreException">The file is missing or unreadable.</exception>
    public static string ReadPasswordFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new KeystoreException($"The wallet keystore password file '{path}' cannot be read ({e.GetType().Name}).");
        }

        return text.TrimEnd('\r', '\n');
    }

    /// <summary>Decrypts a keystore file with its password.</summary>
    /// <exception cref="KeystoreException">The file is missing or unreadable, the keystore is malformed or the password is wrong.</exception>
    public static LocalPrivateKeySigner FromFile(string path, string password)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(password);
        string json;
        try
        {
            json = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new KeystoreException($"The wallet keystore file '{path}' cannot be read ({e.GetType().Name}).");
        }

        return Decrypt(json, password, $"The wallet keystore file '{path}'");
    }

    /// <summary>Decrypts keystore JSON with its password.</summary>
    /// <exception cref="KeystoreException">The keystore is malformed or the password is wrong.</exception>
    public static LocalPrivateKeySigner FromJson(string keystoreJson, string password)
    {
        ArgumentNullException.ThrowIfNull(keystoreJson);
        ArgumentNullException.ThrowIfNull(password);
        return Decrypt(keystoreJson, password, InlineSource);
    }

    private static LocalPrivateKeySigner Decrypt(string json, string password, string source)
    {
        CheckShape(json, source);
        byte[] key;
        try
        {
            key = new KeyStoreService().DecryptKeyStoreFromJson(password, json);
        }
        catch (DecryptionException)
        {
            throw new KeystoreException($"{source} cannot be opened: the keystore password is wrong (MAC mismatch).");
        }
#pragma warning disable CA1031 // Anything else Nethereum throws is reported by type only, so that no message can carry key material.
        catch (Exception e)
#pragma warning restore CA1031
        {
            throw new KeystoreException($"{source} cannot be decrypted ({e.GetType().Name}); is it a version 3 keystore?");
        }

        try
        {
            return key.Length == 32
                ? LocalPrivateKeySigner.FromKeyBytes(key)
                : throw new KeystoreException($"{source} does not hold a 32-byte secp256k1 private key.");
        }
        catch (FormatException)
        {
            throw new KeystoreException($"{source} does not hold a valid secp256k1 private key.");
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>Checks the fields decryption needs, so that a malformed keystore gets a message saying what is wrong.</summary>
    private static void CheckShape(string json, string source)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException)
        {
            throw new KeystoreException($"{source} is not valid JSON.");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new KeystoreException($"{source} is not a JSON object.");
            }

            if (!TryGet(root, "version", out var version) || version.ValueKind != JsonValueKind.Number || !version.TryGetInt32(out var v) || v != 3)
            {
                throw new KeystoreException($"{source} is not a version 3 keystore (\"version\": 3 expected).");
            }

            if (!TryGet(root, "crypto", out var crypto) || crypto.ValueKind != JsonValueKind.Object)
            {
                throw new KeystoreException($"{source} has no \"crypto\" object.");
            }

            foreach (var field in (ReadOnlySpan<string>)["cipher", "ciphertext", "kdf", "mac"])
            {
                if (!TryGet(crypto, field, out var value) || value.ValueKind != JsonValueKind.String)
                {
                    throw new KeystoreException($"{source} has no \"crypto.{field}\" string.");
                }
            }

            if (!string.Equals(crypto.GetProperty("cipher").GetString(), "aes-128-ctr", StringComparison.Ordinal))
            {
                throw new KeystoreException($"{source} uses an unsupported cipher (only aes-128-ctr is supported).");
            }

            var kdf = crypto.GetProperty("kdf").GetString();
            if (kdf is not ("scrypt" or "pbkdf2"))
            {
                throw new KeystoreException($"{source} uses an unsupported key derivation (scrypt or pbkdf2 expected).");
            }

            if (!TryGet(crypto, "kdfparams", out var kdfParams) || kdfParams.ValueKind != JsonValueKind.Object)
            {
                throw new KeystoreException($"{source} has no \"crypto.kdfparams\" object.");
            }

            if (kdf == "pbkdf2" && (!TryGet(kdfParams, "prf", out var prf) || prf.ValueKind != JsonValueKind.String || prf.GetString() != "hmac-sha256"))
            {
                throw new KeystoreException($"{source} uses an unsupported PBKDF2 function (hmac-sha256 expected).");
            }

            CheckCost(kdf, kdfParams, source);
            if (!IsHex(kdfParams, "salt"))
            {
                throw new KeystoreException($"{source} has no hex \"crypto.kdfparams.salt\".");
            }

            if (!TryGet(crypto, "cipherparams", out var cipherParams) || !IsHex(cipherParams, "iv"))
            {
                throw new KeystoreException($"{source} has no hex \"crypto.cipherparams.iv\".");
            }

            foreach (var field in (ReadOnlySpan<string>)["ciphertext", "mac"])
            {
                if (!IsHex(crypto, field))
                {
                    throw new KeystoreException($"{source} has no hex \"crypto.{field}\".");
                }
            }
        }
    }

    /// <summary>
    /// Refuses key derivation parameters that are invalid or would cost more than any real wallet asks (scrypt above 1 GiB of
    /// memory or p above 16, PBKDF2 above 10 million rounds), before any work is done.
    /// </summary>
    private static void CheckCost(string kdf, JsonElement kdfParams, string source)
    {
        if (Integer(kdfParams, "dklen") is not (>= 32 and <= 64))
        {
            throw new KeystoreException($"{source} has no valid \"crypto.kdfparams.dklen\" (32 to 64 expected).");
        }

        if (kdf == "pbkdf2")
        {
            if (Integer(kdfParams, "c") is not (>= 1 and <= 10_000_000))
            {
                throw new KeystoreException($"{source} has no valid \"crypto.kdfparams.c\" (1 to 10000000 PBKDF2 rounds expected).");
            }

            return;
        }

        var n = Integer(kdfParams, "n");
        var r = Integer(kdfParams, "r");
        var p = Integer(kdfParams, "p");
        if (n is not > 1 || (n & (n - 1)) != 0 || r is not (>= 1 and <= 32) || p is not (>= 1 and <= 16) || 128L * n * r > 1L << 30)
        {
            throw new KeystoreException($"{source} has invalid or too costly scrypt parameters (n a power of 2, 128·n·r at most 1 GiB, p at most 16).");
        }
    }

    private static long? Integer(JsonElement element, string name) =>
        TryGet(element, name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number) ? number : null;

    /// <summary>Whether the field is a non-empty string of hex digit pairs (an optional <c>0x</c> allowed, as Nethereum reads it).</summary>
    private static bool IsHex(JsonElement element, string name)
    {
        if (!TryGet(element, name, out var value) || value.ValueKind != JsonValueKind.String)
        {
            return false;
        }

        var text = value.GetString().AsSpan();
        if (text.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            text = text[2..];
        }

        return text.Length > 0 && text.Length % 2 == 0 && !text.ContainsAnyExcept("0123456789abcdefABCDEF");
    }

    private static bool TryGet(JsonElement element, string name, out JsonElement value)
    {
        if (element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out value))
        {
            return true;
        }

        value = default;
        return false;
    }
}
