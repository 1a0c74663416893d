import { ApiError } from "./api_error.ts";

/**
 * Reads a request body up to a size cap. A `Content-Length` over the cap is refused before
 * anything is read; a body that turns out longer is cut off as soon as it passes the cap.
 * @param request The request.
 * @param maxBytes The most bytes accepted.
 * @returns The body.
 * @throws {ApiError} 413 when the body is over the cap, 400 when it cannot be read.
 * @example
 * ```ts
 * import { readBodyCapped } from "@shoal/shoal/daemon";
 * import { rejects, strictEqual } from "node:assert/strict";
 * const post = (body: string) => new Request("http://x/", { method: "POST", body });
 * strictEqual((await readBodyCapped(post("abc"), 3)).length, 3);
 * await rejects(readBodyCapped(post("abcd"), 3), /over the limit/);
 * ```
 */
export async function readBodyCapped(request: Request, maxBytes: number): Promise<Uint8Array> {
  const tooBig = () =>
    new ApiError(413, `Cannot read the request: the body is over the limit of ${maxBytes} bytes`);
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > maxBytes) {
    await request.body?.cancel().catch(() => {});
    throw tooBig();
  }
  if (!request.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = request.body.getReader();
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > maxBytes) {
        await reader.cancel().catch(() => {});
        throw tooBig();
      }
      chunks.push(value);
    }
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw new ApiError(400, "Cannot read the request: the body was cut off", { cause: error });
  } finally {
    reader.releaseLock();
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
