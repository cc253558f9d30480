using X402Orleans.Abstractions;

namespace X402Orleans.Grains;

/// <summary>
/// <inheritdoc cref="IKeyRingGrain" path="/summary" />
/// Non-reentrant: each store is written before the next call is served. The ring is small (a key element of about 1 KB every
/// 90 days by default) and read once per process and refresh, never on a hot path.
/// </summary>
public sealed class KeyRingGrain([PersistentState("keyring", StorageNames.Sessions)] IPersistentState<KeyRingState> state) : Grain, IKeyRingGrain
{
    /// <inheritdoc />
    public Task<IReadOnlyList<string>> GetElements() => Task.FromResult<IReadOnlyList<string>>([.. state.State.Elements.Select(e => e.Xml)]);

    /// <inheritdoc />
    public async Task StoreElement(string friendlyName, string xml)
    {
        ArgumentException.ThrowIfNullOrEmpty(friendlyName);
        ArgumentException.ThrowIfNullOrEmpty(xml);
        var elements = state.State.Elements;
        var index = elements.FindIndex(e => string.Equals(e.Name, friendlyName, StringComparison.Ordinal));
        var element = new KeyRingElement { Name = friendlyName, Xml = xml };
        if (index >= 0)
        {
            elements[index] = element;
        }
        else
        {
            elements.Add(element);
        }

        await state.WriteStateAsync();
    }
}

/// <summary>The stored key ring: every data-protection key element, oldest first.</summary>
[GenerateSerializer]
[Alias("X402Orleans.Grains.KeyRingState")]
public sealed class KeyRingState
{
    /// <summary>Contract version.</summary>
    [Id(0)] public int SchemaVersion { get; set; } = 1;

    /// <summary>Key elements, oldest first.</summary>
    [Id(1)] public List<KeyRingElement> Elements { get; set; } = [];
}

/// <summary>One stored key element.</summary>
[GenerateSerializer]
[Alias("X402Orleans.Grains.KeyRingElement")]
public sealed class KeyRingElement
{
    /// <summary>The repository's friendly name of the element (e.g. <c>key-&lt;id&gt;</c>).</summary>
    [Id(0)] public string Name { get; set; } = string.Empty;

    /// <summary>The element's XML text.</summary>
    [Id(1)] public string Xml { get; set; } = string.Empty;
}
