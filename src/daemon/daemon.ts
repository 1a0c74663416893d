import { resolve } from "node:path";
import { Client, type ClientOptions } from "../client/client.ts";
import { ApiError } from "./api_error.ts";
import { handleApi, jsonResponse } from "./api_router.ts";
import { DaemonError } from "./daemon_error.ts";
import type { DaemonLogEntry } from "./daemon_log.ts";
import {
  DEFAULT_HTTP_ADDRESS,
  formatHttpAddress,
  type HttpAddress,
  isLoopbackHost,
  isWildcardHost,
} from "./http_address.ts";
import { CSRF_HEADER, type GuardPolicy, guardRequest } from "./http_guard.ts";
import { RateHistory } from "./rate_history.ts";
import { StateStore } from "./state_store.ts";
import { TorrentManager } from "./torrent_manager.ts";
import { WatchFolder } from "./watch_folder.ts";
import { loadWebAssets, serveWebAsset, type WebAsset } from "./web_assets.ts";

/** Options for {@linkcode Daemon.start}. */
export interface DaemonOptions {
  /** The download root (`-o`): every torrent's folder lies inside it. */
  dir: string;
  /** The state folder: the torrent list, `.torrent` files and resume data. */
  stateDir: string;
  /** A folder to take `.torrent` and `.magnet` files from. */
  watchDir?: string;
  /** Where the HTTP server listens (default 127.0.0.1:9080; port 0 for any). */
  http?: HttpAddress;
  /** More names the `Host` header may carry (a reverse proxy's, a LAN name). */
  allowHosts?: readonly string[];
  /** Basic credentials every request must carry. */
  auth?: { user: string; password: string };
  /** A token every request must carry (Bearer, or as the Basic password). */
  token?: string;
  /** Client options: port, listen host, limits, peers, memory. */
  client?: Omit<ClientOptions, "dir" | "stateDir" | "resumeDir" | "signal">;
  /** Receives one entry per event (the CLI prints them). */
  log?: (entry: DaemonLogEntry) => void;
  /** Stops the daemon. */
  signal?: AbortSignal;
}

/** The security headers every answer carries. */
const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cross-origin-resource-policy": "same-origin",
  "cross-origin-opener-policy": "same-origin",
};

function bracketed(hostname: string): string {
  return hostname.includes(":") ? `[${hostname.toLowerCase()}]` : hostname.toLowerCase();
}

function guardPolicy(options: DaemonOptions, address: HttpAddress, csrfToken: string): GuardPolicy {
  const hosts = new Set(["localhost", bracketed(address.hostname)]);
  if (address.hostname === "localhost") ["127.0.0.1", "[::1]"].forEach((h) => hosts.add(h));
  for (const name of options.allowHosts ?? []) hosts.add(bracketed(name));
  const auth = options.auth || options.token
    ? { user: options.auth?.user, password: options.auth?.password, token: options.token }
    : undefined;
  return {
    allowedHosts: hosts,
    anyIpLiteral: isWildcardHost(address.hostname),
    auth,
    csrfToken,
  };
}

