using System.Diagnostics;
using System.Globalization;

namespace X402Orleans.Abstractions;

/// <summary>
/// Names of the places where <see cref="FaultInjection.Hit"/> is called along a paid session start or paid call, in the order a
/// payment passes them.
/// </summary>
public static class FaultPoints
{
    /// <summary>The session grain recorded the start (the idempotency key is claimed), before any upstream request.</summary>
    public const string StartOpened = "start.opened";

    /// <summary>A signed payment exists (recorded as pending by the session grain) and has not been sent.</summary>
    public const string PaymentSigned = "payment.signed";

    /// <summary>The request carrying the payment header was written to the socket; its answer is not read yet.</summary>
    public const string PaymentSent = "payment.sent";

    /// <summary>The server's answer to the paid request was read; it is not recorded in the session grain yet.</summary>
    public const string PaymentAnswered = "payment.answered";

    /// <summary>The payment's outcome was recorded; the session is not activated yet.</summary>
    public const string StartBeforeActivate = "start.before-activate";
}

/// <summary>
/// Test-only crash injection: kills this process (like <c>kill -9</c>) when a named point is reached. Armed by the environment
/// variable <c>X402_FAULT_CRASH_AT</c> = <c>&lt;point&gt;</c> or <c>&lt;point&gt;#&lt;n&gt;</c> (crash on the n-th hit of that point in
/// this process; default 1), read once. Never set it in production. Unarmed, <see cref="Hit"/> costs one static field check.
/// </summary>
public static class FaultInjection
{
    /// <summary>The environment variable that arms a crash.</summary>
    public const string Variable = "X402_FAULT_CRASH_AT";

    private static readonly Armed? Target = Parse(Environment.GetEnvironmentVariable(Variable));
    private static int _hits;

    /// <summary>Whether a crash is armed at <paramref name="point"/> (for installing hooks only when needed).</summary>
    public static bool IsArmedAt(string point) => Target is { } target && string.Equals(target.Point, point, StringComparison.Ordinal);

    /// <summary>Marks that <paramref name="point"/> was reached; when it is the armed point's n-th hit, the process dies here.</summary>
    public static void Hit(string point)
    {
        if (Target is null)
        {
            return;
        }

        HitArmed(Target, point);
    }

    private static void HitArmed(Armed target, string point)
    {
        if (!string.Equals(target.Point, point, StringComparison.Ordinal) || Interlocked.Increment(ref _hits) != target.Count)
        {
            return;
        }

        try
        {
            Console.Error.WriteLine($"x402-fault: crashing at {point}");
            Console.Error.Flush();
        }
        catch (IOException)
        {
            // stderr may be gone; the crash is what matters
        }

        // SIGKILL of ourselves: no finalizers, no shutdown hooks, no flush of anything else (closest to kill -9).
        using var self = Process.GetCurrentProcess();
        self.Kill();

        // Kill returns once the signal is sent; never go on running past the point.
        Thread.Sleep(Timeout.Infinite);
    }

    private static Armed? Parse(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        value = value.Trim();
        var hash = value.LastIndexOf('#');
        if (hash < 0)
        {
            return new Armed(value, 1);
        }

        return int.TryParse(value.AsSpan(hash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var count) && count >= 1
            ? new Armed(value[..hash], count)
            : throw new InvalidOperationException($"{Variable} must be <point> or <point>#<n> with n >= 1 (got '{value}')");
    }

    private sealed record Armed(string Point, int Count);
}
