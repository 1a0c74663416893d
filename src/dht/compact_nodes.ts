import { decodeIpAddress, encodeIpAddress } from "../wire/peer_address.ts";
import { KrpcError } from "./krpc_error.ts";
import { NODE_ID_BYTES } from "./node_id.ts";

/** A DHT node: its 20-byte id and UDP endpoint. */
export interface DhtContact {
  /** The node's 160-bit id. */
  id: Uint8Array;
  /** IPv4 or IPv6 address. */
  host: string;
  /** UDP port. */
  port: number;
}

/**
 * The size of one "compact node info" entry: 26 bytes for IPv4 (BEP 5), 38 for IPv6 (BEP 32).
 * @param family 4 or 6.
 * @returns 26 or 38.
 * @example
 * ```ts
 * import { compactNodeSize } from "@shoal/shoal/dht";
 * import { strictEqual } from "node:assert/strict";
 * strictEqual(compactNodeSize(6), 38);
 * ```
 */
export function compactNodeSize(family: 4 | 6): number {
  return NODE_ID_BYTES + (family === 4 ? 4 : 16) + 2;
}

/**
 * Encodes nodes as compact node info (`nodes` or `nodes6`); nodes of the other family are left
 * out.
 * @param nodes The nodes.
 * @param family 4 for `nodes`, 6 for `nodes6`.
 * @returns The concatenated entries.
 * @throws {RangeError} If an id is not 20 bytes or a port is outside 1..65535.
 * @throws {SyntaxError} If a host is not an IP address.
 * @example
 * ```ts
 * import { decodeCompactNodes, encodeCompactNodes } from "@shoal/shoal/dht";
 * import { deepStrictEqual } from "node:assert/strict";
 * const node = { id: new Uint8Array(20).fill(7), host: "10.0.0.1", port: 6881 };
 * deepStrictEqual(decodeCompactNodes(encodeCompactNodes([node], 4), 4), [node]);
 * ```
 */
export function encodeCompactNodes(nodes: readonly DhtContact[], family: 4 | 6): Uint8Array {
  const size = compactNodeSize(family);
  const chosen = nodes.filter((n) => n.host.includes(":") === (family === 6));
  const out = new Uint8Array(chosen.length * size);
  chosen.forEach((node, i) => {
    if (node.id.length !== NODE_ID_BYTES) {
      throw new RangeError(`Cannot encode node: id of ${node.id.length} bytes, expected 20`);
    }
    if (!Number.isInteger(node.port) || node.port < 1 || node.port > 65535) {
      throw new RangeError(`Cannot encode node: port ${node.port} is outside 1..65535`);
    }
    const at = i * size;
    out.set(node.id, at);
    const ip = encodeIpAddress(node.host);
    out.set(ip, at + NODE_ID_BYTES);
    out[at + size - 2] = node.port >> 8;
    out[at + size - 1] = node.port & 0xff;
  });
  return out;
}

/**
 * Decodes compact node info. Entries with port 0 are skipped.
 * @param bytes A `nodes` (26-byte entries) or `nodes6` (38-byte entries) value.
 * @param family 4 or 6.
 * @returns The nodes; ids are fresh copies.
 * @throws {KrpcError} If the length is not a multiple of the entry size.
 * @example
 * ```ts
 * import { decodeCompactNodes } from "@shoal/shoal/dht";
 * import { throws } from "node:assert/strict";
 * throws(() => decodeCompactNodes(new Uint8Array(27), 4), /multiple of 26/);
 * ```
 */
export function decodeCompactNodes(bytes: Uint8Array, family: 4 | 6): DhtContact[] {
  const size = compactNodeSize(family);
  if (bytes.length % size !== 0) {
    throw new KrpcError(
      `Cannot decode nodes: ${bytes.length} bytes is not a multiple of ${size}`,
    );
  }
  const out: DhtContact[] = [];
  for (let at = 0; at < bytes.length; at += size) {
    const port = (bytes[at + size - 2] << 8) | bytes[at + size - 1];
    if (port === 0) continue;
    out.push({
      id: bytes.slice(at, at + NODE_ID_BYTES),
      host: decodeIpAddress(bytes.subarray(at + NODE_ID_BYTES, at + size - 2)),
      port,
    });
  }
  return out;
}
