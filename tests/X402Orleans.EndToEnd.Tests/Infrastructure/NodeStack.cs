using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json.Nodes;
using ChildProcess = X402Orleans.Testing.ChildProcess;

namespace X402Orleans.EndToEnd.Tests.Infrastructure;

/// <summary>A wallet on the local chain (test keys only; the chain lives as long as the stack).</summary>
/// <param name="Address">EIP-55 address.</param>
/// <param name="PrivateKey">Hex private key.</param>
public sealed record Wallet(string Address, string PrivateKey);

/// <summary>
/// A long-running Node script of tests/interop that starts a local chain, the official facilitator and official resource servers,
/// prints one JSON ready line (<c>rpcUrl</c>, <c>network</c>, <c>token</c>, <c>facilitatorUrl</c>, <c>facilitatorAddress</c>,
/// <c>controlUrl</c>, <c>payTo</c>, <c>prices</c>, <c>wallets</c>) and runs until its stdin closes. Everything listens on
/// 127.0.0.1; the process ends when this object is disposed and is killed if it does not.
/// </summary>
public abstract class NodeStack : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(120);
    private readonly Process _process;
    private readonly StringBuilder _stderr;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };

    /// <summary>Wraps a started script (see <see cref="LaunchAsync"/>).</summary>
    protected NodeStack(Launched launched)
    {
        ArgumentNullException.ThrowIfNull(launched);
        _process = launched.Process;
        Info = launched.Info;
        _stderr = launched.Stderr;
        Chain = new EvmRpc(new Uri(Text("rpcUrl")), _http);
    }

    /// <summary>JSON-RPC of the local chain.</summary>
    public EvmRpc Chain { get; }

    /// <summary>CAIP-2 network of the chain (<c>eip155:84532</c>).</summary>
    public string Network => Text("network");

    /// <summary>JSON-RPC URL of the local chain (on 127.0.0.1).</summary>
    public string RpcUrl => Text("rpcUrl");

    /// <summary>Our token (EIP-712 "USDC"/"2", 6 decimals): the asset the gateway is configured to pay with.</summary>
    public string Token => Text("token");

    /// <summary>The facilitator's own URL.</summary>
    public string FacilitatorUrl => Text("facilitatorUrl");

    /// <summary>The facilitator's gas-paying account.</summary>
    public string FacilitatorAddress => Text("facilitatorAddress");

    /// <summary>Funded payer wallets.</summary>
    public IReadOnlyList<Wallet> FundedWallets => Wallets("funded");

    /// <summary>A wallet holding nothing.</summary>
    public Wallet UnfundedWallet => Read(Info["wallets"]!["unfunded"]!);

    /// <summary>The ready line.</summary>
    protected JsonObject Info { get; }

    /// <summary>Recipient of the named server's payments.</summary>
    public string PayTo(string server) => Info["payTo"]![server]!.GetValue<string>();

    /// <summary>Origin of the named server (<c>servers.{server}</c> of the ready line).</summary>
    public string Origin(string server) => Info["servers"]![server]!.GetValue<string>();

    /// <summary>A named amount of the ready line's <c>prices</c>, in atomic units.</summary>
    public BigInteger Price(string route) => BigInteger.Parse(Info["prices"]![route]!.GetValue<string>(), CultureInfo.InvariantCulture);

    /// <summary>A URL on a server, e.g. <c>Url(stack.MainServer, "/api/ns/weather")</c>.</summary>
    public static string Url(string origin, string path) => origin + path;

    /// <summary>What the servers and the facilitator observed so far (<c>GET {controlUrl}/stats</c>).</summary>
    public async Task<StackStats> GetStatsAsync()
    {
        var text = await _http.GetStringAsync(new Uri(Text("controlUrl") + "/stats"));
        return new StackStats(JsonNode.Parse(text)!.AsObject());
    }

    /// <summary>
    /// Waits until <paramref name="server"/> has received at least <paramref name="atLeast"/> requests carrying a payment header under
    /// <paramref name="pathPrefix"/> and its paywall has finished every one of them (verified and settled, or refused) — also those
    /// whose client died mid-request, which settle after it is gone. Returns the stats at that moment; fails past <paramref name="timeout"/>.
    /// </summary>
    public async Task<StackStats> WaitPaidRequestsDoneAsync(string server, string pathPrefix, int atLeast, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var stats = await GetStatsAsync();
            var paid = stats.PaidRequests(server, pathPrefix);
            if (paid.Count >= atLeast && paid.All(p => p["done"]?.GetValue<bool>() == true))
            {
                return stats;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{server}: paid requests under {pathPrefix} not all finished within {timeout.TotalSeconds:0} s (expected at least {atLeast}): {new JsonArray([.. paid.Select(p => p.DeepClone())]).ToJsonString()}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Token balance of <paramref name="owner"/> (default token: <see cref="Token"/>).</summary>
    public Task<BigInteger> BalanceAsync(string owner, string? token = null) => Chain.BalanceOfAsync(token ?? Token, owner);

    /// <summary>The script's stderr so far (for failure messages).</summary>
    public string Diagnostics() => Snapshot(_stderr);

    /// <summary>POSTs to the stack's control API (<c>{controlUrl}{path}</c>); returns the response body.</summary>
    protected async Task<string> PostControlAsync(string path)
    {
        using var response = await _http.PostAsync(new Uri(Text("controlUrl") + path), null);
        var body = await response.Content.ReadAsStringAsync();
        return response.IsSuccessStatusCode ? body : throw new HttpRequestException($"POST {path}: HTTP {(int)response.StatusCode}: {body}");
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        try
        {
            _process.StandardInput.Close();
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await _process.WaitForExitAsync(limit.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or InvalidOperationException)
        {
            Kill(_process);
        }
        finally
        {
            _process.Dispose();
        }

        GC.SuppressFinalize(this);
    }

    /// <summary>A string of the ready line.</summary>
    protected string Text(string name) => Info[name]!.GetValue<string>();

    /// <summary>The wallets of the ready line's <c>wallets.{list}</c>.</summary>
    protected IReadOnlyList<Wallet> Wallets(string list) => [.. Info["wallets"]![list]!.AsArray().Select(w => Read(w!))];

    /// <summary>Starts <c>node {script}</c> in tests/interop, writes <paramref name="config"/> as its first stdin line and waits for its ready line.</summary>
    protected static async Task<Launched> LaunchAsync(string script, JsonObject config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = Prerequisites.Interop,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardInputEncoding = new UTF8Encoding(false),
        };
        start.ArgumentList.Add(script);
        var process = ChildProcess.Start(start);
        var stderr = new StringBuilder();
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }

            lock (stderr)
            {
                stderr.AppendLine(e.Data);
                if (stderr.Length > 20_000)
                {
                    stderr.Remove(0, stderr.Length - 20_000);
                }
            }
        };
        process.BeginErrorReadLine();
        try
        {
            await process.StandardInput.WriteLineAsync(config.ToJsonString());
            await process.StandardInput.FlushAsync();
            using var limit = new CancellationTokenSource(StartTimeout);
            var line = await process.StandardOutput.ReadLineAsync(limit.Token);
            if (line is null || JsonNode.Parse(line) is not JsonObject info)
            {
                throw new InvalidOperationException($"{script} ended before it was ready (exit {(process.HasExited ? process.ExitCode : -1)}):\n{Snapshot(stderr)}");
            }

            return new Launched(process, info, stderr);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException)
        {
            Kill(process);
            throw new TimeoutException($"{script} was not ready within {StartTimeout.TotalSeconds:0} s:\n{Snapshot(stderr)}", ex);
        }
        catch
        {
            Kill(process);
            throw;
        }
    }

    private static Wallet Read(JsonNode w) => new(w["address"]!.GetValue<string>(), w["privateKey"]!.GetValue<string>());

    private static string Snapshot(StringBuilder stderr)
    {
        lock (stderr)
        {
            return stderr.ToString();
        }
    }

    private static void Kill(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // already gone
        }
    }

    /// <summary>A started script and its ready line.</summary>
    protected sealed record Launched(Process Process, JsonObject Info, StringBuilder Stderr);
}

