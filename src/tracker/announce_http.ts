import { buildAnnounceUrl } from "./build_announce_url.ts";
import { DEFAULT_TRACKER_TIMEOUT_MS, trackerBudgetMs, withTrackerDeadline } from "./deadline.ts";
import { parseAnnounceResponse } from "./parse_announce_response.ts";
import { readCappedBody } from "./read_capped_body.ts";
import { TrackerError } from "./tracker_error.ts";
import type { AnnounceOptions, AnnounceRequest, AnnounceResponse } from "./types.ts";

/** How long an HTTP announce waits by default before giving up: the common tracker budget. */
export const DEFAULT_HTTP_TIMEOUT_MS: number = DEFAULT_TRACKER_TIMEOUT_MS;

/**
 * Announces to an HTTP or HTTPS tracker (BEP 3, compact peers per BEP 23, IPv6 per BEP 7).
 * The response body is capped (1 MiB by default) and checked by
 * {@linkcode parseAnnounceResponse}. A non-200 status is an error, with the tracker's
 * `failure reason` when the body has one.
 * @param url The tracker's `http://` or `https://` announce URL (may carry a query string).
 * @param request The announce.
 * @param options `signal`, `timeoutMs` (default 15 s, DNS included), `maxResponseBytes`.
 * @returns The tracker's answer.
 * @throws {TrackerError} If the tracker fails, refuses, times out or answers nonsense.
 * @throws {RangeError} If a request field is out of range.
 * @example
 * ```ts
 * import { announceHttp } from "@shoal/shoal/tracker";
 * import { TrackerError } from "@shoal/shoal";
 * import { rejects } from "node:assert/strict";
 * const request = {
 *   infoHash: new Uint8Array(20), peerId: new Uint8Array(20),
 *   port: 6881, uploaded: 0, downloaded: 0, left: 0,
 * };
 * // Nothing listens on port 1: the announce fails with a TrackerError.
 * await rejects(announceHttp("http://127.0.0.1:1/announce", request), TrackerError);
 * ```
 */
export function announceHttp(
  url: string,
  request: AnnounceRequest,
  options: AnnounceOptions = {},
): Promise<AnnounceResponse> {
  const full = buildAnnounceUrl(url, request);
  return withTrackerDeadline(
    url,
    "announce",
    { signal: options.signal, timeoutMs: trackerBudgetMs(options.timeoutMs) },
    async (signal) => {
      const response = await fetch(full, { signal, redirect: "follow" });
      const body = await readCappedBody(response, url, options.maxResponseBytes);
      if (response.status !== 200) {
        let reason: TrackerError | undefined;
        try {
          parseAnnounceResponse(body, url);
        } catch (error) {
          if (error instanceof TrackerError && error.failureReason !== undefined) reason = error;
        }
        throw reason ?? new TrackerError(
          `Cannot announce to ${url}: HTTP status ${response.status}`,
          url,
        );
      }
      return parseAnnounceResponse(body, url);
    },
  );
}
