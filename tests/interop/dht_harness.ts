/**
 * A test DHT of libtorrent nodes on 127.0.0.1 (tests/interop/lt_dht.py, python3-libtorrent
 * 2.0.8), for the DHT interop tests and benchmarks, and for magnet downloads over the DHT.
 *
 * ```ts ignore
 * import { interopTest } from "./harness.ts";
 * import { startLibtorrentDht } from "./dht_harness.ts";
 * interopTest("x finds a libtorrent peer over the DHT", ["libtorrent"], async () => {
 *   await using dht = await startLibtorrentDht({ nodes: 8 });
 *   const { port } = await dht.announce(infoHash, { minNodes: 3 }); // a libtorrent peer announces
 *   // ... bootstrap from dht.nodes[0], look up infoHash, expect 127.0.0.1:port ...
 *   const peers = await dht.getPeers(infoHash, { node: 5 }); // libtorrent's own lookup
 * });
 * ```
 *
 * One Python process hosts every node (and every announcing session); it has a life limit and
 * is stopped by PID (stdin closed, then SIGTERM, then SIGKILL) in the idempotent async dispose.
 * @module
 */

import { encodeHex } from "../../src/bytes/hex.ts";

const PYTHON = "/usr/bin/python3";
const LT_DHT_PY = new URL("./lt_dht.py", import.meta.url).pathname;
const DEFAULT_LIFE_MS = 180_000;
const START_LIMIT_MS = 30_000;
const KILL_GRACE_MS = 3_000;

/** A UDP or TCP endpoint on loopback. */
export interface LoopbackAddress {
  /** "127.0.0.1". */
  host: string;
  /** The port. */
  port: number;
}

/** A `dht_announce_alert` one node received: who announced what port to it. */
export interface ReceivedAnnounce {
  /**
   * Index of the receiving node in {@linkcode LibtorrentDht.nodes}; indexes from
   * `nodes.length` on are announcing sessions (they are DHT nodes too).
   */
  node: number;
  /** The announcing peer's IP. */
  host: string;
  /** The announced port. */
  port: number;
}

/** A running DHT of libtorrent nodes. */
export interface LibtorrentDht extends AsyncDisposable {
  /** PIDs of the processes behind it (one Python process). */
  readonly pids: readonly number[];
  /** The nodes' UDP endpoints (libtorrent listens for TCP on the same ports). */
  readonly nodes: readonly LoopbackAddress[];
  /**
   * Makes a libtorrent peer announce an info hash: a new session listening on `port` (default:
   * any; TCP and UDP) joins the DHT, adds the magnet, or with `torrent` and `dir` that torrent
   * in seed mode (a seeder to download from over the DHT), and calls `force_dht_announce`. It
   * stays up until dispose. Resolves once `minNodes` distinct nodes (default 1) received the
   * announce.
   * @returns The announced port (the session's listen port) and the announces received.
   * @throws {Error} If fewer than `minNodes` received it within `timeoutMs` (default 15 s), or
   *   the torrent's info hash is not `infoHash`.
   */
  announce(
    infoHash: Uint8Array | string,
    options?: {
      port?: number;
      minNodes?: number;
      timeoutMs?: number;
      torrent?: string;
      dir?: string;
    },
  ): Promise<{ port: number; announces: ReceivedAnnounce[] }>;
  /**
   * Runs `dht_get_peers` on one node (default 0) and returns the peers of its reply.
   * @throws {Error} If no reply comes within `timeoutMs` (default 15 s).
   */
  getPeers(
    infoHash: Uint8Array | string,
    options?: { node?: number; timeoutMs?: number },
  ): Promise<LoopbackAddress[]>;
  /** Every node `add_dht_node`s this endpoint (e.g. a shoal node). */
  addNode(address: LoopbackAddress): Promise<void>;
  /** The number of nodes in each node's routing table. */
  tableSizes(): Promise<number[]>;
  /** The announces the nodes received so far for an info hash. */
  announcesReceived(infoHash: Uint8Array | string): Promise<ReceivedAnnounce[]>;
}

function hexOf(infoHash: Uint8Array | string): string {
  return typeof infoHash === "string" ? infoHash.toLowerCase() : encodeHex(infoHash);
}

async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let buffer = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    let newline: number;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      yield buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
    }
  }
}

async function collectText(stream: ReadableStream<Uint8Array>): Promise<string> {
  let text = "";
  try {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      text = (text + chunk).slice(-32_768);
    }
  } catch {
    // pipe closed
  }
  return text;
}

