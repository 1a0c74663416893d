import { percentEncodeBytes } from "./percent_encode_bytes.ts";
import type { AnnounceRequest } from "./types.ts";

const encoder = new TextEncoder();

function checkCount(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`Cannot build announce: ${name} ${value} is not a non-negative integer`);
  }
}

/**
 * Checks an announce request's fields: 20-byte info hash and peer id, a port in 0..65535,
 * non-negative integer counts, a 32-bit key.
 * @param request The request.
 * @throws {RangeError} If a field is out of range.
 */
export function checkAnnounceRequest(request: AnnounceRequest): void {
  if (request.infoHash.length !== 20) {
    throw new RangeError(
      `Cannot build announce: info hash is ${request.infoHash.length} bytes, not 20`,
    );
  }
  if (request.peerId.length !== 20) {
    throw new RangeError(
      `Cannot build announce: peer id is ${request.peerId.length} bytes, not 20`,
    );
  }
  if (!Number.isInteger(request.port) || request.port < 0 || request.port > 65535) {
    throw new RangeError(`Cannot build announce: port ${request.port} is out of range 0..65535`);
  }
  checkCount("uploaded", request.uploaded);
  checkCount("downloaded", request.downloaded);
  checkCount("left", request.left);
  if (request.numWant !== undefined) checkCount("numWant", request.numWant);
  if (
    request.key !== undefined &&
    (!Number.isInteger(request.key) || request.key < -0x80000000 || request.key > 0xffffffff)
  ) {
    throw new RangeError(`Cannot build announce: key ${request.key} is not a 32-bit integer`);
  }
}

/**
 * Builds the URL of an HTTP announce (BEP 3): `info_hash` and `peer_id` percent-encoded as raw
 * bytes, then `port`, `uploaded`, `downloaded`, `left`, `compact=1` (BEP 23) and, when set,
 * `numwant`, `key` (8 hex digits), `event` and `trackerid`. A query string already in the
 * tracker's URL is kept; a fragment is dropped.
 * @param url The tracker's announce URL.
 * @param request The announce.
 * @returns The full URL to fetch.
 * @throws {RangeError} If a request field is out of range.
 * @example
 * ```ts
 * import { buildAnnounceUrl } from "@shoal/shoal/tracker";
 * import { ok } from "node:assert/strict";
 * const url = buildAnnounceUrl("http://t.example/announce?passkey=abc", {
 *   infoHash: new Uint8Array(20).fill(0xff),
 *   peerId: new TextEncoder().encode("-SH0100-abcdefghijkl"),
 *   port: 6881, uploaded: 0, downloaded: 0, left: 100, event: "started",
 * });
 * ok(url.startsWith("http://t.example/announce?passkey=abc&info_hash=%FF%FF"));
 * ok(url.includes("&peer_id=-SH0100-abcdefghijkl&port=6881&"));
 * ok(url.endsWith("&compact=1&event=started"));
 * ```
 */
export function buildAnnounceUrl(url: string, request: AnnounceRequest): string {
  checkAnnounceRequest(request);
  const hash = url.indexOf("#");
  const base = hash === -1 ? url : url.slice(0, hash);
  const params = [
    `info_hash=${percentEncodeBytes(request.infoHash)}`,
    `peer_id=${percentEncodeBytes(request.peerId)}`,
    `port=${request.port}`,
    `uploaded=${request.uploaded}`,
    `downloaded=${request.downloaded}`,
    `left=${request.left}`,
    "compact=1",
  ];
  if (request.numWant !== undefined) params.push(`numwant=${request.numWant}`);
  if (request.key !== undefined) {
    params.push(`key=${(request.key >>> 0).toString(16).toUpperCase().padStart(8, "0")}`);
  }
  if (request.event !== undefined) params.push(`event=${request.event}`);
  if (request.trackerId !== undefined) {
    params.push(`trackerid=${percentEncodeBytes(encoder.encode(request.trackerId))}`);
  }
  const separator = !base.includes("?") ? "?" : base.endsWith("?") || base.endsWith("&") ? "" : "&";
  return `${base}${separator}${params.join("&")}`;
}
