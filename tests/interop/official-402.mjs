// official-402.mjs — what the OFFICIAL x402 server answers to an unpaid request.
//
// stdin:  { "port"?: n,
//           "routes": [ { "path": "/api/weather", "method": "GET",
//                         "price": "$0.001" | { "amount": "1000", "asset": "0x…", "extra"?: {…} },
//                         "network": "eip155:84532", "payTo": "0x…",
//                         "siwx": true | false | { "statement"?, "expirationSeconds"?, "network"?, "version"? },
//                         "siwxOnly"?: bool,           // accepts: [] (auth only, no payment)
//                         "description"?: "…", "mimeType"?: "…", "maxTimeoutSeconds"?: n,
//                         "requestHeaders"?: { name: value } } ] }   // sent with the request (default none)
// stdout: { "port": n, "responses": [ { "path", "method", "status", "headers": { lower-case name: value }, "body": "<text>" } ] }
//
// A real Express 5 app with @x402/express `paymentMiddleware` listens on 127.0.0.1 (port 0 =
// ephemeral unless "port" is given). The x402ResourceServer gets the official exact EVM server
// scheme and, as facilitator client, the official in-process x402Facilitator (exact EVM facilitator
// scheme on an offline chain view — see lib.mjs); the middleware only calls its getSupported()
// at start, since unpaid requests never reach verify/settle. SIWX routes declare the extension with
// the official `declareSIWxExtension(options)` ("siwx": true = no options) and the server registers
// `createSIWxResourceServerExtension({ origin: "http://127.0.0.1:<port>", storage })`.
// One request per route (plain fetch, no Accept: text/html so no paywall HTML), unpaid unless
// "requestHeaders" adds e.g. PAYMENT-SIGNATURE or SIGN-IN-WITH-X (needs a fixed "port" for SIWX,
// since the challenge is bound to the origin). A payment would be verified by the offline
// facilitator and then fail at settlement (no chain): the answer shows the official server's
// matching/verify verdict, not a settlement.

import http from "node:http";
import express from "express";
import { paymentMiddleware } from "@x402/express";
import {
  createSIWxResourceServerExtension,
  declareSIWxExtension,
  InMemorySIWxStorage,
} from "@x402/extensions/sign-in-with-x";
import { DEFAULT_ASSETS } from "@x402/evm";
import {
  createOfflineChainView,
  createOfflineFacilitator,
  createResourceServer,
  run,
  unique,
} from "./lib.mjs";

run(async (input) => {
  const routes = input.routes ?? [];
  if (routes.length === 0) throw new Error("no routes given");

  const app = express();
  const server = http.createServer(app);
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(input.port ?? 0, "127.0.0.1", resolve);
  });
  const { port } = server.address();
  const origin = `http://127.0.0.1:${port}`;

  try {
    // the chain view treats the routes' assets (explicit, or the official default assets of their
    // networks) as deployed contracts, so a paid request gets past the facilitator's asset check
    const contracts = routes.flatMap((r) =>
      typeof r.price === "object" ? [r.price.asset] : (DEFAULT_ASSETS[r.network] ?? []).map((a) => a.asset),
    );
    const resourceServer = createResourceServer(
      createOfflineFacilitator(
        unique(routes.map((r) => r.network)),
        createOfflineChainView({ contracts }),
      ),
    );
    if (routes.some((r) => r.siwx)) {
      resourceServer.registerExtension(
        createSIWxResourceServerExtension({ origin, storage: new InMemorySIWxStorage() }),
      );
    }

    const routesConfig = {};
    for (const r of routes) {
      const method = (r.method ?? "GET").toUpperCase();
      const option = { scheme: "exact", price: r.price, network: r.network, payTo: r.payTo };
      if (r.maxTimeoutSeconds !== undefined) option.maxTimeoutSeconds = r.maxTimeoutSeconds;
      const config = { accepts: r.siwxOnly ? [] : option };
      if (r.description !== undefined) config.description = r.description;
      if (r.mimeType !== undefined) config.mimeType = r.mimeType;
      if (r.siwx) {
        const options = typeof r.siwx === "object" ? { ...r.siwx } : {};
        if (r.siwxOnly && options.network === undefined) options.network = r.network;
        config.extensions = declareSIWxExtension(options);
      }
      routesConfig[`${method} ${r.path}`] = config;
    }

    app.use(paymentMiddleware(routesConfig, resourceServer));
    app.all("/{*rest}", (req, res) => res.json({ ok: true, path: req.path })); // paid/granted only

    const responses = [];
    for (const r of routes) {
      const method = (r.method ?? "GET").toUpperCase();
      const res = await fetch(origin + r.path, { method, headers: r.requestHeaders ?? {} });
      responses.push({
        path: r.path,
        method,
        status: res.status,
        headers: Object.fromEntries(res.headers), // Headers iterates lower-case names
        body: await res.text(),
      });
    }
    return { port, responses };
  } finally {
    server.closeAllConnections();
    server.close();
  }
});