/// <summary>The stack's observations (see x402-stack.mjs <c>stats</c>).</summary>
public sealed class StackStats(JsonObject json)
{
    /// <summary>The raw JSON.</summary>
    public JsonObject Json { get; } = json;

    /// <summary>Requests that reached a route handler on <paramref name="server"/> under <paramref name="pathPrefix"/>, with their final status.</summary>
    public IReadOnlyList<JsonObject> Served(string server, string pathPrefix) => Entries(server, "served").Where(e => Str(e, "path").StartsWith(pathPrefix, StringComparison.Ordinal)).ToList();

    /// <summary>Responses actually delivered (status 2xx) under <paramref name="pathPrefix"/>.</summary>
    public int Delivered(string server, string pathPrefix) => Served(server, pathPrefix).Count(e => e["status"] is JsonValue v && v.GetValue<int>() is >= 200 and < 300);

    /// <summary>Successful settlements the server recorded for resources under <paramref name="pathPrefix"/>.</summary>
    public IReadOnlyList<JsonObject> Settlements(string server, string pathPrefix) => Entries(server, "settlements").Where(e => new Uri(Str(e, "resource")).AbsolutePath.StartsWith(pathPrefix, StringComparison.Ordinal)).ToList();

    /// <summary>Settlement failures the server saw under <paramref name="pathPrefix"/>.</summary>
    public IReadOnlyList<JsonObject> SettleFailures(string server, string pathPrefix) => Entries(server, "settleFailures").Where(e => e["resource"] is JsonValue && new Uri(Str(e, "resource")).AbsolutePath.StartsWith(pathPrefix, StringComparison.Ordinal)).ToList();

    /// <summary>Sign-in-with-x events of the official extension of type <paramref name="type"/> for resources under <paramref name="pathPrefix"/>.</summary>
    public IReadOnlyList<JsonObject> SignInEvents(string server, string type, string pathPrefix) =>
        Entries(server, "siwx").Where(e => Str(e, "type") == type && Str(e, "resource").StartsWith(pathPrefix, StringComparison.Ordinal)).ToList();

    /// <summary>Requests carrying a payment header under <paramref name="pathPrefix"/>, each with <c>done</c> once the paywall finished with it.</summary>
    public IReadOnlyList<JsonObject> PaidRequests(string server, string pathPrefix) => Entries(server, "paidRequests").Where(e => Str(e, "path").StartsWith(pathPrefix, StringComparison.Ordinal)).ToList();

    /// <summary>All successful settlements the facilitator performed (any server).</summary>
    public int FacilitatorSettlements => Json["facilitator"]!["settle"]!.AsArray().Count(e => e!["success"]?.GetValue<bool>() == true);

    /// <summary>The entries of <paramref name="server"/>'s list <paramref name="list"/>.</summary>
    public IEnumerable<JsonObject> Entries(string server, string list) => Json[server]![list]!.AsArray().OfType<JsonObject>();

    private static string Str(JsonObject e, string name) => e[name]?.GetValue<string>() ?? string.Empty;
}
