namespace X402Orleans.Grains;

/// <summary>Names of the grain storage providers the grains use.</summary>
public static class StorageNames
{
    /// <summary>Storage for session and agent state.</summary>
    public const string Sessions = "x402";
}
