// official-pay.mjs — the PAYMENT-SIGNATURE the OFFICIAL x402 client would send for a 402.
//
// stdin:  { "privateKey": "0x…", "paymentRequiredHeader": "<base64 PAYMENT-REQUIRED value>",
//           "spendControls"?: false | {…} }   // optional x402Client.setSpendControls(); the official
//                                             // default only pays known default assets up to $1
// stdout: { "paymentSignatureHeader": "<base64>", "payload": <the decoded PaymentPayload, key order kept> }
//
// Official path: x402HTTPClient.getPaymentRequiredResponse (decodes the header) →
// x402Client with registerExactEvmScheme(client, { signer: privateKeyToAccount(key) }) from
// @x402/evm/exact/client → x402HTTPClient.createPaymentPayload → encodePaymentSignatureHeader.
// The client picks accepts[0] among the entries it supports (the default selector).

import { x402Client, x402HTTPClient } from "@x402/core/client";
import { registerExactEvmScheme } from "@x402/evm/exact/client";
import { privateKeyToAccount } from "viem/accounts";
import { run } from "./lib.mjs";

run(async ({ privateKey, paymentRequiredHeader, spendControls }) => {
  const client = registerExactEvmScheme(new x402Client(), { signer: privateKeyToAccount(privateKey) });
  if (spendControls !== undefined) client.setSpendControls(spendControls);
  const httpClient = new x402HTTPClient(client);

  const paymentRequired = httpClient.getPaymentRequiredResponse((name) =>
    name.toUpperCase() === "PAYMENT-REQUIRED" ? paymentRequiredHeader : null,
  );
  const payload = await httpClient.createPaymentPayload(paymentRequired);
  const headers = httpClient.encodePaymentSignatureHeader(payload);
  const paymentSignatureHeader = headers["PAYMENT-SIGNATURE"];
  return {
    paymentSignatureHeader,
    // decoded from the header itself, so the key order is exactly what goes on the wire
    payload: JSON.parse(Buffer.from(paymentSignatureHeader, "base64").toString("utf8")),
  };
});
