using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Http;
using X402Orleans.Hosting;

namespace X402Orleans.Silo;

/// <summary>
/// Start-up refused because another process holds what this instance needs (its state file or a port). The message is the
/// one line shown to the operator (without the <c>x402orleans: </c> prefix).
/// </summary>
public sealed class InstanceConflictException : Exception
{
    /// <summary>Creates the exception.</summary>
    public InstanceConflictException()
    {
    }

    /// <summary>Creates the exception with its one-line message.</summary>
    public InstanceConflictException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with its one-line message and cause.</summary>
    public InstanceConflictException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// Keeps two instances from sharing a state file or a port, checked before the silo starts. Local mode on a file: an exclusive
/// lock on <c>&lt;state file&gt;.lock</c>, held for the life of the host (of the process) and released by the operating system
/// when the process dies, <c>kill -9</c> included (.NET takes it with <c>flock(LOCK_EX)</c> on Unix, a share-none open on
/// Windows; <c>DOTNET_SYSTEM_IO_DISABLEFILELOCKING</c> turns that off). The holder's pid and start time are written to
/// <c>&lt;state file&gt;.owner</c> (the locked file itself cannot be read by another .NET process) for the refusal message.
/// Then the Orleans ports (Local mode) and the HTTP <c>--urls</c> ports are bound once on their address, so a taken one fails
/// start-up naming the port and its setting instead of the silo's own error after it started.
/// </summary>
public sealed class InstanceGuard : IDisposable
{
    private const string SecondInstanceHint = "to run a second instance set X402__Storage__Path and X402__Cluster__SiloPort/GatewayPort (and another --urls)";
    private readonly FileStream? _lock;
    private readonly string? _ownerPath;

    private InstanceGuard(FileStream? lockStream, string? ownerPath)
    {
        _lock = lockStream;
        _ownerPath = ownerPath;
    }

    /// <summary>
    /// Takes the state file's lock (Local mode on a file) and checks the Orleans ports (Local mode) and the HTTP ports of
    /// <paramref name="urls"/> (null for none: stdio); throws <see cref="InstanceConflictException"/> naming what is in use.
    /// </summary>
    public static InstanceGuard Enter(X402ClusterSettings settings, string? urls)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.Cluster.IsAdoNet)
        {
            CheckHttpPorts(urls);
            return new InstanceGuard(null, null);
        }

        var guard = settings.Storage.IsInMemory ? new InstanceGuard(null, null) : Lock(settings.Storage.ResolvedPath);
        try
        {
            CheckPort(IPAddress.Loopback, settings.Cluster.SiloPort, "X402__Cluster__SiloPort");
            CheckPort(IPAddress.Loopback, settings.Cluster.GatewayPort, "X402__Cluster__GatewayPort");
            CheckHttpPorts(urls);
            return guard;
        }
        catch
        {
            guard.Dispose();
            throw;
        }
    }

    /// <summary>The lock file of a state file.</summary>
    public static string LockPath(string statePath) => statePath + ".lock";

    /// <summary>The file naming the lock's holder.</summary>
    public static string OwnerPath(string statePath) => statePath + ".owner";

    /// <inheritdoc />
    public void Dispose()
    {
        if (_lock is null)
        {
            return;
        }

        // The owner file goes first: a next holder can only write it once this lock is released.
        try
        {
            File.Delete(_ownerPath!);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }

        _lock.Dispose();
    }

    private static InstanceGuard Lock(string statePath)
    {
        var folder = Path.GetDirectoryName(statePath);
        if (!string.IsNullOrEmpty(folder))
        {
            Directory.CreateDirectory(folder);
        }

        FileStream stream;
        try
        {
            stream = new FileStream(LockPath(statePath), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex) when (IsSharingViolation(ex))
        {
            throw new InstanceConflictException($"the state file {statePath} is in use by {Holder(OwnerPath(statePath))}; {SecondInstanceHint}", ex);
        }

        try
        {
            var owner = Encoding.UTF8.GetBytes(Describe(Environment.ProcessId, StartTime()) + "\n");
            stream.SetLength(0);
            stream.Write(owner);
            stream.Flush(flushToDisk: false);
            File.WriteAllBytes(OwnerPath(statePath), owner);
            return new InstanceGuard(stream, OwnerPath(statePath));
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>
    /// What .NET reports for a file locked elsewhere: on Unix the errno of the failed <c>flock</c> (EWOULDBLOCK: 11 on Linux,
    /// 35 on macOS), on Windows ERROR_SHARING_VIOLATION (32) or ERROR_LOCK_VIOLATION (33).
    /// </summary>
    private static bool IsSharingViolation(IOException ex) => ex is not (FileNotFoundException or DirectoryNotFoundException or PathTooLongException)
        && (OperatingSystem.IsWindows() ? (ex.HResult & 0xFFFF) is 32 or 33 : ex.HResult is 11 or 35);

    private static string Holder(string ownerPath)
    {
        try
        {
            var parts = File.ReadAllText(ownerPath).Split(' ', 2, StringSplitOptions.TrimEntries);
            if (parts.Length == 2 && parts[0].StartsWith("process:", StringComparison.Ordinal)
                && int.TryParse(parts[0]["process:".Length..], NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                && IsRunning(pid))
            {
                return $"process {pid.ToString(CultureInfo.InvariantCulture)} ({parts[1]})";
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }

        // Not written yet (the holder has just taken the lock), or left by a holder that has since died.
        return "another process";
    }

    private static string Describe(int pid, DateTimeOffset? started) =>
        $"process:{pid.ToString(CultureInfo.InvariantCulture)} started {(started is { } at ? at.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture) : "at an unknown time")}";

    private static DateTimeOffset? StartTime()
    {
        try
        {
            using var self = Process.GetCurrentProcess();
            return new DateTimeOffset(self.StartTime.ToUniversalTime(), TimeSpan.Zero);
        }
        catch (Exception ex) when (ex is InvalidOperationException or NotSupportedException or System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
        {
            return false;
        }
    }

    private static void CheckHttpPorts(string? urls)
    {
        if (string.IsNullOrWhiteSpace(urls))
        {
            return;
        }

        foreach (var url in urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            BindingAddress address;
            try
            {
                address = BindingAddress.Parse(url);
            }
            catch (FormatException)
            {
                continue; // Kestrel reports it.
            }

            if (address.IsUnixPipe || address.Port <= 0)
            {
                continue;
            }

            var host = address.Host.Trim('[', ']');
            IPAddress? ip = string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase) ? IPAddress.Loopback
                : host is "*" or "+" ? IPAddress.Any
                : IPAddress.TryParse(host, out var parsed) ? parsed
                : null;
            if (ip is not null)
            {
                CheckPort(ip, address.Port, "--urls " + url);
            }
        }
    }

    private static void CheckPort(IPAddress address, int port, string setting)
    {
        try
        {
            var listener = new TcpListener(address, port);
            try
            {
                listener.Start();
            }
            finally
            {
                listener.Dispose();
            }
        }
        catch (SocketException ex)
        {
            var what = ex.SocketErrorCode == SocketError.AddressAlreadyInUse ? "is in use by another process" : $"cannot be opened on {address} ({ex.Message})";
            throw new InstanceConflictException(
                $"port {port.ToString(CultureInfo.InvariantCulture)} ({setting}) {what}; to run a second instance give it free ports (X402__Cluster__SiloPort/GatewayPort, --urls) and its own X402__Storage__Path",
                ex);
        }
    }
}
