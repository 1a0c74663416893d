import { BencodeError, decodeBencode } from "../bencode/decode.ts";
import { bencodeText, isBencodeDict } from "../bencode/fields.ts";
import type { BencodeDict, BencodeValue } from "../bencode/types.ts";
import { decodeCompactPeers, decodeIpAddress, type PeerAddress } from "../wire/peer_address.ts";
import { TrackerError } from "./tracker_error.ts";
import type { AnnounceResponse } from "./types.ts";

/** The shortest re-announce interval accepted from a tracker, in seconds. */
export const MIN_ANNOUNCE_INTERVAL_SECONDS: number = 60;
/** The longest re-announce interval accepted from a tracker, in seconds. */
export const MAX_ANNOUNCE_INTERVAL_SECONDS: number = 2 * 60 * 60;
/** The interval used when a tracker gives none, or zero, or nonsense, in seconds. */
export const DEFAULT_ANNOUNCE_INTERVAL_SECONDS: number = 30 * 60;

/**
 * Clamps a tracker's announce interval into
 * [{@linkcode MIN_ANNOUNCE_INTERVAL_SECONDS}, {@linkcode MAX_ANNOUNCE_INTERVAL_SECONDS}];
 * a missing, zero, negative or non-integer interval gives
 * {@linkcode DEFAULT_ANNOUNCE_INTERVAL_SECONDS}.
 * @param value The interval the tracker sent, if any.
 * @returns A sane interval in seconds.
 * @example
 * ```ts
 * import { clampAnnounceInterval } from "@shoal/shoal/tracker";
 * import { strictEqual } from "node:assert/strict";
 * strictEqual(clampAnnounceInterval(0), 1800);
 * strictEqual(clampAnnounceInterval(5), 60);
 * strictEqual(clampAnnounceInterval(10 ** 9), 7200);
 * ```
 */
export function clampAnnounceInterval(value: number | bigint | undefined): number {
  if (typeof value === "bigint") value = value > 0n ? Infinity : 0;
  if (value === undefined || !(value > 0) || Number.isNaN(value)) {
    return DEFAULT_ANNOUNCE_INTERVAL_SECONDS;
  }
  return Math.min(
    MAX_ANNOUNCE_INTERVAL_SECONDS,
    Math.max(MIN_ANNOUNCE_INTERVAL_SECONDS, Math.floor(value)),
  );
}

function countField(dict: BencodeDict, key: string): number | undefined {
  const value = dict.get(key);
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return value;
  return undefined;
}

function textField(dict: BencodeDict, key: string): string | undefined {
  const value = dict.get(key);
  return value instanceof Uint8Array ? bencodeText(value) : undefined;
}

/**
 * Decodes compact peers (6 bytes each for IPv4, BEP 23; 18 for IPv6, BEP 7), dropping an
 * incomplete tail and peers with port 0, and noting each problem in `notes`.
 * @param bytes The compact peer string.
 * @param family 4 or 6.
 * @param notes Receives one line per problem.
 * @returns The good peers.
 */
export function decodeCompactPeerList(
  bytes: Uint8Array,
  family: 4 | 6,
  notes: string[],
): PeerAddress[] {
  const size = family === 4 ? 6 : 18;
  const whole = bytes.length - (bytes.length % size);
  if (whole !== bytes.length) {
    notes.push(
      `compact IPv${family} peers are ${bytes.length} bytes, not a multiple of ${size}: ` +
        `dropped the last ${bytes.length - whole}`,
    );
  }
  let zeroPorts = 0;
  for (let at = size - 2; at < whole; at += size) {
    if (bytes[at] === 0 && bytes[at + 1] === 0) zeroPorts++;
  }
  if (zeroPorts > 0) notes.push(`dropped ${zeroPorts} IPv${family} peers with port 0`);
  // decodeCompactPeers skips port 0 itself.
  return decodeCompactPeers(bytes.subarray(0, whole), family);
}