/**
 * `shoal daemon`: a {@linkcode Client} that outlives a terminal, with its torrents and their
 * settings kept in a state folder (a restart, even after `kill -9`, brings them back without
 * fetching or hashing again), a watch folder, an HTTP API under `/api/v1`, Server-Sent Events
 * and a web page at `/`. It listens on 127.0.0.1 unless told otherwise, and refuses any other
 * address without credentials; every request passes {@linkcode guardRequest} first.
 * @example
 * ```ts
 * import { Daemon } from "@shoal/shoal/daemon";
 * import { strictEqual } from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * const daemon = await Daemon.start({
 *   dir: `${dir}/data`,
 *   stateDir: `${dir}/state`,
 *   http: { hostname: "127.0.0.1", port: 0 },
 *   client: { listen: false, dht: false },
 *   log: () => {},
 * });
 * const response = await fetch(`${daemon.url}/api/v1/torrents`);
 * strictEqual(response.status, 200);
 * strictEqual((await response.json()).length, 0);
 * await daemon.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class Daemon implements AsyncDisposable {
  /** The client running the torrents. */
  readonly client: Client;
  /** The torrents, their settings and events. */
  readonly manager: TorrentManager;
  /** The address the HTTP server listens on. */
  readonly address: HttpAddress;
  /** `http://host:port`. */
  readonly url: string;
  /** The CSRF token of this run (also sent in every answer's `X-Shoal-Csrf` header). */
  readonly csrfToken: string;
  readonly #store: StateStore;
  readonly #history: RateHistory;
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly #watch: WatchFolder | undefined;
  readonly #shutdown: AbortController;
  readonly #log: (entry: DaemonLogEntry) => void;
  #closing: Promise<void> | undefined;
  readonly #closed = Promise.withResolvers<void>();

  private constructor(init: {
    client: Client;
    manager: TorrentManager;
    history: RateHistory;
    store: StateStore;
    server: Deno.HttpServer<Deno.NetAddr>;
    watch: WatchFolder | undefined;
    shutdown: AbortController;
    csrfToken: string;
    log: (entry: DaemonLogEntry) => void;
  }) {
    this.client = init.client;
    this.manager = init.manager;
    this.#history = init.history;
    this.#store = init.store;
    this.#server = init.server;
    this.#watch = init.watch;
    this.#shutdown = init.shutdown;
    this.csrfToken = init.csrfToken;
    this.#log = init.log;
    this.address = { hostname: init.server.addr.hostname, port: init.server.addr.port };
    const host = isWildcardHost(this.address.hostname)
      ? { hostname: "localhost", port: this.address.port }
      : this.address;
    this.url = `http://${formatHttpAddress(host)}`;
  }

  /**
   * Starts the daemon: locks the state folder, starts the client, brings back the torrents,
   * then listens and watches.
   * @param options Folders, address, credentials, client options, log and signal.
   * @returns The running daemon.
   * @throws {DaemonError} For a non-loopback address without credentials, a state folder in
   *   use, a port in use, or a web page that cannot be loaded.
   */
  static async start(options: DaemonOptions): Promise<Daemon> {
    const address = options.http ?? DEFAULT_HTTP_ADDRESS;
    if (!isLoopbackHost(address.hostname) && !options.auth && !options.token) {
      throw new DaemonError(
        `Cannot listen on ${formatHttpAddress(address)}: an address other than loopback ` +
          "needs --auth USER:PASS or --token-file FILE",
      );
    }
    if (options.token !== undefined && options.token.length < 16) {
      throw new DaemonError("Cannot use the token: it needs at least 16 characters");
    }
    const log = options.log ?? (() => {});
    const dir = resolve(options.dir);
    await Deno.mkdir(dir, { recursive: true });
    let assets: Map<string, WebAsset>;
    try {
      assets = await loadWebAssets();
    } catch (error) {
      throw new DaemonError((error as Error).message, { cause: error });
    }
    const store = await StateStore.open(resolve(options.stateDir));
    const opened: {
      client?: Client;
      manager?: TorrentManager;
      watch?: WatchFolder;
      history?: RateHistory;
      server?: Deno.HttpServer<Deno.NetAddr>;
    } = {};
    const restored = Promise.withResolvers<void>();
    try {
      let client: Client;
      try {
        client = new Client({
          ...options.client,
          dir,
          stateDir: store.dir,
          resumeDir: store.resumeDir,
        });
      } catch (error) {
        throw new DaemonError(
          `Cannot listen for peers on port ${options.client?.port ?? 6881}: ${
            (error as Error).message
          }`,
          { cause: error },
        );
      }
      opened.client = client;
      const manager = new TorrentManager(client, store, { log });
      opened.manager = manager;
      const shutdown = new AbortController();
      const csrfToken = Array.from(crypto.getRandomValues(new Uint8Array(24)))
        .map((b) => b.toString(16).padStart(2, "0")).join("");
      const policy = guardPolicy(options, address, csrfToken);
      const history = new RateHistory(() => client.stats());
      opened.history = history;
      const ctx = { manager, client, root: dir, shutdown: shutdown.signal, history };
      // Bound before the torrents start (a taken port starts nothing), answered once they have.
      let server: Deno.HttpServer<Deno.NetAddr>;
      try {
        server = Deno.serve({
          hostname: address.hostname,
          port: address.port,
          onListen: () => {},
        }, async (request) => {
          await restored.promise;
          return respond(request, { policy, ctx, assets, csrfToken, log });
        });
      } catch (error) {
        throw new DaemonError(
          `Cannot listen on ${formatHttpAddress(address)}: ${(error as Error).message}`,
          { cause: error },
        );
      }
      opened.server = server;
      await manager.restore();
      restored.resolve();
      const watch = options.watchDir
        ? await startWatch(options.watchDir, manager, dir, log)
        : undefined;
      const daemon = new Daemon({
        client,
        manager,
        history,
        store,
        server,
        watch,
        shutdown,
        csrfToken,
        log,
      });
      log({
        event: "listening",
        level: "info",
        message: `listening on ${daemon.url} (peers on port ${client.port ?? "none"})`,
        url: daemon.url,
        peerPort: client.port ?? null,
      });
      options.signal?.addEventListener("abort", () => daemon.close(), { once: true });
      if (options.signal?.aborted) daemon.close();
      return daemon;
    } catch (error) {
      opened.history?.close();
      await opened.watch?.close();
      restored.resolve(); // requests that came in meanwhile are answered, then the server stops
      await opened.server?.shutdown();
      opened.manager?.closeEvents();
      await opened.client?.close();
      await opened.manager?.close();
      await store.close();
      throw error;
    }
  }

  /** Resolves once the daemon has stopped (by `close`, or its signal). */
  get closed(): Promise<void> {
    return this.#closed.promise;
  }

  /**
   * Stops cleanly: the watch folder, then the HTTP server (streams and event streams end),
   * then every torrent (resume data saved, trackers told `stopped`), then the list is saved
   * and the state folder freed. Idempotent.
   * @returns When stopped.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#log({ event: "stopping", level: "info", message: "stopping" });
      this.#shutdown.abort();
      this.#history.close();
      await this.#watch?.close();
      this.manager.closeEvents();
      await this.#server.shutdown();
      await this.client.close();
      await this.manager.close();
      await this.#store.close();
      this.#log({ event: "stopped", level: "info", message: "stopped" });
    })().finally(() => this.#closed.resolve());
    return this.#closing;
  }

  /**
   * Same as {@linkcode Daemon.close}, for `await using`.
   * @returns When stopped.
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

async function startWatch(
  watchDir: string,
  manager: TorrentManager,
  dir: string,
  log: (entry: DaemonLogEntry) => void,
): Promise<WatchFolder> {
  const folder = resolve(watchDir);
  await Deno.mkdir(folder, { recursive: true });
  return WatchFolder.start(folder, {
    onTorrent: async (found) => {
      const source = found.type === "torrent"
        ? { type: "torrent" as const, bytes: found.bytes, metainfo: found.metainfo }
        : { type: "magnet" as const, uri: found.uri, link: found.link };
      await manager.add({ source, dir });
    },
    onOutcome: ({ path, result, reason }) => {
      const what = result === "added"
        ? `watch folder: took ${path}`
        : result === "invalid"
        ? `watch folder: set ${path} aside as .invalid: ${reason}`
        : `watch folder: cannot add ${path}: ${reason}`;
      log({
        event: `watch-${result}`,
        level: result === "added" ? "info" : result === "invalid" ? "warn" : "error",
        message: what,
        path,
        reason,
      });
    },
  });
}

async function respond(
  request: Request,
  env: {
    policy: GuardPolicy;
    ctx: Parameters<typeof handleApi>[2];
    assets: ReadonlyMap<string, WebAsset>;
    csrfToken: string;
    log: (entry: DaemonLogEntry) => void;
  },
): Promise<Response> {
  const url = new URL(request.url);
  const refusal = guardRequest(request, env.policy);
  let response: Response;
  if (refusal) {
    env.log({
      event: "refused",
      level: "warn",
      message: `refused ${request.method} ${url.pathname}: ${refusal.message}`,
      status: refusal.status,
      method: request.method,
      path: url.pathname,
    });
    await request.body?.cancel().catch(() => {});
    response = jsonResponse({ error: refusal.message }, refusal.status, { ...refusal.headers });
  } else {
    try {
      if (url.pathname === "/api/v1" || url.pathname.startsWith("/api/v1/")) {
        response = await handleApi(request, url.pathname.slice("/api/v1".length), env.ctx);
      } else {
        response = serveWebAsset(env.assets, url.pathname, request.method) ??
          jsonResponse({ error: `Cannot find ${url.pathname}` }, 404);
      }
    } catch (error) {
      const apiError = error instanceof ApiError
        ? error
        : new ApiError(500, (error as Error)?.message ?? String(error), { cause: error });
      if (apiError.status >= 500) {
        env.log({
          event: "error",
          level: "error",
          message: `${request.method} ${url.pathname}: ${apiError.message}`,
        });
      }
      await request.body?.cancel().catch(() => {});
      response = jsonResponse({ error: apiError.message }, apiError.status, {
        ...apiError.headers,
      });
    }
    // Only an answer that passed the Host and credential checks tells the CSRF token.
    if (refusal === undefined) response.headers.set(CSRF_HEADER, env.csrfToken);
  }
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) response.headers.set(name, value);
  if (url.pathname.startsWith("/api/")) {
    if (!response.headers.has("cache-control")) response.headers.set("cache-control", "no-store");
  }
  return response;
}
