import { readCapped } from "../util/read_capped.ts";
import { TrackerError } from "./tracker_error.ts";

/** The largest tracker response body accepted by default: 1 MiB. */
export const MAX_TRACKER_RESPONSE_BYTES: number = 1024 * 1024;

/**
 * Reads a fetch response body, refusing to hold more than `maxBytes` (a hostile tracker may send
 * an endless body). The body is cancelled when refused.
 * @param response The response.
 * @param url The tracker's URL, for the error.
 * @param maxBytes The cap.
 * @returns The body bytes.
 * @throws {TrackerError} If the body is larger than `maxBytes`.
 */
export async function readCappedBody(
  response: Response,
  url: string,
  maxBytes: number = MAX_TRACKER_RESPONSE_BYTES,
): Promise<Uint8Array> {
  const bytes = await readCapped(response.body, response.headers.get("content-length"), maxBytes);
  if (bytes === undefined) {
    throw new TrackerError(
      `Cannot read response from ${url}: body is more than the ${maxBytes}-byte cap`,
      url,
    );
  }
  return bytes;
}
