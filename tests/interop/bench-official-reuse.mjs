// bench-official-reuse.mjs — the OFFICIAL x402 client reusing a paid resource by sign-in-with-x, timed (used by
// bench/X402Orleans.Bench; not a test). Client: @x402/fetch wrapFetchWithPayment over an x402HTTPClient with the exact EVM
// scheme (@x402/evm) and the sign-in-with-x hook (@x402/extensions createSIWxClientHook): a reuse call is request → 402 with
// the sign-in-with-x challenge → signed proof → request again → 200.
//
// stdin:  { "url": "http://127.0.0.1:PORT/demo/weather", "privateKey": "0x…", "levels": [1, 16, 64],
//           "durationMs": 5000, "warmupMs": 1000 }
// stdout: { "levels": [{ "concurrency", "calls", "errors", "seconds", "throughput", "p50_ms", "p99_ms", "mean_ms",
//           "round_trips_per_call" }], "first": { "status", "round_trips" } }
import { x402Client, x402HTTPClient } from "@x402/core/client";
import { registerExactEvmScheme } from "@x402/evm/exact/client";
import { createSIWxClientHook } from "@x402/extensions/sign-in-with-x";
import { wrapFetchWithPayment } from "@x402/fetch";
import { privateKeyToAccount } from "viem/accounts";
import { run } from "./lib.mjs";

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

run(async ({ url, privateKey, levels = [1, 16, 64], durationMs = 5000, warmupMs = 1000 }) => {
  const account = privateKeyToAccount(privateKey);
  const client = registerExactEvmScheme(new x402Client(), { signer: account });
  client.setSpendControls?.(false);
  const http = new x402HTTPClient(client).onPaymentRequired(createSIWxClientHook(account));
  let roundTrips = 0;
  const counting = (input, init) => {
    roundTrips++;
    return fetch(input, init);
  };
  const paidFetch = wrapFetchWithPayment(counting, http);

  const call = async () => {
    const response = await paidFetch(url);
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`HTTP ${response.status}`);
  };

  // First call: the wallet has already paid for this path (the gateway's session start paid), so this is reuse too.
  const before = roundTrips;
  const first = await paidFetch(url);
  await first.arrayBuffer();
  const firstInfo = { status: first.status, round_trips: roundTrips - before };

  const out = [];
  for (const concurrency of levels) {
    const runFor = async (ms, latencies) => {
      const deadline = performance.now() + ms;
      let errors = 0;
      const worker = async () => {
        while (performance.now() < deadline) {
          const t0 = performance.now();
          try {
            await call();
            latencies?.push(performance.now() - t0);
          } catch (error) {
            errors++;
            if (errors <= 3) console.error(String(error));
          }
        }
      };
      await Promise.all(Array.from({ length: concurrency }, worker));
      return errors;
    };
    await runFor(warmupMs, null);
    const latencies = [];
    const tripsBefore = roundTrips;
    const started = performance.now();
    const errors = await runFor(durationMs, latencies);
    const seconds = (performance.now() - started) / 1000;
    const sorted = latencies.sort((a, b) => a - b);
    out.push({
      concurrency,
      calls: sorted.length,
      errors,
      seconds,
      throughput: sorted.length / seconds,
      p50_ms: percentile(sorted, 50),
      p99_ms: percentile(sorted, 99),
      mean_ms: sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length),
      round_trips_per_call: (roundTrips - tripsBefore) / Math.max(1, sorted.length + errors),
    });
    console.error(`official @x402/fetch c=${concurrency}: ${sorted.length} calls, p50 ${out.at(-1).p50_ms?.toFixed(2)} ms`);
  }
  return { levels: out, first: firstInfo };
});
