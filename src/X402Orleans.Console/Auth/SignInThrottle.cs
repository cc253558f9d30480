using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;

namespace X402Orleans.OperatorConsole.Auth;

/// <summary>
/// Sign-in attempts per client IP address (X402:Console:SignInAttemptsPerMinute, default 5): a fixed one-minute window per
/// address, with ASP.NET Core's partitioned rate limiter. Every attempt counts, accepted or not.
/// </summary>
public sealed class SignInThrottle : IDisposable
{
    /// <summary>The setting naming the number of attempts allowed per minute and client address.</summary>
    public const string Setting = "X402:Console:SignInAttemptsPerMinute";

    /// <summary>Attempts per minute when the setting is absent.</summary>
    public const int DefaultAttemptsPerMinute = 5;

    private readonly PartitionedRateLimiter<string> _limiter;

    /// <summary>Allows <paramref name="attemptsPerMinute"/> attempts per minute and client address.</summary>
    public SignInThrottle(int attemptsPerMinute)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(attemptsPerMinute, 1);
        _limiter = PartitionedRateLimiter.Create<string, string>(address => RateLimitPartition.GetFixedWindowLimiter(address, _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = attemptsPerMinute,
            Window = TimeSpan.FromMinutes(1),
            QueueLimit = 0,
            AutoReplenishment = true,
        }));
    }

    /// <summary>Takes one attempt for the request's client address; false when its attempts this minute are used up.</summary>
    public bool TryAttempt(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var address = context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        using var lease = _limiter.AttemptAcquire(address);
        return lease.IsAcquired;
    }

    /// <inheritdoc />
    public void Dispose() => _limiter.Dispose();
}
