using System.Globalization;
using System.Numerics;
using System.Text.Json;
using ModelContextProtocol.Client;
using Xunit.Abstractions;

namespace X402Orleans.EndToEnd.Tests.Infrastructure;

/// <summary>
/// Steps of a crash case (see <c>FaultInjectionTests</c>): run a call on a host armed with <c>X402_FAULT_CRASH_AT</c> until it dies,
/// retry a start with the same idempotency key on the restarted host, read the answer as the agent would and compare it with the
/// chain.
/// </summary>
public static class CrashRun
{
    /// <summary>How long an armed host may take to reach its fault point and die.</summary>
    public static readonly TimeSpan CrashWithin = TimeSpan.FromSeconds(45);

    /// <summary>How long a restarted host may take to resolve a pending payment.</summary>
    public static readonly TimeSpan ResolvedWithin = TimeSpan.FromSeconds(10);

    /// <summary>Runs <paramref name="call"/> on the armed host and waits (bounded) until the process dies at <paramref name="point"/> (printed to <paramref name="output"/>).</summary>
    public static async Task CrashDuringAsync(ChildHost armed, string point, Func<McpClient, Task<X402Orleans.Testing.ToolOutcome>> call, ITestOutputHelper output)
    {
        var client = await armed.ConnectAsync();
        string answered;
        try
        {
            var outcome = await call(client);
            answered = $"it answered {(outcome.IsError ? "isError" : "success")}: {Clip(outcome.Text)}";
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or OperationCanceledException or ModelContextProtocol.McpException or InvalidOperationException)
        {
            answered = $"the call failed: {ex.GetType().Name}";
        }

        int exitCode;
        try
        {
            exitCode = await armed.Process.WaitForExitAsync(CrashWithin);
        }
        catch (TimeoutException ex)
        {
            throw new InvalidOperationException($"the host armed at {point} did not crash ({answered})", ex);
        }

        try
        {
            await client.DisposeAsync();
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or OperationCanceledException or ObjectDisposedException)
        {
            // the server is gone
        }

        var log = armed.Log();
        Assert.True(log.Contains($"x402-fault: crashing at {point}", StringComparison.Ordinal), $"the host exited ({exitCode}, {answered}) without crashing at {point}:\n{armed.Process.Tail(40)}");
        output.WriteLine($"killed at {point} (exit {exitCode}; {answered})");
    }

    /// <summary>x402_session_start with the same arguments; "still in progress" is retried until it says something else, for at most <paramref name="patience"/>.</summary>
    public static async Task<StartAnswer> RetryStartAsync(McpClient client, string endpoint, Dictionary<string, object?> arguments, TimeSpan patience)
    {
        var deadline = DateTime.UtcNow + patience;
        while (true)
        {
            var answer = StartAnswer.Read(await client.StartAsync(endpoint, arguments));
            if (answer.Kind != AnswerKind.InProgress || DateTime.UtcNow > deadline)
            {
                return answer;
            }

            await Task.Delay(500);
        }
    }

    /// <summary>The session by id, or else the caller's live session labelled <paramref name="label"/>.</summary>
    public static async Task<SessionView?> FindSessionAsync(McpClient client, string? sessionId, string? label)
    {
        if (sessionId is not null)
        {
            var one = await client.StatusAsync(sessionId);
            return one.IsError ? null : SessionView.Read(one["sessions"].EnumerateArray().Single());
        }

        var page = (await client.StatusAsync()).Ok();
        return page["sessions"].EnumerateArray().Where(s => s.TryGetProperty("label", out var l) && l.ValueKind == JsonValueKind.String && l.GetString() == label).Select(SessionView.Read).FirstOrDefault();
    }

    /// <summary>Where what the host says disagrees with the chain.</summary>
    public static IEnumerable<string> Disagreements(StartAnswer retry, SessionView? session, BigInteger delta, BigInteger price)
    {
        switch (retry.Kind)
        {
            case AnswerKind.Success:
                if (retry.Paid != delta)
                {
                    yield return $"the retry reports a payment of {Amount(retry.Paid)} but the chain moved {Amount(delta)}";
                }

                if (session is null)
                {
                    yield return "the retry succeeded but x402_session_status does not know its session";
                }
                else if (session.TotalPaid != delta)
                {
                    yield return $"x402_session_status reports total_paid {Amount(session.TotalPaid)} ({session.PaymentCount} payments) but the chain moved {Amount(delta)}";
                }

                break;
            case AnswerKind.NotPaid:
                if (delta != 0)
                {
                    yield return $"the retry answered isError without a word about a payment (\"{Clip(retry.Text)}\"), but the chain moved {Amount(delta)}";
                }

                break;
            case AnswerKind.Unknown:
                if (delta > price)
                {
                    yield return $"the retry says the payment is unknown (at most one), but the chain moved {Amount(delta)}";
                }

                break;
            case AnswerKind.InProgress:
                yield return $"the retry still says the start is in progress after {ResolvedWithin.TotalSeconds:0} s (\"{Clip(retry.Text)}\"); the chain moved {Amount(delta)}";
                break;
        }

        if (retry.Kind != AnswerKind.Success && session is not null && session.TotalPaid > delta)
        {
            yield return $"a live session labelled with the key reports total_paid {Amount(session.TotalPaid)} but the chain moved {Amount(delta)}";
        }
    }

