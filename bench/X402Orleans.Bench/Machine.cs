using System.Diagnostics;
using System.Runtime.InteropServices;

namespace X402Orleans.Bench;

/// <summary>What the numbers were measured on.</summary>
internal sealed record MachineInfo(int Cores, string CpuModel, double MemoryGiB, string Os, string Runtime, string GcMode, string Commit)
{
    public static MachineInfo Describe(string repoRoot)
    {
        var model = ReadField("/proc/cpuinfo", "model name") ?? RuntimeInformation.ProcessArchitecture.ToString();
        var memKb = ReadField("/proc/meminfo", "MemTotal")?.Split(' ', StringSplitOptions.RemoveEmptyEntries)[0];
        var memGiB = long.TryParse(memKb, out var kb) ? Math.Round(kb / 1024.0 / 1024.0, 1) : 0;
        var gc = System.Runtime.GCSettings.IsServerGC ? "server" : "workstation";
        return new MachineInfo(Environment.ProcessorCount, model, memGiB, RuntimeInformation.OSDescription, RuntimeInformation.FrameworkDescription, gc, Git(repoRoot));
    }

    private static string? ReadField(string file, string name)
    {
        if (!File.Exists(file))
        {
            return null;
        }

        foreach (var line in File.ReadLines(file))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0 && line[..colon].Trim().Equals(name, StringComparison.Ordinal))
            {
                return line[(colon + 1)..].Trim();
            }
        }

        return null;
    }

    private static string Git(string repoRoot)
    {
        try
        {
            var start = new ProcessStartInfo("git", ["-C", repoRoot, "describe", "--always", "--dirty"]) { RedirectStandardOutput = true, RedirectStandardError = true };
            using var git = Process.Start(start)!;
            var text = git.StandardOutput.ReadToEnd().Trim();
            git.WaitForExit();
            return git.ExitCode == 0 ? text : "unknown";
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "unknown";
        }
    }
}
