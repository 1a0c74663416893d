// In-process daemons for the API tests: a temporary root, a download root and a state folder,
// a log kept in memory, a reader for the event stream, and torrents made from local files.
import { join } from "node:path";
import { Daemon, type DaemonOptions } from "../../src/daemon/daemon.ts";
import type { DaemonLogEntry } from "../../src/daemon/daemon_log.ts";
import { createTorrent } from "../../src/storage/create_torrent.ts";
import { makePayload } from "../interop/harness.ts";

/** A daemon on 127.0.0.1:0 with its folders; dispose stops it and deletes the folders. */
export interface TestDaemon extends AsyncDisposable {
  daemon: Daemon;
  /** The temporary folder holding everything. */
  root: string;
  /** The download root (`-o`). */
  data: string;
  /** The state folder. */
  state: string;
  /** Everything it logged. */
  logs: DaemonLogEntry[];
  /** Starts it again on the same folders (after `daemon.close()`). */
  restart(): Promise<Daemon>;
  /** Resolves with the first log entry (logged or to come) that `test` accepts. */
  waitForLog(test: (entry: DaemonLogEntry) => boolean): Promise<DaemonLogEntry>;
}

/** Starts a daemon in a fresh temporary folder. */
export async function startTestDaemon(options: Partial<DaemonOptions> = {}): Promise<TestDaemon> {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "shoal-daemon-" }));
  const data = join(root, "data");
  const state = join(root, "state");
  const logs: DaemonLogEntry[] = [];
  const waiters = new Set<
    { test: (e: DaemonLogEntry) => boolean; resolve: (e: DaemonLogEntry) => void }
  >();
  const log = (entry: DaemonLogEntry) => {
    logs.push(entry);
    for (const waiter of waiters) {
      if (waiter.test(entry)) {
        waiters.delete(waiter);
        waiter.resolve(entry);
      }
    }
  };
  const start = () =>
    Daemon.start({
      dir: data,
      stateDir: state,
      http: { hostname: "127.0.0.1", port: 0 },
      client: { port: 0, listenHost: "127.0.0.1", dht: false },
      log,
      ...options,
    });
  const fixture: TestDaemon = {
    daemon: await start(),
    root,
    data,
    state,
    logs,
    waitForLog(test) {
      const seen = logs.find(test);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve) => waiters.add({ test, resolve }));
    },
    async restart() {
      fixture.daemon = await start();
      return fixture.daemon;
    },
    async [Symbol.asyncDispose]() {
      await fixture.daemon.close();
      await Deno.remove(root, { recursive: true });
    },
  };
  return fixture;
}

/** Writes files under `dir/name` and returns a torrent of them (shoal's own maker). */
export async function makeLocalTorrent(
  dir: string,
  name: string,
  files: { path: string; size: number }[],
  options: { pieceLength?: number; seed?: number; trackers?: string[] } = {},
): Promise<Uint8Array> {
  await makePayload(join(dir, name), files, options.seed ?? 1);
  return await createTorrent(join(dir, name), {
    pieceLength: options.pieceLength ?? 16384,
    trackers: options.trackers?.map((url) => [url]),
  });
}

/** One Server-Sent Event. */
export interface ServerSentEvent {
  event: string;
  // deno-lint-ignore no-explicit-any
  data: any;
}

/** Reads a daemon's event stream; `next(test)` resolves with the first matching event. */
export class EventReader implements AsyncDisposable {
  readonly seen: ServerSentEvent[] = [];
  readonly #controller = new AbortController();
  readonly #pump: Promise<void>;
  readonly #waiters = new Set<
    { test: (e: ServerSentEvent) => boolean; resolve: (e: ServerSentEvent) => void }
  >();
  #from = 0;

  constructor(response: Response) {
    this.#pump = this.#read(response);
  }

  static async open(base: string): Promise<EventReader> {
    const controller = new AbortController();
    const response = await fetch(`${base}/api/v1/events`, { signal: controller.signal });
    if (!response.ok) throw new Error(`events: HTTP ${response.status}`);
    const reader = new EventReader(response);
    reader.#controller.signal.addEventListener("abort", () => controller.abort());
    return reader;
  }

  async #read(response: Response): Promise<void> {
    let rest = "";
    try {
      for await (const chunk of response.body!.pipeThrough(new TextDecoderStream())) {
        rest += chunk;
        let end;
        while ((end = rest.indexOf("\n\n")) >= 0) {
          const block = rest.slice(0, end);
          rest = rest.slice(end + 2);
          const name = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (name === undefined || data === undefined) continue;
          const event = { event: name, data: JSON.parse(data) };
          this.seen.push(event);
          for (const waiter of this.#waiters) {
            if (waiter.test(event)) {
              this.#waiters.delete(waiter);
              waiter.resolve(event);
            }
          }
        }
      }
    } catch {
      // aborted
    }
  }

  /** The first event from now on (or already seen, after the last one returned) that matches. */
  next(test: (e: ServerSentEvent) => boolean): Promise<ServerSentEvent> {
    const index = this.seen.findIndex((e, i) => i >= this.#from && test(e));
    if (index >= 0) {
      this.#from = index + 1;
      return Promise.resolve(this.seen[index]);
    }
    return new Promise((resolve) =>
      this.#waiters.add({
        test,
        resolve: (e) => {
          this.#from = this.seen.indexOf(e) + 1;
          resolve(e);
        },
      })
    );
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#controller.abort();
    await this.#pump;
  }
}
