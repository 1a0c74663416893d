import { encodeHex } from "../src/bytes/hex.ts";
import { parseTorrent } from "../src/metainfo/parse_torrent.ts";
import type { Metainfo } from "../src/metainfo/types.ts";
import { HashPool } from "../src/sha1/hash_pool.ts";
import { Sha1 } from "../src/sha1/sha1.ts";
import { createTorrent } from "../src/storage/create_torrent.ts";
import type { PeerAddress } from "../src/wire/peer_address.ts";
import type { SessionEvent } from "../src/session/events.ts";
import { formatBytes, formatRate, renderBar } from "./format_units.ts";
import { TorrentSession } from "../src/session/torrent_session.ts";

/** The files of the demo payload: name and size in bytes. */
export const DEMO_FILES: readonly { readonly path: string; readonly size: number }[] = [
  { path: "video/big-buck-bytes.bin", size: 24 * 1024 * 1024 },
  { path: "audio/soundtrack.bin", size: 6 * 1024 * 1024 + 12345 },
  { path: "README.txt", size: 3000 },
  { path: "cover.bin", size: 700 * 1024 },
];

/** Leechers in the demo swarm. */
export const DEMO_LEECHERS = 4;
/** The demo seeder's upload limit, low enough that leechers must trade with each other. */
export const DEMO_SEED_RATE = 6 * 1024 * 1024;

/** Options for {@linkcode runDemo}. */
export interface DemoOptions {
  /** Stops the demo. */
  signal?: AbortSignal;
  /** Where text goes (the CLI passes a stdout writer). */
  write: (text: string) => void;
  /** Redraw a live table (on a terminal) instead of printing lines now and then. */
  interactive: boolean;
  /** Folder to work in (a new temporary folder, removed afterwards, by default). */
  dir?: string;
  /** Give up after this long (default 180 s). */
  timeoutMs?: number;
}

interface Member {
  name: string;
  session: TorrentSession;
  port?: number;
  ready: PromiseWithResolvers<number>;
  have: number;
  downRate: number;
  upRate: number;
  peers: number;
  fromLeechers: number;
  fromSeeder: number;
  complete: boolean;
  task?: Promise<void>;
}

async function writePayload(root: string): Promise<void> {
  let state = 0x2545f491;
  for (const file of DEMO_FILES) {
    const path = `${root}/${file.path}`;
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    const out = await Deno.open(path, { write: true, create: true, truncate: true });
    try {
      const chunk = new Uint8Array(1024 * 1024);
      const words = new Uint32Array(chunk.buffer);
      for (let left = file.size; left > 0; left -= chunk.length) {
        for (let i = 0; i < words.length; i++) {
          state ^= state << 13;
          state ^= state >>> 17;
          state ^= state << 5;
          words[i] = state;
        }
        const part = chunk.subarray(0, Math.min(left, chunk.length));
        for (let done = 0; done < part.length;) done += await out.write(part.subarray(done));
      }
    } finally {
      out.close();
    }
  }
}

async function digestTree(root: string): Promise<string> {
  const hash = new Sha1();
  for (const file of DEMO_FILES) {
    hash.update(new TextEncoder().encode(file.path));
    using input = await Deno.open(`${root}/${file.path}`);
    for await (const chunk of input.readable) hash.update(chunk);
  }
  return encodeHex(hash.digest());
}

/**
 * Runs a complete swarm on loopback: writes a sample payload, creates a torrent for it with the
 * built-in creator, starts one seeder (upload limited) and {@linkcode DEMO_LEECHERS} leechers
 * that also upload to each other, shows their progress, and checks every copy against the
 * original. Peers find each other by direct addresses (no tracker needed).
 * @param options Output, cancellation and working folder.
 * @returns 0 when every copy equals the original, 1 otherwise.
 * @example
 * ```ts ignore
 * import { runDemo } from "./run_demo.ts";
 * const code = await runDemo({ write: (t) => Deno.stdout.writeSync(new TextEncoder().encode(t)), interactive: false });
 * ```
 */