    /// <summary>An atomic amount as text.</summary>
    public static string Amount(BigInteger value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>One line of at most 160 characters.</summary>
    public static string Clip(string text)
    {
        var line = text.ReplaceLineEndings(" ");
        return line.Length <= 160 ? line : line[..160] + "…";
    }

    /// <summary>Deletes a temp folder, ignoring failures.</summary>
    public static void TryDelete(string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>How the agent reads a start's answer.</summary>
    public enum AnswerKind
    {
        /// <summary>Success: a session (and its payment, if any).</summary>
        Success,

        /// <summary>isError that says nothing about a payment: nothing was paid.</summary>
        NotPaid,

        /// <summary>isError saying the payment's outcome is unknown: at most one settlement.</summary>
        Unknown,

        /// <summary>isError saying the start is still in progress.</summary>
        InProgress,
    }

    /// <summary>A start's answer as the agent reads it.</summary>
    public sealed record StartAnswer(AnswerKind Kind, bool IsError, string Text, string? SessionId, BigInteger Paid, string? Transaction)
    {
        /// <summary>Reads a tool outcome.</summary>
        public static StartAnswer Read(X402Orleans.Testing.ToolOutcome outcome)
        {
            if (outcome.IsError)
            {
                var text = outcome.Text;
                var kind = Has(text, "in progress") ? AnswerKind.InProgress
                    : Has(text, "unknown") || Has(text, "may or may not") || Has(text, "may have settled") ? AnswerKind.Unknown
                    : AnswerKind.NotPaid;
                return new StartAnswer(kind, true, text, null, 0, null);
            }

            var payment = outcome.Structured.TryGetProperty("payment", out var p) && p.ValueKind == JsonValueKind.Object ? p : default;
            var paid = payment.ValueKind == JsonValueKind.Object ? BigInteger.Parse(payment.GetProperty("amount_atomic").GetString()!, CultureInfo.InvariantCulture) : BigInteger.Zero;
            var transaction = payment.ValueKind == JsonValueKind.Object && payment.TryGetProperty("transaction", out var t) ? t.GetString() : null;
            return new StartAnswer(AnswerKind.Success, false, outcome.Text, outcome.Structured.GetProperty("session_id").GetString(), paid, transaction);
        }

        /// <summary>Whether two answers say the same.</summary>
        public bool SameAnswerAs(StartAnswer other) =>
            Kind == other.Kind && SessionId == other.SessionId && Paid == other.Paid && string.Equals(Transaction, other.Transaction, StringComparison.OrdinalIgnoreCase);

        /// <summary>For the test output, amounts in multiples of <paramref name="price"/>.</summary>
        public string Describe(BigInteger price) => IsError
            ? $"isError ({Kind}): {Clip(Text)}"
            : $"session {SessionId}, payment {(Paid == 0 ? "none" : $"{Amount(Paid / price)} × price, tx {Transaction}")}";

        private static bool Has(string text, string part) => text.Contains(part, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>One session as x402_session_status shows it.</summary>
    public sealed record SessionView(string Id, string Status, long CallCount, BigInteger TotalPaid, int PaymentCount)
    {
        /// <summary>Reads one entry of x402_session_status.</summary>
        public static SessionView Read(JsonElement s) => new(
            s.GetProperty("session_id").GetString()!,
            s.GetProperty("status").GetString()!,
            s.GetProperty("call_count").GetInt64(),
            s.GetProperty("total_paid").EnumerateArray().Aggregate(BigInteger.Zero, (sum, t) => sum + BigInteger.Parse(t.GetProperty("amount_atomic").GetString()!, CultureInfo.InvariantCulture)),
            s.GetProperty("payments").GetArrayLength());

        /// <summary>For the test output, amounts in multiples of <paramref name="price"/>.</summary>
        public string Describe(BigInteger price) => $"{Id} {Status}, call_count {CallCount}, total_paid {Amount(TotalPaid / price)} × price, {PaymentCount} payments";
    }
}
