import { decodeHex, encodeHex } from "../bytes/hex.ts";
import { encodeIpAddress } from "../wire/peer_address.ts";
import type { DhtContact } from "./compact_nodes.ts";
import { NODE_ID_BYTES } from "./node_id.ts";
import { writeFileAtomic } from "../util/write_file_atomic.ts";

/** The most nodes read from a state file. */
export const MAX_SAVED_NODES = 2000;

/** What a DHT node saves between runs (BEP 5: "save the routing table"). */
export interface DhtState {
  /** Our node id. */
  nodeId: Uint8Array;
  /** Known nodes, IPv4 and IPv6. */
  nodes: DhtContact[];
}

/**
 * Encodes the state as JSON text: `{"version":1,"nodeId":hex,"nodes":[[hex id, host, port]]}`.
 * @param state The state.
 * @returns UTF-8 JSON.
 * @example
 * ```ts
 * import { decodeDhtState, encodeDhtState } from "@shoal/shoal/dht";
 * import { deepStrictEqual } from "node:assert/strict";
 * const state = { nodeId: new Uint8Array(20), nodes: [{ id: new Uint8Array(20).fill(1), host: "10.0.0.1", port: 6881 }] };
 * deepStrictEqual(decodeDhtState(encodeDhtState(state)), state);
 * ```
 */
export function encodeDhtState(state: DhtState): Uint8Array {
  const json = {
    version: 1,
    nodeId: encodeHex(state.nodeId),
    nodes: state.nodes.map((n) => [encodeHex(n.id), n.host, n.port]),
  };
  return new TextEncoder().encode(JSON.stringify(json) + "\n");
}

/**
 * Decodes a state file. Node entries that are malformed are skipped; at most
 * {@linkcode MAX_SAVED_NODES} are read.
 * @param bytes The file's bytes.
 * @returns The state.
 * @throws {SyntaxError} If it is not JSON, not version 1, or has no valid node id.
 * @example
 * ```ts
 * import { decodeDhtState } from "@shoal/shoal/dht";
 * import { throws } from "node:assert/strict";
 * throws(() => decodeDhtState(new TextEncoder().encode("{}")), SyntaxError);
 * ```
 */
export function decodeDhtState(bytes: Uint8Array): DhtState {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch (cause) {
    throw new SyntaxError("Cannot decode DHT state: not JSON", { cause });
  }
  const root = json as { version?: unknown; nodeId?: unknown; nodes?: unknown };
  if (typeof root !== "object" || root === null || root.version !== 1) {
    throw new SyntaxError("Cannot decode DHT state: not a version 1 state");
  }
  const nodeId = typeof root.nodeId === "string" ? hexId(root.nodeId) : undefined;
  if (!nodeId) throw new SyntaxError("Cannot decode DHT state: no valid node id");
  const nodes: DhtContact[] = [];
  if (Array.isArray(root.nodes)) {
    for (const entry of root.nodes.slice(0, MAX_SAVED_NODES)) {
      if (!Array.isArray(entry) || entry.length !== 3) continue;
      const [idHex, host, port] = entry;
      const id = typeof idHex === "string" ? hexId(idHex) : undefined;
      if (!id || typeof host !== "string" || !Number.isInteger(port) || port < 1 || port > 65535) {
        continue;
      }
      try {
        encodeIpAddress(host);
      } catch {
        continue;
      }
      nodes.push({ id, host, port });
    }
  }
  return { nodeId, nodes };
}

function hexId(text: string): Uint8Array | undefined {
  if (text.length !== NODE_ID_BYTES * 2) return undefined;
  try {
    return decodeHex(text);
  } catch {
    return undefined;
  }
}

/**
 * Reads a state file.
 * @param path The file.
 * @returns The state, or `undefined` when the file is missing or unreadable as a state.
 * @example
 * ```ts
 * import { loadDhtState } from "@shoal/shoal/dht";
 * import { strictEqual } from "node:assert/strict";
 * strictEqual(await loadDhtState("/nonexistent/dht.json"), undefined);
 * ```
 */
export async function loadDhtState(path: string): Promise<DhtState | undefined> {
  try {
    return decodeDhtState(await Deno.readFile(path));
  } catch {
    return undefined;
  }
}

/**
 * Writes a state file atomically: a temporary file beside it, then a rename, so a crash leaves
 * either the old file or the new one.
 * @param path The file.
 * @param state The state.
 * @returns Resolves once renamed into place.
 * @throws {Deno.errors.NotFound} If the folder does not exist (and other file-system errors).
 * @example
 * ```ts
 * import { loadDhtState, saveDhtState } from "@shoal/shoal/dht";
 * import { strictEqual } from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * await saveDhtState(`${dir}/dht.json`, { nodeId: new Uint8Array(20).fill(2), nodes: [] });
 * strictEqual((await loadDhtState(`${dir}/dht.json`))?.nodeId[0], 2);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function saveDhtState(path: string, state: DhtState): Promise<void> {
  await writeFileAtomic(path, encodeDhtState(state));
}
