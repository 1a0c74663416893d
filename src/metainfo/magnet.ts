import { decodeHex, encodeHex } from "../bytes/hex.ts";

/** A peer address from a magnet link's `x.pe` parameter. */
export interface MagnetPeer {
  /** IPv4 address, IPv6 address (without brackets) or host name. */
  readonly host: string;
  /** TCP port, 1..65535. */
  readonly port: number;
}

/** A parsed magnet URI (BEP 9). */
export interface MagnetLink {
  /** The v1 info hash (20 bytes). */
  readonly infoHash: Uint8Array;
  /** The info hash as 40 lowercase hex digits. */
  readonly infoHashHex: string;
  /** The display name (`dn`), when given. Not sanitised: it is only a hint. */
  readonly name?: string;
  /** Tracker URLs (`tr`), deduplicated, in order. */
  readonly trackers: readonly string[];
  /** Peer addresses (`x.pe`); malformed ones are skipped. */
  readonly peers: readonly MagnetPeer[];
  /** Web seed URLs (`ws`, BEP 19). */
  readonly webSeeds: readonly string[];
  /** File indices to download (`so`, BEP 53), ascending and unique, when given. */
  readonly selectOnly?: readonly number[];
}

/** What {@linkcode formatMagnet} needs: a {@linkcode MagnetLink}, or less. */
export interface FormatMagnetInput {
  /** The v1 info hash: 20 bytes or 40 hex digits. */
  readonly infoHash: Uint8Array | string;
  /** Display name. */
  readonly name?: string;
  /** Tracker URLs. */
  readonly trackers?: readonly string[];
  /** Peer addresses. */
  readonly peers?: readonly MagnetPeer[];
  /** Web seed URLs. */
  readonly webSeeds?: readonly string[];
  /** File indices to select. */
  readonly selectOnly?: readonly number[];
}

/**
 * A magnet URI that cannot be used: not a magnet, no usable info hash, bad escapes.
 * @example
 * ```ts
 * import { MagnetError, parseMagnet } from "@shoal/shoal";
 * import { throws } from "node:assert/strict";
 * throws(() => parseMagnet("magnet:?dn=nothing"), MagnetError);
 * ```
 */
export class MagnetError extends SyntaxError {
  /**
   * Makes the error.
   * @param message What failed, starting "Cannot parse magnet link: ".
   * @param options `cause` when wrapping another error.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "MagnetError";
  }
}

/** The most file indices an `so` parameter may select (a guard against `0-999999999`). */
export const MAX_SELECT_ONLY_INDICES: number = 1_000_000;

const BASE32_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

function fail(message: string, cause?: unknown): never {
  throw new MagnetError(`Cannot parse magnet link: ${message}`, cause ? { cause } : undefined);
}

function decodeBase32(text: string): Uint8Array | undefined {
  const out = new Uint8Array(Math.floor(text.length * 5 / 8));
  let bits = 0, value = 0, index = 0;
  for (const ch of text.toUpperCase()) {
    const digit = BASE32_ALPHABET.indexOf(ch);
    if (digit < 0) return undefined;
    value = (value << 5) | digit;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[index++] = (value >> bits) & 0xff;
    }
  }
  return out;
}

function decodeInfoHash(text: string): Uint8Array | undefined {
  if (/^[0-9a-fA-F]{40}$/.test(text)) return decodeHex(text);
  if (/^[A-Za-z2-7]{32}$/.test(text)) return decodeBase32(text);
  return undefined;
}

function percentDecode(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch (error) {
    fail(`bad percent-escape in ${what}`, error);
  }
}

function parsePeer(text: string): MagnetPeer | undefined {
  const match = /^\[([0-9A-Fa-f:.]+)\]:(\d{1,5})$/.exec(text) ??
    /^([A-Za-z0-9.-]+):(\d{1,5})$/.exec(text);
  if (!match) return undefined;
  const port = Number(match[2]);
  if (port < 1 || port > 65535) return undefined;
  return { host: match[1], port };
}

function parseSelectOnly(text: string): number[] {
  const selected = new Set<number>();
  for (const part of text.split(",")) {
    const match = /^(\d{1,9})(?:-(\d{1,9}))?$/.exec(part.trim());
    if (!match) fail(`"so" has a bad entry ${JSON.stringify(part)}`);
    const from = Number(match[1]);
    const to = match[2] === undefined ? from : Number(match[2]);
    if (to < from) fail(`"so" has a backwards range ${JSON.stringify(part)}`);
    if (selected.size + (to - from + 1) > MAX_SELECT_ONLY_INDICES) {
      fail(`"so" selects more than ${MAX_SELECT_ONLY_INDICES} files`);
    }
    for (let i = from; i <= to; i++) selected.add(i);
  }
  return [...selected].sort((a, b) => a - b);
}

