import type { Client } from "../client/client.ts";
import type { FilePriority } from "../storage/file_selection.ts";
import { parseAddRequest } from "./add_request.ts";
import { ApiError } from "./api_error.ts";
import { eventStreamResponse } from "./event_stream.ts";
import { readBodyCapped } from "./read_body.ts";
import { streamFile } from "./stream_route.ts";
import { torrentDetail, torrentFiles, torrentSummary } from "./torrent_json.ts";
import type { TorrentManager } from "./torrent_manager.ts";

/** The largest JSON body of a PATCH (64 KiB). */
export const MAX_PATCH_BYTES: number = 64 * 1024;

/** What the API's routes work with. */
export interface ApiContext {
  /** The torrents. */
  readonly manager: TorrentManager;
  /** The client (for its totals). */
  readonly client: Client;
  /** The download root no folder may leave. */
  readonly root: string;
  /** Aborted when the daemon stops: ends streams and event streams. */
  readonly shutdown: AbortSignal;
  /** The rates of the last minutes, if kept. */
  readonly history?: { samples(): unknown };
}

/** The client's totals, as `GET /api/v1/stats` and the `stats` event give them. */
export interface StatsJson {
  /** Payload bytes per second received, all torrents. */
  readonly downloadRate: number;
  /** Payload bytes per second sent, all torrents. */
  readonly uploadRate: number;
  /** Open peer connections, all torrents. */
  readonly connections: number;
  /** Torrents in the daemon. */
  readonly torrents: number;
  /** The one memory budget: bytes in use, the most ever in use, and the limit. */
  readonly memory: { readonly used: number; readonly peak: number; readonly limit: number };
  /** The port peers reach us on, or `null`. */
  readonly port: number | null;
  /** Nodes in the DHT routing table, or `null` while the client runs no DHT. */
  readonly dhtNodes: number | null;
}

/**
 * The client's totals for the API.
 * @param client The client.
 * @returns Rates, connections, torrents, memory budget, port and DHT nodes.
 * @example
 * ```ts
 * import { clientStats, Daemon } from "@shoal/shoal/daemon";
 * import { strictEqual } from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * const daemon = await Daemon.start({
 *   dir, stateDir: `${dir}/.state`, http: { hostname: "127.0.0.1", port: 0 },
 *   client: { listen: false, dht: false },
 * });
 * strictEqual(clientStats(daemon.client).dhtNodes, null);
 * await daemon.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function clientStats(client: Client): StatsJson {
  const stats = client.stats();
  return {
    downloadRate: stats.downloadRate,
    uploadRate: stats.uploadRate,
    connections: stats.peers,
    torrents: stats.torrents,
    memory: { ...stats.memory },
    port: stats.port ?? null,
    dhtNodes: stats.dht ? stats.dht.nodes + stats.dht.nodes6 : null,
  };
}

/**
 * A JSON answer.
 * @param body The value.
 * @param status The status (default 200).
 * @param headers More headers.
 * @returns The answer.
 */
export function jsonResponse(
  body: unknown,
  status = 200,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
  });
}

const PRIORITIES = new Set<string>(["skip", "normal", "high"]);

async function readJson(request: Request): Promise<Record<string, unknown>> {
  const type = (request.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
  if (type !== "application/json") {
    await request.body?.cancel().catch(() => {});
    throw new ApiError(415, "Cannot read the request: send application/json");
  }
  const text = new TextDecoder().decode(await readBodyCapped(request, MAX_PATCH_BYTES));
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw new ApiError(400, `Cannot parse the request: ${(error as Error).message}`);
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new ApiError(400, "Cannot parse the request: expected a JSON object");
  }
  return body as Record<string, unknown>;
}

function parsePriorities(body: Record<string, unknown>): Map<number, FilePriority> {
  const given = body.priorities;
  if (typeof given !== "object" || given === null || Array.isArray(given)) {
    throw new ApiError(400, 'Cannot set priorities: expected { "priorities": { "3": "skip" } }');
  }
  const out = new Map<number, FilePriority>();
  for (const [key, value] of Object.entries(given)) {
    if (!/^\d{1,9}$/.test(key)) throw new ApiError(400, `Cannot set priorities: bad index ${key}`);
    if (typeof value !== "string" || !PRIORITIES.has(value)) {
      throw new ApiError(
        400,
        `Cannot set priorities: file ${key} needs skip, normal or high, not ${
          JSON.stringify(value)
        }`,
      );
    }
    out.set(Number(key), value as FilePriority);
  }
  return out;
}

function methodNotAllowed(allow: string): never {
  throw new ApiError(405, `Cannot use that method here: allowed ${allow}`, {
    headers: { allow },
  });
}

