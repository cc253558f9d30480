using System.Net;
using System.Net.Sockets;

namespace X402Orleans.Testing;

/// <summary>Free loopback TCP ports.</summary>
public static class FreePorts
{
    /// <summary>Distinct free loopback TCP ports (held together while chosen, so they differ).</summary>
    public static int[] Take(int count)
    {
        var listeners = new List<TcpListener>();
        try
        {
            for (var i = 0; i < count; i++)
            {
                var listener = new TcpListener(IPAddress.Loopback, 0);
                listener.Start();
                listeners.Add(listener);
            }

            return [.. listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port)];
        }
        finally
        {
            foreach (var listener in listeners)
            {
                listener.Stop();
                listener.Dispose();
            }
        }
    }

    /// <summary>One free loopback TCP port.</summary>
    public static int One() => Take(1)[0];
}