function decodeDictPeers(list: BencodeValue[], notes: string[]): PeerAddress[] {
  const peers: PeerAddress[] = [];
  let bad = 0;
  for (const item of list) {
    if (!isBencodeDict(item)) {
      bad++;
      continue;
    }
    const ip = item.get("ip");
    const port = item.get("port");
    if (
      !(ip instanceof Uint8Array) || ip.length === 0 || ip.length > 255 ||
      typeof port !== "number" || !Number.isInteger(port) || port <= 0 || port > 65535
    ) {
      bad++;
      continue;
    }
    let host = bencodeText(ip).trim();
    if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
    if (host === "" || /[\s/\\?#@]/.test(host)) {
      bad++;
      continue;
    }
    peers.push({ host, port });
  }
  if (bad > 0) notes.push(`dropped ${bad} malformed peer entries`);
  return peers;
}

/**
 * Parses the bencoded body of an HTTP tracker's announce response (BEP 3): compact IPv4 peers
 * (BEP 23), `peers6` (BEP 7) or a list of `ip`/`port` dictionaries, the interval (clamped, see
 * {@linkcode clampAnnounceInterval}), `min interval`, `tracker id`, `warning message` and the
 * `complete`/`incomplete` counts. Bad peer data is dropped, keeping the good peers, and
 * reported in `warning`. Duplicate peers are removed.
 * @param bytes The response body.
 * @param url The tracker's URL, for error messages.
 * @returns The checked response.
 * @throws {TrackerError} If the tracker sent a `failure reason`, or the body is not a bencoded
 *   dictionary.
 * @example
 * ```ts
 * import { parseAnnounceResponse } from "@shoal/shoal/tracker";
 * import { deepStrictEqual } from "node:assert/strict";
 * const body = new Uint8Array([
 *   ...new TextEncoder().encode("d8:intervali900e5:peers6:"), 127, 0, 0, 1, 0x1a, 0xe1, 101,
 * ]);
 * deepStrictEqual(parseAnnounceResponse(body), {
 *   peers: [{ host: "127.0.0.1", port: 6881 }],
 *   intervalSeconds: 900,
 * });
 * ```
 */
export function parseAnnounceResponse(bytes: Uint8Array, url = ""): AnnounceResponse {
  let root: BencodeValue;
  try {
    root = decodeBencode(bytes);
  } catch (error) {
    if (!(error instanceof BencodeError)) throw error;
    throw new TrackerError(
      `Cannot parse announce response${url ? ` from ${url}` : ""}: ${error.message}`,
      url,
      { cause: error },
    );
  }
  if (!isBencodeDict(root)) {
    throw new TrackerError(
      `Cannot parse announce response${url ? ` from ${url}` : ""}: not a dictionary`,
      url,
    );
  }
  const failure = textField(root, "failure reason");
  if (failure !== undefined) {
    throw new TrackerError(
      `Tracker ${url || "(unknown)"} refused the announce: ${failure}`,
      url,
      { failureReason: failure },
    );
  }
  const notes: string[] = [];
  const peers: PeerAddress[] = [];
  const peers4 = root.get("peers");
  // Appended one by one: a spread of a 150,000-peer list would overflow the call stack.
  const append = (list: PeerAddress[]) => {
    for (const peer of list) peers.push(peer);
  };
  if (peers4 instanceof Uint8Array) append(decodeCompactPeerList(peers4, 4, notes));
  else if (Array.isArray(peers4)) append(decodeDictPeers(peers4, notes));
  else if (peers4 !== undefined) notes.push("ignored a `peers` field of the wrong type");
  const peers6 = root.get("peers6");
  if (peers6 instanceof Uint8Array) append(decodeCompactPeerList(peers6, 6, notes));
  else if (peers6 !== undefined) notes.push("ignored a `peers6` field of the wrong type");

  const rawInterval = root.get("interval");
  const intervalSeconds = clampAnnounceInterval(
    typeof rawInterval === "number" || typeof rawInterval === "bigint" ? rawInterval : undefined,
  );
  if (
    !(typeof rawInterval === "number" && rawInterval >= MIN_ANNOUNCE_INTERVAL_SECONDS &&
      rawInterval <= MAX_ANNOUNCE_INTERVAL_SECONDS)
  ) {
    const given = typeof rawInterval === "number" || typeof rawInterval === "bigint"
      ? `an interval of ${rawInterval} s`
      : "no usable interval";
    notes.push(`gave ${given}: re-announcing every ${intervalSeconds} s`);
  }
  const response: AnnounceResponse = { peers: dedupePeers(peers), intervalSeconds };
  const minInterval = countField(root, "min interval");
  if (minInterval !== undefined && minInterval > 0) {
    response.minIntervalSeconds = Math.min(minInterval, MAX_ANNOUNCE_INTERVAL_SECONDS);
  }
  const trackerId = textField(root, "tracker id");
  if (trackerId !== undefined && trackerId !== "") response.trackerId = trackerId;
  const warning = textField(root, "warning message");
  if (warning !== undefined && warning !== "") notes.unshift(warning);
  if (notes.length > 0) response.warning = notes.join("; ");
  const seeders = countField(root, "complete");
  if (seeders !== undefined) response.seeders = seeders;
  const leechers = countField(root, "incomplete");
  if (leechers !== undefined) response.leechers = leechers;
  const external = root.get("external ip"); // BEP 24: the address the tracker sees us at
  if (external instanceof Uint8Array && (external.length === 4 || external.length === 16)) {
    response.externalIp = decodeIpAddress(external);
  }
  return response;
}

/**
 * Removes repeated peers, keeping the first of each host and port.
 * @param peers Peers, maybe repeated.
 * @returns The peers, each once, in order.
 */
export function dedupePeers(peers: readonly PeerAddress[]): PeerAddress[] {
  const seen = new Set<string>();
  const out: PeerAddress[] = [];
  for (const peer of peers) {
    const key = `${peer.host.toLowerCase()}|${peer.port}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(peer);
  }
  return out;
}