/**
 * Parses a magnet URI (BEP 9): `xt=urn:btih:` with a 40-digit hex or 32-character base32
 * (RFC 4648, any case) info hash, `dn`, `tr`, `x.pe`, `ws` and `so` (BEP 53, e.g. `0,2,4-6`).
 * Numbered keys (`xt.1`, `tr.2`) count as their plain key; with several `xt`, the first
 * `urn:btih` wins. A link with only `urn:btmh` (v2) is refused. Keys and values are
 * percent-decoded; `+` means a space only in `dn` (as libtorrent and webtorrent read it) and
 * stays a literal `+` everywhere else, since URLs may hold one. Malformed `x.pe` peers are
 * skipped; unknown keys are ignored.
 * @param uri The magnet URI.
 * @returns The link's parts.
 * @throws {MagnetError} When the URI is not a magnet, has no usable `xt`, a bad escape or a
 * bad `so`.
 * @example
 * ```ts
 * import { parseMagnet } from "@shoal/shoal";
 * import { deepStrictEqual, strictEqual } from "node:assert/strict";
 * const link = parseMagnet(
 *   "magnet:?xt=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88a&dn=My+File" +
 *     "&tr=udp%3A%2F%2F127.0.0.1%3A6969&x.pe=127.0.0.1:6881&so=0,2-3",
 * );
 * strictEqual(link.name, "My File");
 * deepStrictEqual(link.trackers, ["udp://127.0.0.1:6969"]);
 * deepStrictEqual(link.peers, [{ host: "127.0.0.1", port: 6881 }]);
 * deepStrictEqual(link.selectOnly, [0, 2, 3]);
 * ```
 */
export function parseMagnet(uri: string): MagnetLink {
  const match = /^magnet:\?(.*)$/is.exec(uri.trim());
  if (!match) fail(`${JSON.stringify(uri.slice(0, 60))} does not start with "magnet:?"`);
  let infoHash: Uint8Array | undefined;
  let sawV2 = false;
  let name: string | undefined;
  let selectOnly: number[] | undefined;
  const trackers: string[] = [];
  const webSeeds: string[] = [];
  const peers: MagnetPeer[] = [];
  for (const pair of match[1].split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const rawKey = eq < 0 ? pair : pair.slice(0, eq);
    const rawValue = eq < 0 ? "" : pair.slice(eq + 1);
    const key = percentDecode(rawKey, "a key").toLowerCase().replace(/\.\d+$/, "");
    if (key === "dn") {
      name ??= percentDecode(rawValue.replaceAll("+", "%20"), `"dn"`);
      continue;
    }
    const value = percentDecode(rawValue, JSON.stringify(key)).trim();
    if (key === "xt") {
      const lower = value.toLowerCase();
      if (lower.startsWith("urn:btih:")) {
        if (infoHash) continue;
        infoHash = decodeInfoHash(value.slice(9));
        if (!infoHash) {
          fail(
            `"xt" info hash ${
              JSON.stringify(value.slice(9, 60))
            } is not 40 hex or 32 base32 characters`,
          );
        }
      } else if (lower.startsWith("urn:btmh:")) {
        sawV2 = true;
      }
    } else if (key === "tr") {
      if (value && !trackers.includes(value)) trackers.push(value);
    } else if (key === "ws") {
      if (value && !webSeeds.includes(value)) webSeeds.push(value);
    } else if (key === "x.pe") {
      const peer = parsePeer(value);
      if (peer && !peers.some((p) => p.host === peer.host && p.port === peer.port)) {
        peers.push(peer);
      }
    } else if (key === "so") {
      selectOnly = parseSelectOnly(value);
    }
  }
  if (!infoHash) {
    fail(sawV2 ? "v2-only magnet links are not supported" : `no "xt=urn:btih:" info hash`);
  }
  return {
    infoHash,
    infoHashHex: encodeHex(infoHash),
    ...(name !== undefined ? { name } : {}),
    trackers,
    peers,
    webSeeds,
    ...(selectOnly !== undefined ? { selectOnly } : {}),
  };
}

function formatRanges(indices: readonly number[]): string {
  const sorted = [...new Set(indices)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(j > i ? `${sorted[i]}-${sorted[j]}` : `${sorted[i]}`);
    i = j + 1;
  }
  return parts.join(",");
}

/**
 * Writes a magnet URI (BEP 9) that {@linkcode parseMagnet} reads back to the same link:
 * `xt=urn:btih:` in lowercase hex, then `dn`, `tr`, `ws`, `x.pe` and `so` (as ranges).
 * Values are percent-encoded with `encodeURIComponent`, so `+` and spaces survive.
 * @param link The info hash and any other parts.
 * @returns The magnet URI.
 * @throws {TypeError} If the info hash is not 20 bytes (or 40 hex digits).
 * @example
 * ```ts
 * import { formatMagnet } from "@shoal/shoal";
 * import { strictEqual } from "node:assert/strict";
 * const uri = formatMagnet({ infoHash: "c12fe1c06bba254a9dc9f519b335aa7c1367a88a", name: "a b" });
 * strictEqual(uri, "magnet:?xt=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88a&dn=a%20b");
 * ```
 */
export function formatMagnet(link: FormatMagnetInput): string {
  const hash = typeof link.infoHash === "string"
    ? link.infoHash.toLowerCase()
    : encodeHex(link.infoHash);
  if (!/^[0-9a-f]{40}$/.test(hash)) {
    throw new TypeError("Cannot format magnet link: the info hash is not 20 bytes");
  }
  const parts = [`xt=urn:btih:${hash}`];
  if (link.name !== undefined) parts.push(`dn=${encodeURIComponent(link.name)}`);
  for (const url of link.trackers ?? []) parts.push(`tr=${encodeURIComponent(url)}`);
  for (const url of link.webSeeds ?? []) parts.push(`ws=${encodeURIComponent(url)}`);
  for (const { host, port } of link.peers ?? []) {
    const address = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
    parts.push(`x.pe=${encodeURIComponent(address)}`);
  }
  if (link.selectOnly && link.selectOnly.length > 0) {
    parts.push(`so=${formatRanges(link.selectOnly)}`);
  }
  return `magnet:?${parts.join("&")}`;
}