export async function runDemo(options: DemoOptions): Promise<number> {
  const { write } = options;
  const root = options.dir ?? await Deno.makeTempDir({ prefix: "shoal-demo-" });
  const ownsRoot = options.dir === undefined;
  const controller = new AbortController();
  const signal = AbortSignal.any([
    controller.signal,
    AbortSignal.timeout(options.timeoutMs ?? 180_000),
    ...(options.signal ? [options.signal] : []),
  ]);
  await using pool = new HashPool();
  const members: Member[] = [];
  try {
    const payload = `${root}/seed/shoal-demo`;
    write(
      `shoal demo: a swarm of 1 seeder and ${DEMO_LEECHERS} leechers on 127.0.0.1, in ${root}\n`,
    );
    await writePayload(payload);
    const torrent = await createTorrent(payload, {
      pieceLength: 256 * 1024,
      comment: "shoal demo",
    });
    const meta: Metainfo = parseTorrent(torrent);
    await Deno.writeFile(`${root}/shoal-demo.torrent`, torrent);
    write(
      `made ${root}/shoal-demo.torrent: ${DEMO_FILES.length} files, ${
        formatBytes(meta.totalLength)
      }, ` +
        `${meta.pieceCount} pieces, info hash ${meta.infoHashHex}\n`,
    );
    write(
      `the seeder uploads at most ${
        formatRate(DEMO_SEED_RATE)
      }, so the leechers must trade pieces\n\n`,
    );

    const start = (name: string, dir: string, peers: PeerAddress[], seeder: boolean): Member => {
      const session = new TorrentSession(meta, {
        dir,
        listenHost: "127.0.0.1",
        port: 0,
        peers,
        trackers: false,
        seed: true,
        requireComplete: seeder,
        maxUploadRate: seeder ? DEMO_SEED_RATE : undefined,
        hashPool: pool,
        signal,
      });
      const member: Member = {
        name,
        session,
        ready: Promise.withResolvers<number>(),
        have: 0,
        downRate: 0,
        upRate: 0,
        peers: 0,
        fromLeechers: 0,
        fromSeeder: 0,
        complete: seeder,
      };
      member.ready.promise.catch(() => {});
      member.task = (async () => {
        for await (const event of session.run()) onEvent(member, event);
      })().catch((error) => {
        member.ready.reject(error);
        if (!signal.aborted) controller.abort(error);
      });
      members.push(member);
      return member;
    };
    const seederId = () => encodeHex(members[0].session.peerId);
    const onEvent = (member: Member, event: SessionEvent) => {
      if (event.type === "ready") member.ready.resolve(event.port ?? 0);
      if (event.type === "progress") {
        member.have = event.have;
        member.downRate = event.downRate;
        member.upRate = event.upRate;
        member.peers = event.peers;
      }
      if (event.type === "piece") {
        if (event.from.includes(seederId())) member.fromSeeder++;
        else member.fromLeechers++;
        member.have++;
      }
      if (event.type === "complete") member.complete = true;
    };

    const seeder = start("seeder", `${root}/seed`, [], true);
    const addresses: PeerAddress[] = [{ host: "127.0.0.1", port: await seeder.ready.promise }];
    for (let i = 1; i <= DEMO_LEECHERS; i++) {
      const leecher = start(`leecher ${i}`, `${root}/leech-${i}`, [...addresses], false);
      addresses.push({ host: "127.0.0.1", port: await leecher.ready.promise });
    }

    const started = performance.now();
    let lines = 0;
    let lastPrint = 0;
    const draw = (final: boolean) => {
      const rows = members.map((m) => {
        const fraction = m.have / meta.pieceCount;
        const traded = m.fromLeechers + m.fromSeeder;
        const share = m === seeder
          ? ""
          : `  ${traded ? Math.round((100 * m.fromLeechers) / traded) : 0}% from leechers`;
        return `${m.name.padEnd(9)} ${renderBar(fraction, 20)} ${
          (fraction * 100).toFixed(0).padStart(3)
        }%  ↓ ${formatRate(m.downRate).padStart(10)}  ↑ ${
          formatRate(m.upRate).padStart(10)
        }  peers ${m.peers}${share}`;
      });
      if (options.interactive) {
        write((lines > 0 ? `\x1b[${lines}A` : "") + rows.map((r) => `\x1b[2K${r}\n`).join(""));
        lines = rows.length;
      } else if (final || performance.now() - lastPrint > 2_000) {
        lastPrint = performance.now();
        write(`[${((performance.now() - started) / 1000).toFixed(1)} s]\n${rows.join("\n")}\n`);
      }
    };
    while (!members.every((m) => m.complete)) {
      if (signal.aborted) throw signal.reason ?? new Error("demo stopped");
      draw(false);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    draw(true);
    const seconds = (performance.now() - started) / 1000;
    controller.abort();
    await Promise.all(members.map((m) => m.task));

    const original = await digestTree(payload);
    let same = 0;
    for (let i = 1; i <= DEMO_LEECHERS; i++) {
      if (await digestTree(`${root}/leech-${i}/shoal-demo`) === original) same++;
    }
    const fromLeechers = members.slice(1).reduce((n, m) => n + m.fromLeechers, 0);
    const total = members.slice(1).reduce((n, m) => n + m.fromLeechers + m.fromSeeder, 0);
    write(
      `\nall ${DEMO_LEECHERS} leechers finished in ${seconds.toFixed(1)} s; ` +
        `${
          Math.round((100 * fromLeechers) / Math.max(1, total))
        }% of the pieces they got came from other leechers\n`,
    );
    write(`${same} of ${DEMO_LEECHERS} copies equal the original (SHA-1 of every file)\n`);
    return same === DEMO_LEECHERS ? 0 : 1;
  } finally {
    controller.abort();
    await Promise.allSettled(members.map((m) => m.task));
    if (ownsRoot) await Deno.remove(root, { recursive: true }).catch(() => {});
  }
}