/**
 * Answers a request under `/api/v1` (security checks have run already):
 * - `GET|POST /api/v1/torrents`: the list; add a torrent (201, or 200 if already there)
 * - `GET|DELETE|PATCH /api/v1/torrents/:infohash`: one torrent in detail; remove it
 *   (`?deleteData=1` deletes its data too); `{ sequential }`
 * - `POST /api/v1/torrents/:infohash/pause|resume|recheck`
 * - `PATCH /api/v1/torrents/:infohash/files`: `{ priorities: { "3": "skip" } }`
 * - `GET|HEAD /api/v1/torrents/:infohash/files/:index/stream`: the file's bytes, with ranges
 * - `GET /api/v1/events`: Server-Sent Events
 * - `GET /api/v1/stats`: the client's totals
 * @param request The request.
 * @param path The path below `/api/v1` (e.g. `/torrents`).
 * @param ctx The torrents, the client, the root and the shutdown signal.
 * @returns The answer.
 * @throws {ApiError} A 4xx for anything refused (nothing changes then).
 * @example
 * ```ts
 * import { Daemon, handleApi } from "@shoal/shoal/daemon";
 * import { strictEqual } from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * const daemon = await Daemon.start({
 *   dir, stateDir: `${dir}/.state`, http: { hostname: "127.0.0.1", port: 0 },
 *   client: { listen: false, dht: false },
 * });
 * const ctx = { manager: daemon.manager, client: daemon.client, root: dir, shutdown: AbortSignal.abort() };
 * const list = await handleApi(new Request("http://localhost/api/v1/torrents"), "/torrents", ctx);
 * strictEqual(await list.text(), "[]");
 * await daemon.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function handleApi(
  request: Request,
  path: string,
  ctx: ApiContext,
): Promise<Response> {
  const { manager } = ctx;
  const method = request.method;
  const parts = path.split("/").filter((p) => p !== "");
  const summary = (t: ReturnType<TorrentManager["get"]>) =>
    torrentSummary(t, manager.addedAt(t.infoHash));
  if (parts.length === 1 && parts[0] === "stats") {
    if (method !== "GET") methodNotAllowed("GET");
    return jsonResponse(clientStats(ctx.client));
  }
  if (parts.length === 1 && parts[0] === "events") {
    if (method !== "GET") methodNotAllowed("GET");
    return eventStreamResponse({
      events: () => manager.events(),
      snapshot: () => manager.torrents.map(summary),
      stats: () => clientStats(ctx.client),
      history: ctx.history && (() => ctx.history!.samples()),
    }, ctx.shutdown);
  }
  if (parts[0] !== "torrents") throw new ApiError(404, `Cannot find /api/v1${path}`);
  if (parts.length === 1) {
    if (method === "GET") return jsonResponse(manager.torrents.map(summary));
    if (method !== "POST") methodNotAllowed("GET, POST");
    const add = await parseAddRequest(request, ctx.root);
    const { torrent, created } = await manager.add(add);
    return jsonResponse(summary(torrent), created ? 201 : 200, {
      location: `/api/v1/torrents/${torrent.infoHash}`,
    });
  }
  const torrent = manager.get(parts[1]);
  const infoHash = torrent.infoHash;
  if (parts.length === 2) {
    if (method === "GET") {
      return jsonResponse(torrentDetail(torrent, manager.addedAt(infoHash)));
    }
    if (method === "DELETE") {
      const flag = new URL(request.url).searchParams.get("deleteData");
      const deleteData = flag === "1" || flag === "true";
      await manager.remove(infoHash, deleteData);
      return jsonResponse({ removed: infoHash, deletedData: deleteData });
    }
    if (method === "PATCH") {
      const body = await readJson(request);
      const keys = Object.keys(body);
      if (keys.length !== 1 || typeof body.sequential !== "boolean") {
        throw new ApiError(400, "Cannot change the torrent: expected { sequential: boolean }");
      }
      return jsonResponse(summary(await manager.setSequential(infoHash, body.sequential)));
    }
    methodNotAllowed("GET, DELETE, PATCH");
  }
  if (parts.length === 3 && ["pause", "resume", "recheck"].includes(parts[2])) {
    if (method !== "POST") methodNotAllowed("POST");
    await request.body?.cancel().catch(() => {});
    const action = parts[2] as "pause" | "resume" | "recheck";
    return jsonResponse(summary(await manager[action](infoHash)));
  }
  if (parts.length === 3 && parts[2] === "files") {
    if (method === "GET") return jsonResponse(torrentFiles(torrent));
    if (method !== "PATCH") methodNotAllowed("GET, PATCH");
    const priorities = parsePriorities(await readJson(request));
    return jsonResponse(torrentFiles(await manager.setPriorities(infoHash, priorities)));
  }
  if (parts.length === 5 && parts[2] === "files" && parts[4] === "stream") {
    if (method !== "GET" && method !== "HEAD") methodNotAllowed("GET, HEAD");
    return streamFile(request, torrent, parts[3], ctx.shutdown);
  }
  throw new ApiError(404, `Cannot find /api/v1${path}`);
}
