// `shoal dht get-peers <info hash>`: asks the DHT who has a torrent (a diagnostic).

import { decodeHex } from "../src/bytes/hex.ts";
import { DhtNode } from "../src/dht/dht_node.ts";
import { parseMagnet } from "../src/metainfo/magnet.ts";
import { formatPeerAddress } from "../src/wire/peer_address.ts";
import { parse, parseCount, parseNumber, parsePeer, UsageError } from "./args.ts";

/**
 * `shoal dht get-peers <info hash | magnet> [--dht-node HOST:PORT]... [--port N]
 * [--listen-host ADDR] [--timeout SECONDS] [--json]`: prints each peer the lookup finds.
 * @param args The arguments after `dht`.
 * @param signal Aborted on Ctrl-C.
 * @param line Writes one line to standard output.
 * @returns The exit code.
 */
export async function commandDht(
  args: string[],
  signal: AbortSignal,
  line: (text: string) => void,
): Promise<number> {
  const { values, positionals } = parse(args, {
    "dht-node": { type: "string", multiple: true },
    port: { type: "string" },
    "listen-host": { type: "string" },
    "state-dir": { type: "string" },
    timeout: { type: "string" },
    json: { type: "boolean" },
  });
  const [action, target] = positionals;
  if (action !== "get-peers" || !target) {
    throw new UsageError("dht needs: get-peers <info hash or magnet link>");
  }
  let infoHash: Uint8Array;
  if (target.startsWith("magnet:")) infoHash = parseMagnet(target).infoHash;
  else if (/^[0-9a-fA-F]{40}$/.test(target)) infoHash = decodeHex(target.toLowerCase());
  else throw new UsageError(`get-peers needs a 40-digit hex info hash, got "${target}"`);
  const port = parseCount(values.port as string | undefined, "port") ?? 0;
  if (port > 65535) throw new UsageError(`--port must be 0..65535, got ${port}`);
  const seconds = parseNumber(values.timeout as string | undefined, "timeout") ?? 30;
  const bootstrap = (values["dht-node"] as string[] | undefined)?.map((n) =>
    parsePeer(n, "dht-node")
  );
  const stateDir = values["state-dir"] as string | undefined;
  const timeout = AbortSignal.timeout(seconds * 1000);
  const lookup = AbortSignal.any([signal, timeout]);
  await using node = await DhtNode.open({
    port,
    host: values["listen-host"] as string | undefined,
    bootstrap,
    stateFile: stateDir ? `${stateDir}/dht.dat` : undefined,
  });
  let found = 0;
  try {
    await node.bootstrap();
    for await (const peer of node.getPeers(infoHash, { signal: lookup })) {
      found++;
      line(values.json ? JSON.stringify(peer) : formatPeerAddress(peer));
    }
  } catch (error) {
    if (signal.aborted) return 130;
    if (!timeout.aborted) throw error;
  }
  const stats = node.stats();
  if (!values.json) {
    line(
      `${found} peer${found === 1 ? "" : "s"} found (${stats.packetsOut} packets sent, ${
        stats.ipv4?.good ?? 0
      } good nodes)`,
    );
  }
  return 0;
}
