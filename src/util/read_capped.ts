import { concatBytes } from "../bytes/bytes.ts";

/**
 * Reads a body stream, refusing to hold more than `maxBytes` (a hostile server or client may
 * send an endless body): a declared length over the cap is refused before reading, and the
 * stream is cancelled as soon as the bytes read pass it.
 * @param body The body (`null`: an empty body).
 * @param declaredLength The `Content-Length` header, if any.
 * @param maxBytes The cap.
 * @returns The bytes, or `undefined` when the body is over the cap.
 * @example
 * ```ts
 * import { readCapped } from "@shoal/shoal/util";
 * import { strictEqual } from "node:assert/strict";
 * strictEqual((await readCapped(new Response("abc").body, null, 3))?.length, 3);
 * strictEqual(await readCapped(new Response("abcd").body, null, 3), undefined);
 * strictEqual(await readCapped(new Response("abcd").body, "4", 3), undefined);
 * ```
 */
export async function readCapped(
  body: ReadableStream<Uint8Array> | null,
  declaredLength: string | null,
  maxBytes: number,
): Promise<Uint8Array | undefined> {
  if (body === null) return new Uint8Array(0);
  const declared = Number(declaredLength ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await body.cancel().catch(() => {});
    return undefined;
  }
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > maxBytes) {
        await reader.cancel().catch(() => {});
        return undefined;
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  return concatBytes(chunks);
}