function waitOrTimeout(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise.then(() => true, () => true),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Starts a DHT of libtorrent nodes on 127.0.0.1, each seeded with every other (never a public
 * router), and waits until their routing tables have converged (or 10 s passed).
 * @param options `nodes` (default 8), `timeoutMs`: life limit of the process (default 180 s).
 * @returns The running DHT; dispose it (`await using`) to stop the process.
 * @throws {Error} If the helper fails to start.
 */
export async function startLibtorrentDht(
  options: { nodes?: number; timeoutMs?: number } = {},
): Promise<LibtorrentDht> {
  const child = new Deno.Command(PYTHON, {
    args: [LT_DHT_PY, JSON.stringify({ nodes: options.nodes ?? 8 })],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { PYTHONWARNINGS: "ignore" },
  }).spawn();
  const stdin = child.stdin.getWriter();
  const stderr = collectText(child.stderr);
  const out = lines(child.stdout);
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  const kill = (signal: Deno.Signal): void => {
    if (exited) return;
    try {
      Deno.kill(child.pid, signal);
    } catch {
      // already gone
    }
  };
  const life = setTimeout(() => kill("SIGKILL"), options.timeoutMs ?? DEFAULT_LIFE_MS);
  Deno.unrefTimer(life); // the limit never keeps a benchmark's process alive
  let disposing: Promise<void> | undefined;
  const dispose = (): Promise<void> => {
    disposing ??= (async () => {
      clearTimeout(life);
      await stdin.close().catch(() => {});
      if (!(await waitOrTimeout(status, 2_000))) kill("SIGTERM");
      if (!(await waitOrTimeout(status, KILL_GRACE_MS))) kill("SIGKILL");
      await status;
      await out.return(undefined).catch(() => {});
      await child.stdout.cancel().catch(() => {});
      await stderr;
    })();
    return disposing;
  };

  const nextLine = async (): Promise<string> => {
    const { value, done } = await out.next();
    if (done) throw new Error(`lt_dht.py exited: ${(await stderr).slice(-2000)}`);
    return value;
  };
  let nextId = 1;
  let queue: Promise<unknown> = Promise.resolve();
  const request = <T>(body: Record<string, unknown>): Promise<T> => {
    const run = async (): Promise<T> => {
      const id = nextId++;
      await stdin.write(new TextEncoder().encode(JSON.stringify({ id, ...body }) + "\n"));
      while (true) {
        let reply: { id?: number; ok?: boolean; error?: string };
        try {
          reply = JSON.parse(await nextLine());
        } catch (error) {
          if (error instanceof SyntaxError) continue; // stray output
          throw error;
        }
        if (reply.id !== id) continue;
        if (!reply.ok) throw new Error(`lt_dht.py: ${reply.error}`);
        return reply as T;
      }
    };
    const result = queue.then(run, run);
    queue = result.catch(() => {});
    return result;
  };

  try {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const ready = (async () => {
      while (true) {
        const line = await nextLine();
        try {
          const parsed = JSON.parse(line);
          if (parsed.event === "ready") return parsed.nodes as LoopbackAddress[];
        } catch {
          // not JSON
        }
      }
    })();
    ready.catch(() => {}); // settled by the race below, or by dispose closing stdout
    const nodes = await Promise.race([
      ready,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`lt_dht.py not ready within ${START_LIMIT_MS} ms`)),
          START_LIMIT_MS,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    return {
      pids: [child.pid],
      nodes,
      async announce(infoHash, announceOptions = {}) {
        const minNodes = announceOptions.minNodes ?? 1;
        const reply = await request<{ port: number; announces: ReceivedAnnounce[] }>({
          cmd: "announce",
          infoHash: hexOf(infoHash),
          port: announceOptions.port ?? 0,
          minNodes,
          timeoutMs: announceOptions.timeoutMs ?? 15_000,
          torrent: announceOptions.torrent,
          dir: announceOptions.dir,
        });
        const reached = new Set(reply.announces.map((a) => a.node)).size;
        if (reached < minNodes) {
          throw new Error(`libtorrent's announce reached ${reached} nodes, wanted ${minNodes}`);
        }
        return { port: reply.port, announces: reply.announces };
      },
      async getPeers(infoHash, getOptions = {}) {
        const reply = await request<{ peers: LoopbackAddress[] }>({
          cmd: "get_peers",
          infoHash: hexOf(infoHash),
          node: getOptions.node ?? 0,
          timeoutMs: getOptions.timeoutMs ?? 15_000,
        });
        return reply.peers;
      },
      async addNode(address) {
        await request({ cmd: "add_node", host: address.host, port: address.port });
      },
      async tableSizes() {
        return (await request<{ sizes: number[] }>({ cmd: "table_sizes" })).sizes;
      },
      async announcesReceived(infoHash) {
        const reply = await request<{ announces: ReceivedAnnounce[] }>({
          cmd: "announces",
          infoHash: hexOf(infoHash),
        });
        return reply.announces;
      },
      [Symbol.asyncDispose]: dispose,
    };
  } catch (error) {
    await dispose();
    throw error;
  }
}
