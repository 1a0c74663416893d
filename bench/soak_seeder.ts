// The seeder of bench/soak.ts, run as its own process so its RSS can be read from /proc and a
// crash shows as an exit code: one shoal Client seeding one torrent on 127.0.0.1.
//
//   deno run -A bench/soak_seeder.ts '{"torrent": ..., "dir": ..., "stateDir": ...,
//                                      "maxMemoryBytes": N, "maxPeers": N}'
//
// Prints one JSON object per line on stdout: `ready` (port, hashed, trusted, pieces), `stats`
// every second (uploaded, peers, memory budget use), `error` for a torrent error event,
// `uncaught` for an error nothing caught (the process then dies as Deno makes it), and
// `summary` at the end (disconnect reasons and warnings, counted). It stops when its stdin
// closes, and exits 0 after a clean close.
import { Client } from "@shoal/shoal";

interface SeederConfig {
  torrent: string;
  dir: string;
  stateDir: string;
  maxMemoryBytes: number;
  maxPeers?: number;
  port?: number;
  /** Run a full GC before each `stats` line (needs `--v8-flags=--expose-gc`): live memory only. */
  gc?: boolean;
}

const STATS_EVERY_MS = 1_000;
/** Distinct reason texts kept; the rest are counted under "(other)". */
const MAX_REASONS = 200;

const encoder = new TextEncoder();
function emit(event: Record<string, unknown>): void {
  Deno.stdout.writeSync(encoder.encode(JSON.stringify(event) + "\n"));
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}\n${error.stack}` : String(error);
}

// Reported, not swallowed: the default action (the process dies, non-zero) still happens.
globalThis.addEventListener("error", (event) => {
  emit({ event: "uncaught", message: describe(event.error ?? event.message) });
});
globalThis.addEventListener("unhandledrejection", (event) => {
  emit({ event: "uncaught", message: describe(event.reason) });
});

/** Counts texts, with addresses and numbers masked so that alike reasons add up. */
function bump(counts: Map<string, number>, text: string): void {
  let key = text.replace(/\d+\.\d+\.\d+\.\d+(:\d+)?/g, "ADDR").replace(/\d+/g, "N").slice(0, 160);
  if (!counts.has(key) && counts.size >= MAX_REASONS) key = "(other)";
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

const config = JSON.parse(Deno.args[0]) as SeederConfig;
const client = new Client({
  dir: config.dir,
  port: config.port ?? 0,
  listenHost: "127.0.0.1",
  dht: false,
  stateDir: config.stateDir,
  maxMemoryBytes: config.maxMemoryBytes,
  maxPeers: config.maxPeers,
});
const disconnects = new Map<string, number>();
const warnings = new Map<string, number>();
let connected = 0;
let timer: ReturnType<typeof setInterval> | undefined;
try {
  const torrent = await client.add(config.torrent, { trackers: false, requireComplete: true });
  const watching = (async () => {
    for await (const event of torrent.events()) {
      if (event.type === "ready") {
        emit({
          event: "ready",
          port: client.port,
          have: event.have,
          pieceCount: event.pieceCount,
          hashed: event.hashed,
          trusted: event.trusted,
        });
      } else if (event.type === "peer") {
        if (event.change === "connected") connected++;
        else bump(disconnects, event.reason ?? "(none)");
      } else if (event.type === "warning") {
        bump(warnings, event.message);
      } else if (event.type === "error") {
        emit({ event: "error", message: event.message });
      }
    }
  })();
  timer = setInterval(() => {
    const stats = torrent.stats();
    const memory = client.stats().memory;
    if (config.gc) (globalThis as { gc?: () => void }).gc?.();
    const process = Deno.memoryUsage();
    emit({
      event: "stats",
      state: torrent.state,
      uploaded: stats.uploaded,
      uploadRate: stats.uploadRate,
      peers: stats.peers,
      memoryUsed: memory.used,
      memoryPeak: memory.peak,
      memoryLimit: memory.limit,
      heapUsed: process.heapUsed,
      heapTotal: process.heapTotal,
      external: process.external,
    });
  }, STATS_EVERY_MS);
  // Runs until the parent closes our stdin.
  for await (const _ of Deno.stdin.readable) {
    // nothing is sent on stdin
  }
  clearInterval(timer);
  timer = undefined;
  const final = torrent.stats();
  await client.close();
  await watching;
  emit({
    event: "summary",
    uploaded: final.uploaded,
    connected,
    memoryPeak: client.budget.peak,
    memoryLimit: client.budget.limit,
    disconnects: Object.fromEntries([...disconnects].sort((a, b) => b[1] - a[1])),
    warnings: Object.fromEntries([...warnings].sort((a, b) => b[1] - a[1])),
  });
} finally {
  if (timer !== undefined) clearInterval(timer);
  await client.close();
}
