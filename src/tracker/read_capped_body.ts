import { concatBytes } from "../bytes/bytes.ts";
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
  if (response.body === null) return new Uint8Array(0);
  const declared = Number(response.headers.get("content-length"));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body.cancel().catch(() => {});
    throw new TrackerError(
      `Cannot read response from ${url}: ${declared} bytes is more than the ${maxBytes}-byte cap`,
      url,
    );
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > maxBytes) {
        await reader.cancel().catch(() => {});
        throw new TrackerError(
          `Cannot read response from ${url}: body is more than the ${maxBytes}-byte cap`,
          url,
        );
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  return concatBytes(chunks);
}
