using System.Diagnostics;
using System.Globalization;

namespace X402Orleans.Abstractions;

/// <summary>The named moments of a payment at which the fault-injection tests kill the process.</summary>
public static class FaultPoints
{
    /// <summary>The session grain recorded the start (key claimed), before any upstream request.</summary>
    public const string StartOpened = "start.opened";

    /// <summary>A signed payment exists (recorded as pending) and has not been sent.</summary>
    public const string PaymentSigned = "payment.signed";

    /// <summary>The request carrying the payment was written to the socket; its answer not yet read.</summary>
    public const string PaymentSent = "payment.sent";

    /// <summary>The answer to the paid request was read; not yet recorded in the grain.</summary>
    public const string PaymentAnswered = "payment.answered";

    /// <summary>The payment's outcome was recorded; the session not yet activated.</summary>
    public const string StartBeforeActivate = "start.before-activate";
}

/// <summary>
/// Test-only crash switch: with <c>X402_FAULT_CRASH_AT=&lt;point&gt;[#n]</c> in the environment, the n-th (default first) hit of
/// that point kills this process at once (SIGKILL semantics: nothing is flushed or finalized). Unset in production, where a hit
/// costs one static field check.
/// </summary>
public static class FaultInjection
{
    /// <summary>The environment variable that arms a crash point.</summary>
    public const string Variable = "X402_FAULT_CRASH_AT";

    private static readonly (string Point, int Hit)? Armed = Parse(Environment.GetEnvironmentVariable(Variable));
    private static int _hits;

    /// <summary>Whether <paramref name="point"/> is the armed point.</summary>
    public static bool IsArmed(string point) => Armed is { } armed && armed.Point == point;

    /// <summary>Kills the process when <paramref name="point"/> is armed and this is its chosen hit.</summary>
    public static void Hit(string point)
    {
        if (Armed is not { } armed || armed.Point != point || Interlocked.Increment(ref _hits) != armed.Hit)
        {
            return;
        }

        Console.Error.WriteLine($"x402-fault: crashing at {point}");
        Console.Error.Flush();
        Process.GetCurrentProcess().Kill();
    }

    private static (string Point, int Hit)? Parse(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        var hash = value.IndexOf('#', StringComparison.Ordinal);
        return hash < 0
            ? (value.Trim(), 1)
            : (value[..hash].Trim(), int.TryParse(value[(hash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : 1);
    }
}
