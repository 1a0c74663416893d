import { announceHttp } from "./announce_http.ts";
import { announceUdp } from "./announce_udp.ts";
import { TrackerError } from "./tracker_error.ts";
import type { AnnounceOptions, AnnounceRequest, AnnounceResponse } from "./types.ts";

/**
 * Announces to one tracker, choosing the protocol by the URL's scheme: `http:`/`https:`
 * ({@linkcode announceHttp}, BEP 3) or `udp:` ({@linkcode announceUdp}, BEP 15).
 * @param url The tracker's announce URL.
 * @param request The announce.
 * @param options `signal`, `timeoutMs` and the protocol-specific options.
 * @returns The tracker's answer.
 * @throws {TrackerError} If the scheme is unknown or the tracker fails or refuses.
 * @throws {RangeError} If a request field is out of range.
 * @example
 * ```ts
 * import { announce } from "@shoal/shoal/tracker";
 * import { TrackerError } from "@shoal/shoal";
 * import { rejects } from "node:assert/strict";
 * const request = {
 *   infoHash: new Uint8Array(20), peerId: new Uint8Array(20),
 *   port: 6881, uploaded: 0, downloaded: 0, left: 0,
 * };
 * await rejects(announce("wss://tracker.example", request), TrackerError);
 * ```
 */
export async function announce(
  url: string,
  request: AnnounceRequest,
  options: AnnounceOptions = {},
): Promise<AnnounceResponse> {
  options.signal?.throwIfAborted();
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === "http" || scheme === "https") return await announceHttp(url, request, options);
  if (scheme === "udp") return await announceUdp(url, request, options);
  throw new TrackerError(
    `Cannot announce to ${url}: unsupported scheme ${scheme ? `"${scheme}:"` : "(none)"}`,
    url,
  );
}
