import { encodeIpAddress } from "../wire/peer_address.ts";
import type { DhtAddress } from "./dht_address.ts";

/**
 * The public DHT routers used when a node has no saved nodes and no `bootstrap` option. No
 * test contacts them.
 */
export const DEFAULT_BOOTSTRAP_NODES: readonly DhtAddress[] = Object.freeze([
  { host: "router.bittorrent.com", port: 6881 },
  { host: "router.utorrent.com", port: 6881 },
  { host: "dht.transmissionbt.com", port: 6881 },
  { host: "dht.libtorrent.org", port: 25401 },
]);

const RESOLVE_TIMEOUT_MS = 5_000;

function isIpLiteral(host: string): boolean {
  try {
    encodeIpAddress(host);
    return true;
  } catch {
    return false;
  }
}

/**
 * Turns bootstrap entries into IP endpoints of the wanted families: IP literals are kept, host
 * names are resolved (A and/or AAAA records, 5 s limit); names that do not resolve are dropped.
 * @param entries Hosts (names or IP literals) and ports.
 * @param families The address families the node can reach.
 * @param signal Stops the resolution.
 * @returns The endpoints, without duplicates.
 * @example
 * ```ts
 * import { resolveBootstrapNodes } from "@shoal/shoal/dht";
 * import { deepStrictEqual } from "node:assert/strict";
 * deepStrictEqual(await resolveBootstrapNodes([{ host: "127.0.0.1", port: 6881 }], [4]), [
 *   { host: "127.0.0.1", port: 6881 },
 * ]);
 * ```
 */
export async function resolveBootstrapNodes(
  entries: readonly DhtAddress[],
  families: readonly (4 | 6)[],
  signal?: AbortSignal,
): Promise<DhtAddress[]> {
  const out = new Map<string, DhtAddress>();
  const add = (host: string, port: number): void => {
    const family = host.includes(":") ? 6 : 4;
    if (families.includes(family)) out.set(`${host}:${port}`, { host, port });
  };
  await Promise.all(entries.map(async ({ host, port }) => {
    const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
    if (isIpLiteral(bare)) return add(bare, port);
    const limit = AbortSignal.timeout(RESOLVE_TIMEOUT_MS);
    const both = signal ? AbortSignal.any([limit, signal]) : limit;
    for (const family of families) {
      try {
        const records = await Deno.resolveDns(bare, family === 4 ? "A" : "AAAA", {
          signal: both,
        });
        for (const ip of records) add(ip, port);
      } catch {
        // unresolvable or no permission: skip this entry
      }
    }
  }));
  return [...out.values()];
}
