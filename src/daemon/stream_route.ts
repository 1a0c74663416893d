import type { Torrent } from "../client/torrent.ts";
import { ApiError } from "./api_error.ts";
import { formatContentRange, parseByteRange } from "./byte_range.ts";
import { mediaTypeFor } from "./media_type.ts";

/** `Content-Disposition` for a file name: inline, with an RFC 5987 UTF-8 name. */
function disposition(path: string): string {
  const name = path.slice(path.lastIndexOf("/") + 1);
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, "_");
  return `inline; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

/**
 * Answers `GET` or `HEAD /api/v1/torrents/:infohash/files/:index/stream`: the file's bytes,
 * read from disk where its pieces are and waited for where they are not (the file's stream
 * raises the priority of the pieces it waits for and a readahead window after them). A
 * `Range` gets 206 with `Content-Range`, an unsatisfiable one 416 with `bytes *\/SIZE`, none
 * 200 from byte 0. The `Content-Type` comes from the extension (never one a browser would run),
 * and the answer is sandboxed by its own `Content-Security-Policy`.
 * @param request The request.
 * @param torrent The torrent.
 * @param indexText The file index from the path.
 * @param shutdown Ends every stream when the daemon stops.
 * @returns The answer.
 * @throws {ApiError} 404 for a file index the torrent does not have.
 * @example
 * ```ts
 * import { Daemon, streamFile } from "@shoal/shoal/daemon";
 * import { createTorrent, parseTorrent } from "@shoal/shoal";
 * import { strictEqual } from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/hello.txt`, "hello, world");
 * const bytes = await createTorrent(`${dir}/hello.txt`);
 * const daemon = await Daemon.start({
 *   dir, stateDir: `${dir}/.state`, http: { hostname: "127.0.0.1", port: 0 },
 *   client: { listen: false, dht: false },
 * });
 * const { torrent } = await daemon.manager.add({
 *   source: { type: "torrent", bytes, metainfo: parseTorrent(bytes) },
 *   dir,
 * });
 * const request = new Request("http://localhost/", { headers: { range: "bytes=7-" } });
 * const response = streamFile(request, torrent, "0", new AbortController().signal);
 * strictEqual(response.status, 206);
 * strictEqual(await response.text(), "world");
 * await daemon.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function streamFile(
  request: Request,
  torrent: Torrent,
  indexText: string,
  shutdown: AbortSignal,
): Response {
  const index = /^\d{1,9}$/.test(indexText) ? Number(indexText) : -1;
  const file = torrent.files[index];
  if (!file) {
    throw new ApiError(404, `Cannot find file ${indexText} of ${torrent.infoHash}`);
  }
  const size = file.length;
  const headers = new Headers({
    "accept-ranges": "bytes",
    "content-type": mediaTypeFor(file.path),
    "content-disposition": disposition(file.path),
    "content-security-policy": "sandbox; default-src 'none'",
    "cache-control": "no-store",
  });
  const range = parseByteRange(request.headers.get("range"), size);
  if (range.type === "unsatisfiable") {
    headers.set("content-range", formatContentRange(undefined, size));
    headers.set("content-type", "application/json");
    return new Response(
      JSON.stringify({
        error: `Cannot serve range ${request.headers.get("range")} of a ${size}-byte file`,
      }),
      { status: 416, headers },
    );
  }
  const start = range.type === "partial" ? range.start : 0;
  const end = range.type === "partial" ? range.end : size;
  headers.set("content-length", String(end - start));
  if (range.type === "partial") headers.set("content-range", formatContentRange(range, size));
  const status = range.type === "partial" ? 206 : 200;
  if (request.method === "HEAD" || end === start) {
    return new Response(null, { status, headers });
  }
  // A player that goes away cancels the body, which drops the stream's piece priorities.
  const body = file.stream({ start, end, signal: shutdown });
  return new Response(body, { status, headers });
}
