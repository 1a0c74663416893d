/** What a `Range` header asks of a resource of a known size (RFC 9110, section 14). */
export type ByteRangeRequest =
  /** No range (or one in a unit other than bytes, which must be ignored): send it all. */
  | { readonly type: "full" }
  /** One span to send with 206: bytes `start` up to, not including, `end`. */
  | { readonly type: "partial"; readonly start: number; readonly end: number }
  /** A malformed byte range, or none that overlaps the resource: 416. */
  | { readonly type: "unsatisfiable" };

/** Most ranges one header may list before it is refused outright. */
export const MAX_RANGES = 64;

const SPEC = /^(\d*)-(\d*)$/;

/**
 * Works out what a `Range` header asks for. Only the `bytes` unit is understood; a header in
 * another unit, or none, asks for the whole resource. `a-b`, `a-` and suffix ranges `-n` are
 * supported; `b` past the end is clipped. Several ranges are coalesced into the one span from
 * the first byte asked for to the last (RFC 9110 allows a server to coalesce), so the answer
 * is always one part. A byte range that is malformed (`5-2`, `x-y`, `-`) or that no byte of
 * the resource satisfies (a start at or past the end, `-0`, anything on an empty resource) is
 * unsatisfiable.
 * @param header The `Range` header's value, if any.
 * @param size The resource's length in bytes.
 * @returns The whole resource, one span (end exclusive), or unsatisfiable.
 * @example
 * ```ts
 * import { parseByteRange } from "@shoal/shoal/daemon";
 * import { deepStrictEqual } from "node:assert/strict";
 * deepStrictEqual(parseByteRange("bytes=100-199", 1000), { type: "partial", start: 100, end: 200 });
 * deepStrictEqual(parseByteRange("bytes=-100", 1000), { type: "partial", start: 900, end: 1000 });
 * deepStrictEqual(parseByteRange("bytes=1000-", 1000), { type: "unsatisfiable" });
 * deepStrictEqual(parseByteRange(null, 1000), { type: "full" });
 * ```
 */
export function parseByteRange(header: string | null | undefined, size: number): ByteRangeRequest {
  if (header === null || header === undefined) return { type: "full" };
  const equals = header.indexOf("=");
  if (equals < 0) return { type: "full" }; // not a ranges-specifier at all: ignored
  if (header.slice(0, equals).trim().toLowerCase() !== "bytes") return { type: "full" };
  const specs = header.slice(equals + 1).split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (specs.length === 0 || specs.length > MAX_RANGES) return { type: "unsatisfiable" };
  let start = Infinity, end = -Infinity;
  for (const spec of specs) {
    const match = SPEC.exec(spec);
    if (!match || (match[1] === "" && match[2] === "")) return { type: "unsatisfiable" };
    let first: number, last: number; // inclusive
    if (match[1] === "") {
      const suffix = Number(match[2]);
      if (suffix === 0) continue;
      first = Math.max(0, size - suffix);
      last = size - 1;
    } else {
      first = Number(match[1]);
      last = match[2] === "" ? size - 1 : Number(match[2]);
      if (last < first) return { type: "unsatisfiable" };
      last = Math.min(last, size - 1);
    }
    if (first >= size || last < first) continue; // this one is unsatisfiable; others may not be
    start = Math.min(start, first);
    end = Math.max(end, last + 1);
  }
  return end > start ? { type: "partial", start, end } : { type: "unsatisfiable" };
}

/**
 * The `Content-Range` header of a 206 or 416 answer.
 * @param range The span sent (end exclusive), or `undefined` for a 416.
 * @param size The resource's length.
 * @returns `bytes START-LAST/SIZE`, or `bytes *\/SIZE` for a 416.
 * @example
 * ```ts
 * import { formatContentRange } from "@shoal/shoal/daemon";
 * import { strictEqual } from "node:assert/strict";
 * strictEqual(formatContentRange({ start: 0, end: 10 }, 50), "bytes 0-9/50");
 * strictEqual(formatContentRange(undefined, 50), "bytes *\/50");
 * ```
 */
export function formatContentRange(
  range: { readonly start: number; readonly end: number } | undefined,
  size: number,
): string {
  return range ? `bytes ${range.start}-${range.end - 1}/${size}` : `bytes */${size}`;
}
