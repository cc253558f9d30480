// mcp-client.mjs — drives an MCP server with the OFFICIAL TypeScript MCP SDK client (@modelcontextprotocol/sdk).
//
// stdin:  { "transport": "http", "url": "http://127.0.0.1:port/mcp", "headers"?: { name: value } }
//       | { "transport": "stdio", "command": "dotnet", "args": [...], "env"?: { name: value }, "cwd"?: "…" }
//         plus "steps": [ { "tool": "x402_session_start", "arguments": { … } }, … ], "timeoutMs"?: n (per request, default 60000)
//         A string argument "{{session_id}}" is replaced by the session_id of the latest successful x402_session_start.
// stdout: { "serverInfo", "capabilities", "instructions", "tools": [ { name, title, hasOutputSchema, required } ],
//           "results": [ { tool, isError, text, structuredContent } ], "stderrTail"?: "…" (stdio: the server's last stderr lines) }
//
// Streamable HTTP: StreamableHTTPClientTransport; stdio: StdioClientTransport spawning the server (environment = this process's
// environment plus "env"). The client is closed (and a stdio server terminated) before the answer is printed.

import { setMaxListeners } from "node:events";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { run } from "./lib.mjs";

setMaxListeners(0);

run(async (input) => {
  const timeout = input.timeoutMs ?? 60000;
  let transport;
  let stderrTail = "";
  if (input.transport === "http") {
    transport = new StreamableHTTPClientTransport(new URL(input.url), { requestInit: { headers: input.headers ?? {} } });
  } else if (input.transport === "stdio") {
    transport = new StdioClientTransport({
      command: input.command,
      args: input.args ?? [],
      env: { ...process.env, ...(input.env ?? {}) },
      cwd: input.cwd,
      stderr: "pipe",
    });
    transport.stderr?.on("data", (chunk) => {
      stderrTail = (stderrTail + chunk.toString("utf8")).slice(-4000);
    });
  } else {
    throw new Error(`transport must be "http" or "stdio" (got ${JSON.stringify(input.transport)})`);
  }

  const client = new Client({ name: "x402orleans-interop", version: "1.0.0" });
  try {
    await client.connect(transport, { timeout });
    const listed = await client.listTools(undefined, { timeout });
    const results = [];
    let sessionId = null;
    for (const step of input.steps ?? []) {
      const args = substitute(step.arguments ?? {}, sessionId);
      const result = await client.callTool({ name: step.tool, arguments: args }, undefined, { timeout });
      const text = (result.content ?? []).filter((c) => c.type === "text").map((c) => c.text).join("\n");
      results.push({ tool: step.tool, isError: result.isError === true, text, structuredContent: result.structuredContent ?? null });
      if (step.tool === "x402_session_start" && result.isError !== true && result.structuredContent?.session_id) {
        sessionId = result.structuredContent.session_id;
      }
    }
    return {
      serverInfo: client.getServerVersion() ?? null,
      capabilities: client.getServerCapabilities() ?? null,
      instructions: client.getInstructions() ?? null,
      tools: listed.tools.map((t) => ({
        name: t.name,
        title: t.title ?? null,
        hasOutputSchema: t.outputSchema !== undefined,
        required: t.inputSchema?.required ?? [],
      })),
      results,
      ...(input.transport === "stdio" ? { stderrTail } : {}),
    };
  } finally {
    await client.close().catch(() => {});
  }
});

function substitute(value, sessionId) {
  if (value === "{{session_id}}") return sessionId;
  if (Array.isArray(value)) return value.map((v) => substitute(v, sessionId));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, sessionId)]));
  }
  return value;
}
