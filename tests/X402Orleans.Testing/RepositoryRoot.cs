namespace X402Orleans.Testing;

/// <summary>The repository checkout the tests run from.</summary>
public static class RepositoryRoot
{
    /// <summary>The nearest folder above the test assembly holding X402Orleans.sln, or null when there is none.</summary>
    public static string? TryFind()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "X402Orleans.sln")))
            {
                return dir.FullName;
            }
        }

        return null;
    }
}
