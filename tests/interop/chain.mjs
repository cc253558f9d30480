// chain.mjs — a local EVM chain for the end-to-end tests: ganache (in-process, HTTP JSON-RPC on 127.0.0.1), our own
// EIP-3009 token (contracts/TestUsdc.sol, compiled now with the pinned solc package), the Multicall3 tryAggregate the official
// facilitator uses for its diagnostics (at the canonical address), and funded wallets.

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import {
  createPublicClient,
  createWalletClient,
  defineChain,
  encodeFunctionData,
  getAddress,
  http,
  parseEther,
} from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";

const require = createRequire(import.meta.url);
const solc = require("solc");
const ganache = require("ganache");

/** Canonical Multicall3 address (the official @x402/evm facilitator reads through it). */
export const MULTICALL3_ADDRESS = "0xcA11bde05977b3631167028862bE2a173976CA11";

/** ganache's EVM (7.9.x): shanghai. Compile for it, so no newer opcode (MCOPY, TSTORE) ends up in the bytecode. */
const HARDFORK = "shanghai";

/**
 * Compiles the Solidity sources in contracts/ and returns { ContractName: { abi, bytecode, deployedBytecode } }. The default
 * EVM version is ganache's; anvil runs `cancun` (transient storage, MCOPY).
 */
export function compileContracts(files = ["TestUsdc.sol", "Multicall3Lite.sol"], { evmVersion = HARDFORK } = {}) {
  const sources = Object.fromEntries(
    files.map((f) => [f, { content: readFileSync(fileURLToPath(new URL(`./contracts/${f}`, import.meta.url)), "utf8") }]),
  );
  const input = {
    language: "Solidity",
    sources,
    settings: {
      evmVersion,
      optimizer: { enabled: true, runs: 200 },
      outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } },
    },
  };
  // Imports ("./X.sol") resolve to contracts/X.sol.
  const findImports = (path) => {
    try {
      return { contents: readFileSync(fileURLToPath(new URL(`./contracts/${path}`, import.meta.url)), "utf8") };
    } catch {
      return { error: `not found: ${path}` };
    }
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
  const errors = (output.errors ?? []).filter((e) => e.severity === "error");
  if (errors.length > 0) throw new Error("solc: " + errors.map((e) => e.formattedMessage).join("\n"));
  const contracts = {};
  for (const file of Object.values(output.contracts)) {
    for (const [name, c] of Object.entries(file)) {
      contracts[name] = { abi: c.abi, bytecode: "0x" + c.evm.bytecode.object, deployedBytecode: "0x" + c.evm.deployedBytecode.object };
    }
  }
  return contracts;
}

/**
 * Starts ganache on 127.0.0.1 (ephemeral port unless given) with `chainId`, deploys TestUsdc(name, version, symbol), puts
 * Multicall3Lite's code at the canonical Multicall3 address, and returns the handles. `operator` (a fresh key, funded with
 * ETH) deploys, mints and is the facilitator's gas payer.
 */
export async function startChain({ chainId = 84532, port = 0, tokenName = "USDC", tokenVersion = "2", tokenSymbol = "USDC" } = {}) {
  const contracts = compileContracts();
  const operatorKey = generatePrivateKey();
  const server = ganache.server({
    chain: { chainId, hardfork: HARDFORK },
    wallet: { accounts: [{ secretKey: operatorKey, balance: "0x" + parseEther("1000").toString(16) }] },
    miner: { instamine: "eager" },
    logging: { quiet: true },
  });
  await server.listen(port, "127.0.0.1");
  const address = server.address();
  const rpcUrl = `http://127.0.0.1:${address.port}`;
  const chain = defineChain({
    id: chainId,
    name: `local-${chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
  const transport = http(rpcUrl, { retryCount: 0 });
  const publicClient = createPublicClient({ chain, transport });
  const operator = privateKeyToAccount(operatorKey);
  const operatorClient = createWalletClient({ account: operator, chain, transport });

  const deploy = async (name, args = []) => {
    const { abi, bytecode } = contracts[name];
    const hash = await operatorClient.deployContract({ abi, bytecode, args });
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success" || !receipt.contractAddress) throw new Error(`deploying ${name} failed`);
    return getAddress(receipt.contractAddress);
  };

  const token = await deploy("TestUsdc", [tokenName, tokenVersion, tokenSymbol]);
  await server.provider.request({
    method: "evm_setAccountCode",
    params: [MULTICALL3_ADDRESS, contracts.Multicall3Lite.deployedBytecode],
  });

  const tokenAbi = contracts.TestUsdc.abi;
  const send = async (request) => {
    const hash = await operatorClient.sendTransaction(request);
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new Error(`transaction ${hash} reverted`);
    return hash;
  };

  return {
    chainId,
    rpcUrl,
    chain,
    transport,
    publicClient,
    operatorKey,
    operator,
    token,
    tokenAbi,
    contracts,
    /** Mints `amount` atomic units of `asset` (default: the token) to `to`; the operator deployed it, so it is the minter. */
    mint: (to, amount, asset = token) =>
      send({ to: asset, data: encodeFunctionData({ abi: tokenAbi, functionName: "mint", args: [getAddress(to), BigInt(amount)] }) }),
    /** Deploys another TestUsdc (e.g. an asset the gateway does not allow). */
    deployToken: (name, version, symbol) => deploy("TestUsdc", [name, version, symbol]),
    /** Token balance (atomic units, bigint). */
    balanceOf: (owner, asset = token) =>
      publicClient.readContract({ address: asset, abi: tokenAbi, functionName: "balanceOf", args: [getAddress(owner)] }),
    async close() {
      await server.close();
    },
  };
}
