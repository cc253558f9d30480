using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.AspNetCore.DataProtection.XmlEncryption;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using X402Orleans.Abstractions;

namespace X402Orleans.Gateway.Security;

/// <summary>
/// An ASP.NET Core data-protection <see cref="IXmlRepository"/> over the cluster's <see cref="IKeyRingGrain"/> (key
/// <see cref="GrainKey"/>): every process of the cluster reads and writes the same key ring, kept in the grain storage the
/// sessions use, so what one gateway process protects (console cookies, antiforgery tokens) every other one can read.
/// </summary>
public sealed class ClusterXmlRepository(IGrainFactory grains) : IXmlRepository
{
    /// <summary>The key of the cluster's one key ring grain.</summary>
    public const string GrainKey = "default";

    private IKeyRingGrain Ring => grains.GetGrain<IKeyRingGrain>(GrainKey);

    /// <inheritdoc />
    public IReadOnlyCollection<XElement> GetAllElements()
    {
        // Data protection asks synchronously, rarely (first use, then about once a day and on an unknown key): block on the grain
        // call off any synchronization context.
        var elements = Task.Run(() => Ring.GetElements()).GetAwaiter().GetResult();
        return [.. elements.Select(xml => XElement.Parse(xml))];
    }

    /// <inheritdoc />
    public void StoreElement(XElement element, string friendlyName)
    {
        ArgumentNullException.ThrowIfNull(element);
        ArgumentException.ThrowIfNullOrEmpty(friendlyName);
        var xml = element.ToString(SaveOptions.DisableFormatting);
        Task.Run(() => Ring.StoreElement(friendlyName, xml)).GetAwaiter().GetResult();
    }
}

/// <summary>Registers the cluster-wide data-protection key ring.</summary>
public static class ClusterKeyRing
{
    /// <summary>The data-protection application name shared by every process of the cluster.</summary>
    public const string ApplicationName = "X402Orleans";

    /// <summary>
    /// Data protection with application name <see cref="ApplicationName"/> and its keys in <see cref="ClusterXmlRepository"/>.
    /// Keys are stored as plain XML, on purpose (<see cref="StorageProtectedXmlEncryptor"/>): they are exactly as secret as the
    /// grain storage holding them, which already holds every session; protect that storage (file permissions, database access).
    /// Needs an <see cref="IGrainFactory"/> (co-hosted silo or Orleans client).
    /// </summary>
    public static IServiceCollection AddX402ClusterKeyRing(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddDataProtection().SetApplicationName(ApplicationName);
        services.AddSingleton<ClusterXmlRepository>();
        services.AddOptions<KeyManagementOptions>().Configure<IServiceProvider>((options, sp) =>
        {
            options.XmlRepository = sp.GetRequiredService<ClusterXmlRepository>();
            options.XmlEncryptor = new StorageProtectedXmlEncryptor();
        });
        return services;
    }
}

/// <summary>
/// The key ring's deliberate "encryption": none. A key element is wrapped as-is and marked, so it reads back with
/// <see cref="StorageProtectedXmlDecryptor"/>. The cluster's processes share no secret but the storage itself (gateway processes
/// hold no key), so the storage's access control is what protects the keys (docs/security.md); configuring this explicitly is
/// what keeps data protection from warning at every start that no encryptor is configured.
/// </summary>
public sealed class StorageProtectedXmlEncryptor : IXmlEncryptor
{
    /// <summary>The wrapping element's name.</summary>
    public const string ElementName = "storageProtectedKey";

    /// <inheritdoc />
    public EncryptedXmlInfo Encrypt(XElement plaintextElement)
    {
        ArgumentNullException.ThrowIfNull(plaintextElement);
        var wrapped = new XElement(
            ElementName,
            new XComment(" Plain XML kept in the cluster's grain storage: protect the storage. "),
            new XElement(plaintextElement));
        return new EncryptedXmlInfo(wrapped, typeof(StorageProtectedXmlDecryptor));
    }
}

/// <summary>Reads what <see cref="StorageProtectedXmlEncryptor"/> wrote (data protection creates it by type name).</summary>
public sealed class StorageProtectedXmlDecryptor : IXmlDecryptor
{
    /// <inheritdoc />
    public XElement Decrypt(XElement encryptedElement)
    {
        ArgumentNullException.ThrowIfNull(encryptedElement);
        return new XElement(encryptedElement.Elements().Single());
    }
}
