namespace X402Orleans.Grains;

/// <summary>Service keys of the clocks the grains take (keyed, so a test can swap the grains' clock alone).</summary>
public static class TimeProviderNames
{
    /// <summary>The clock of the session grains (expiry, timestamps).</summary>
    public const string Grains = "x402-grains";
}
