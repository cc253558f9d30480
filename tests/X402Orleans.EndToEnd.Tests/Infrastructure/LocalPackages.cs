using System.Globalization;
using System.IO.Compression;
using ChildProcess = X402Orleans.Testing.ChildProcess;

namespace X402Orleans.EndToEnd.Tests.Infrastructure;

/// <summary>
/// Packs one of the repository's packable projects from this build's output (<c>dotnet pack --no-build</c>, the test build's
/// configuration) under a version unique to the run, into a folder feed inside a temporary work folder that is deleted afterwards.
/// </summary>
internal sealed class LocalPackages : IDisposable
{
    private static readonly TimeSpan PackWithin = TimeSpan.FromMinutes(4);

    private LocalPackages(DirectoryInfo work)
    {
        Work = work;
        Version = "0.0.0-ci." + DateTime.UtcNow.Ticks.ToString(CultureInfo.InvariantCulture);
        Feed = Path.Combine(work.FullName, "feed");
    }

    /// <summary>The temporary work folder (deleted on dispose).</summary>
    public DirectoryInfo Work { get; }

    /// <summary>The version every package of this feed is packed under.</summary>
    public string Version { get; }

    /// <summary>The folder feed.</summary>
    public string Feed { get; }

    /// <summary>The configuration the tests (and so the projects they pack) were built with.</summary>
    public static string Configuration => new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent?.Name ?? "Debug";

    /// <summary>A new temporary work folder with an empty feed.</summary>
    public static LocalPackages Create(string prefix) => new(Directory.CreateTempSubdirectory(prefix));

    /// <summary>Packs <paramref name="projectPath"/> (relative to the repository root) as <paramref name="packageId"/>; returns the .nupkg path.</summary>
    public async Task<string> PackAsync(string projectPath, string packageId)
    {
        var project = Path.Combine(Prerequisites.Root, projectPath);
        var pack = await ChildProcess.RunAsync(
            "dotnet",
            ["pack", project, "-c", Configuration, "--no-build", "--nologo", "-o", Feed, $"-p:Version={Version}"],
            Prerequisites.Root,
            PackWithin);
        Assert.True(pack.ExitCode == 0, "dotnet pack failed: " + pack.Describe());
        var package = Path.Combine(Feed, $"{packageId}.{Version}.nupkg");
        Assert.True(File.Exists(package), "no package: " + pack.Describe());
        return package;
    }

    /// <summary>The text of one file in a package; fails when it is missing.</summary>
    public static string Read(ZipArchive zip, string name)
    {
        ArgumentNullException.ThrowIfNull(zip);
        var entry = zip.GetEntry(name);
        Assert.True(entry is not null, $"{name} is not in the package");
        using var reader = new StreamReader(entry.Open());
        return reader.ReadToEnd();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        try
        {
            Work.Delete(recursive: true);
        }
        catch (IOException)
        {
            // a child still closing a file: the temporary folder is left to the OS
        }
    }
}
