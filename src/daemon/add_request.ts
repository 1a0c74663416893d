import { parseMagnet } from "../metainfo/magnet.ts";
import { parseTorrent } from "../metainfo/parse_torrent.ts";
import type { SeedLimits } from "../session/session_options.ts";
import { resolveAllowedDir } from "./allowed_dir.ts";
import { ApiError } from "./api_error.ts";
import { readBodyCapped } from "./read_body.ts";
import type { AddRequest } from "./torrent_manager.ts";

/** The largest `.torrent` body accepted (16 MiB). */
export const MAX_TORRENT_BYTES: number = 16 * 1024 * 1024;
/** The largest JSON body accepted (1 MiB). */
export const MAX_JSON_BYTES: number = 1024 * 1024;

const JSON_KEYS = new Set(["magnet", "torrent", "dir", "files", "paused", "sequential", "seed"]);

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function mediaType(request: Request): string {
  return (request.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
}

function parseFlag(value: string | null, name: string): boolean | undefined {
  if (value === null) return undefined;
  if (["1", "true", "yes", ""].includes(value)) return true;
  if (["0", "false", "no"].includes(value)) return false;
  throw new ApiError(400, `Cannot use ${name}=${value}: expected 1 or 0`);
}

function checkFiles(value: unknown): number[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((i) => Number.isSafeInteger(i) && i >= 0)) {
    throw new ApiError(400, "Cannot use files: expected a list of file indices");
  }
  return [...new Set(value as number[])];
}

function checkSeed(value: unknown): boolean | SeedLimits | undefined {
  if (value === undefined || typeof value === "boolean") return value;
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    const { ratio, seconds, ...rest } = value as Record<string, unknown>;
    const ok = (n: unknown) => n === undefined || (typeof n === "number" && n >= 0 && n < 1e12);
    if (ok(ratio) && ok(seconds) && Object.keys(rest).length === 0) {
      return { ratio: ratio as number | undefined, seconds: seconds as number | undefined };
    }
  }
  throw new ApiError(400, "Cannot use seed: expected true, false or { ratio, seconds }");
}

function checkBoolean(value: unknown, name: string): boolean | undefined {
  if (value === undefined || typeof value === "boolean") return value;
  throw new ApiError(400, `Cannot use ${name}: expected true or false`);
}

function decodeBase64(text: string): Uint8Array {
  try {
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  } catch {
    throw new ApiError(400, "Cannot use torrent: not base64");
  }
}

function torrentSource(bytes: Uint8Array): AddRequest["source"] {
  try {
    return { type: "torrent", bytes, metainfo: parseTorrent(bytes) };
  } catch (error) {
    throw new ApiError(400, messageOf(error), { cause: error });
  }
}

/**
 * Reads and checks the body of `POST /api/v1/torrents`: `.torrent` bytes
 * (`application/x-bittorrent`, with `dir`, `files=0,2`, `paused`, `sequential` and
 * `seed=0` in the query), or JSON `{ magnet | torrent (base64), dir, files, paused,
 * sequential, seed }`. The folder is resolved below the download root and refused outside it;
 * file indices must exist in the torrent. Nothing is changed here.
 * @param request The request.
 * @param root The download root.
 * @returns The checked request.
 * @throws {ApiError} 400 for bad JSON, an unknown field, a torrent or magnet link that does not
 *   parse or a bad option; 403 for a folder outside the root; 413 for a body over the cap;
 *   415 for another content type.
 * @example
 * ```ts
 * import { parseAddRequest } from "@shoal/shoal/daemon";
 * import { rejects } from "node:assert/strict";
 * const post = (body: string) =>
 *   new Request("http://x/api/v1/torrents", {
 *     method: "POST",
 *     headers: { "content-type": "application/json" },
 *     body,
 *   });
 * await rejects(parseAddRequest(post("{nope"), "/data"), /Cannot parse the request/);
 * await rejects(parseAddRequest(post('{"magnet":"magnet:?xt=urn:btih:00"}'), "/data"), /magnet/);
 * ```
 */
export async function parseAddRequest(request: Request, root: string): Promise<AddRequest> {
  const type = mediaType(request);
  if (type === "application/x-bittorrent") {
    const query = new URL(request.url).searchParams;
    const source = torrentSource(await readBodyCapped(request, MAX_TORRENT_BYTES));
    let files: number[] | undefined;
    const list = query.get("files");
    if (list !== null) {
      files = list === "" ? [] : list.split(",").map((s) => Number(s.trim()));
      checkFiles(files);
    }
    const seed = parseFlag(query.get("seed"), "seed");
    return finish(source, {
      dir: await resolveAllowedDir(query.get("dir") ?? undefined, root),
      files,
      paused: parseFlag(query.get("paused"), "paused"),
      sequential: parseFlag(query.get("sequential"), "sequential"),
      seed,
    });
  }
  if (type !== "application/json") {
    await request.body?.cancel().catch(() => {});
    throw new ApiError(
      415,
      `Cannot add a torrent from ${type || "a body without a type"}: ` +
        "send application/x-bittorrent or application/json",
    );
  }
  const text = new TextDecoder().decode(await readBodyCapped(request, MAX_JSON_BYTES));
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw new ApiError(400, `Cannot parse the request: ${messageOf(error)}`);
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new ApiError(400, "Cannot parse the request: expected a JSON object");
  }
  const fields = body as Record<string, unknown>;
  const unknown = Object.keys(fields).filter((key) => !JSON_KEYS.has(key));
  if (unknown.length > 0) {
    throw new ApiError(400, `Cannot add a torrent: unknown field ${unknown.join(", ")}`);
  }
  let source: AddRequest["source"];
  if (typeof fields.magnet === "string" && fields.torrent === undefined) {
    try {
      source = { type: "magnet", uri: fields.magnet, link: parseMagnet(fields.magnet) };
    } catch (error) {
      throw new ApiError(400, messageOf(error), { cause: error });
    }
  } else if (typeof fields.torrent === "string" && fields.magnet === undefined) {
    source = torrentSource(decodeBase64(fields.torrent));
  } else {
    throw new ApiError(400, "Cannot add a torrent: give either magnet or torrent (base64)");
  }
  if (fields.dir !== undefined && typeof fields.dir !== "string") {
    throw new ApiError(400, "Cannot use dir: expected a folder name");
  }
  return finish(source, {
    dir: await resolveAllowedDir(fields.dir, root),
    files: checkFiles(fields.files),
    paused: checkBoolean(fields.paused, "paused"),
    sequential: checkBoolean(fields.sequential, "sequential"),
    seed: checkSeed(fields.seed),
  });
}

function finish(source: AddRequest["source"], options: Omit<AddRequest, "source">): AddRequest {
  if (source.type === "torrent" && options.files) {
    const count = source.metainfo.files.filter((f) => !f.padding).length;
    const bad = options.files.find((i) => i >= count);
    if (bad !== undefined) {
      throw new ApiError(400, `Cannot select file ${bad}: the torrent has ${count} files`);
    }
  }
  return { source, ...options };
}
