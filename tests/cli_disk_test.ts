// `shoal download` as a subprocess against a disk that refuses writes: the data file is a
// symlink to /dev/full (every write fails with ENOSPC), or the folder or file is immutable
// (`chattr +i`, which even root cannot write through). The user must see one clear line,
// a non-zero exit, no stack trace, and (when the folder allows it) resume data left behind.
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { createTorrent, type Metainfo, parseTorrent } from "../mod.ts";
import { decodeBencode } from "../src/bencode/decode.ts";
import { isBencodeDict } from "../src/bencode/fields.ts";
import { loadResume, readResume, resumePath } from "../src/storage/resume.ts";
import { TorrentSession } from "../src/session/torrent_session.ts";
import { randomBytes } from "./test_util.ts";
import {
  assertOneLineFailure as assertOneLine,
  type CliResult,
  runCli as runCliWith,
} from "./cli_util.ts";

const LOOPBACK = "127.0.0.1";
/** Longest one CLI run may take before it is killed and the test fails. */
const COMMAND_TIMEOUT_MS = 90_000;
const PAYLOAD_SIZE = 512 * 1024 + 777;
const PIECE_LENGTH = 32 * 1024;

// ---- capability probes (run once, at load time) ---------------------------------------------

const IN_CI = Deno.env.get("CI") === "true";

function mount(args: string[], program = "mount"): void {
  const { success, stderr } = new Deno.Command(program, { args, stdout: "null", stderr: "piped" })
    .outputSync();
  if (!success) {
    throw new Error(`${program} ${args.join(" ")}: ${new TextDecoder().decode(stderr)}`);
  }
}

/** Whether this machine lets us mount a small tmpfs (root on Linux). */
function probeTmpfs(): boolean {
  if (Deno.build.os !== "linux") return false;
  const dir = Deno.makeTempDirSync({ prefix: "shoal-tmpfs-probe-" });
  try {
    mount(["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir]);
    mount([dir], "umount");
    return true;
  } catch {
    return false;
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

const HAS_TMPFS = probeTmpfs();

function chattr(flag: "+i" | "-i", path: string): boolean {
  try {
    const { success } = new Deno.Command("chattr", {
      args: [flag, path],
      stdout: "null",
      stderr: "null",
    }).outputSync();
    return success;
  } catch {
    return false; // no chattr on this machine
  }
}

/**
 * Whether `chattr +i` works here and bites: setting it succeeds (needs CAP_LINUX_IMMUTABLE and
 * a file system that supports it) and then creating an entry in the folder is refused.
 */
function probeImmutable(): boolean {
  if (Deno.build.os !== "linux") return false;
  const dir = Deno.makeTempDirSync({ prefix: "shoal-chattr-probe-" });
  try {
    if (!chattr("+i", dir)) return false;
    try {
      Deno.mkdirSync(`${dir}/x`);
      return false; // immutable flag set but not enforced
    } catch {
      return true;
    } finally {
      chattr("-i", dir);
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

const HAS_IMMUTABLE = probeImmutable();

// ---- helpers ---------------------------------------------------------------------------------

/** Runs the CLI to completion, killing it after COMMAND_TIMEOUT_MS. */
function runCli(args: string[]): Promise<CliResult> {
  return runCliWith(args, { timeoutMs: COMMAND_TIMEOUT_MS });
}

/** Non-zero exit (1), exactly one stderr line (`shoal: ...`) matching `pattern`, no stack trace. */
function assertOneLineFailure(result: CliResult, pattern: RegExp, what: string): string {
  return assertOneLine(result, pattern, what, 1);
}

/** Reads the resume file and checks it names this torrent and claims no piece. */
async function assertEmptyResume(out: string, meta: Metainfo): Promise<void> {
  const path = resumePath(out, meta);
  ok(path.startsWith(`${out}/.shoal/`), `resume file under ${out}/.shoal/: ${path}`);
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    const listing = await Array.fromAsync(Deno.readDir(out)).catch(() => []);
    throw new Error(
      `no resume file at ${path} (folder holds ${JSON.stringify(listing.map((e) => e.name))})`,
      { cause: error },
    );
  }
  const record = decodeBencode(bytes);
  ok(isBencodeDict(record), "resume file is a bencoded dictionary");
  deepStrictEqual(record.get("info-hash"), meta.infoHash, "resume file is for this torrent");
  strictEqual(record.get("piece-count"), meta.pieceCount);
  const bits = record.get("bitfield");
  ok(bits instanceof Uint8Array, "resume file has a bitfield");
  ok(bits.every((b) => b === 0), "no piece is claimed: none could be written");
  const leftovers = [];
  for await (const entry of Deno.readDir(`${out}/.shoal`)) {
    if (entry.name.endsWith(".tmp")) leftovers.push(entry.name);
  }
  deepStrictEqual(leftovers, [], "no temporary resume files left behind");
}

interface Fixture {
  root: string;
  meta: Metainfo;
  torrentPath: string;
  /** The in-process seeder's port. */
  seederPort: number;
  /** Stops the seeder. */
  stop(): Promise<void>;
}

/** A payload, its torrent (no trackers) and an in-process seeder on 127.0.0.1. */
async function startFixture(name: string): Promise<Fixture> {
  const root = await Deno.makeTempDir({ prefix: `shoal-cli-disk-${name}-` });
  const controller = new AbortController();
  let done: Promise<void> = Promise.resolve();
  try {
    await Deno.mkdir(`${root}/seed`);
    await Deno.writeFile(`${root}/seed/payload.bin`, randomBytes(PAYLOAD_SIZE, 0xd15c));
    const bytes = await createTorrent(`${root}/seed/payload.bin`, { pieceLength: PIECE_LENGTH });
    const meta = parseTorrent(bytes);
    strictEqual(meta.files.length, 1);
    deepStrictEqual(meta.files[0].path, ["payload.bin"]);
    const torrentPath = `${root}/payload.torrent`;
    await Deno.writeFile(torrentPath, bytes);
    const seeder = new TorrentSession(meta, {
      dir: `${root}/seed`,
      listenHost: LOOPBACK,
      port: 0,
      seed: true,
      requireComplete: true,
      trackers: false,
      signal: controller.signal,
    });
    const ready = Promise.withResolvers<number>();
    done = (async () => {
      for await (const event of seeder.run()) {
        if (event.type === "ready") ready.resolve(event.port ?? 0);
      }
    })();
    done.then(() => ready.reject(new Error("seeder ended before ready")), ready.reject);
    const timer = setTimeout(() => ready.reject(new Error("seeder not ready in 30 s")), 30_000);
    const seederPort = await ready.promise.finally(() => clearTimeout(timer));
    ok(seederPort > 0, "seeder listens");
    return {
      root,
      meta,
      torrentPath,
      seederPort,
      async stop() {
        controller.abort();
        await done;
      },
    };
  } catch (error) {
    controller.abort();
    await done.catch(() => {});
    await Deno.remove(root, { recursive: true });
    throw error;
  }
}

function downloadArgs(fixture: Fixture, out: string): string[] {
  return [
    "download",
    fixture.torrentPath,
    "-o",
    out,
    "--listen-host",
    LOOPBACK,
    "--port",
    "0",
    "--no-trackers",
    "--peer",
    `${LOOPBACK}:${fixture.seederPort}`,
  ];
}

// ---- tests -----------------------------------------------------------------------------------

Deno.test({
  name: HAS_TMPFS
    ? "cli disk: a disk that fills up mid-download gives one 'disk full' line and intact resume data; once space is freed the same command finishes"
    : "cli disk: full disk (ignored: mounting a tmpfs needs root on Linux)",
  ignore: !HAS_TMPFS && !IN_CI,
  fn: async () => {
    const fixture = await startFixture("full");
    const out = `${fixture.root}/out`;
    await Deno.mkdir(out);
    // Room for about half the payload: the download fills the disk part way through.
    mount(["-t", "tmpfs", "-o", "size=320k", "tmpfs", out]);
    try {
      const result = await runCli(downloadArgs(fixture, out));
      const message = assertOneLineFailure(result, /disk full/i, "download onto a full disk");
      ok(message.includes(out), `the line names a path in ${out}: ${message}`);
      // Whatever the resume data claims is really on disk, verified.
      const saved = await loadResume(out, fixture.meta) ??
        (await readResume(out, fixture.meta))?.have;
      ok(saved, "the resume data is readable");
      const verify = await runCli(["verify", fixture.torrentPath, "-o", out]);
      const valid = Number(/(\d+) of \d+ pieces valid/.exec(verify.stdout)?.[1]);
      ok(saved.count <= valid, `resume claims ${saved.count} pieces, ${valid} verify`);
      ok(valid > 0 && valid < fixture.meta.pieceCount, `some pieces were written: ${valid}`);
      // Space freed: the same command goes on and finishes.
      mount(["-o", "remount,size=4m", out]);
      const again = await runCli(downloadArgs(fixture, out));
      strictEqual(again.code, 0, again.stderr);
      deepStrictEqual(
        await Deno.readFile(`${out}/payload.bin`),
        await Deno.readFile(`${fixture.root}/seed/payload.bin`),
      );
    } finally {
      mount(["-l", out], "umount");
      await fixture.stop();
      await Deno.remove(fixture.root, { recursive: true });
    }
  },
});

Deno.test({
  name: HAS_IMMUTABLE
    ? "cli disk: an immutable (chattr +i) download folder fails with one 'permission denied' line"
    : "cli disk: immutable folder (ignored: chattr +i unavailable or not enforced here)",
  ignore: !HAS_IMMUTABLE && !IN_CI,
  fn: async () => {
    const fixture = await startFixture("immutable-dir");
    const out = `${fixture.root}/out`;
    try {
      await Deno.mkdir(out);
      ok(chattr("+i", out), "chattr +i on the download folder");
      const result = await runCli(downloadArgs(fixture, out));
      const message = assertOneLineFailure(
        result,
        /permission denied|not permitted/i,
        "download into an immutable folder",
      );
      ok(message.includes(out), `the line names a path inside ${out}: ${message}`);
      deepStrictEqual(
        await Array.fromAsync(Deno.readDir(out)),
        [],
        "nothing could be created in the folder (no data file, no .shoal)",
      );
    } finally {
      chattr("-i", out);
      await fixture.stop();
      await Deno.remove(fixture.root, { recursive: true });
    }
  },
});

Deno.test({
  name: HAS_IMMUTABLE
    ? "cli disk: an immutable (chattr +i) data file fails with one 'permission denied' line, resume kept"
    : "cli disk: immutable data file (ignored: chattr +i unavailable or not enforced here)",
  ignore: !HAS_IMMUTABLE && !IN_CI,
  fn: async () => {
    const fixture = await startFixture("immutable-file");
    const out = `${fixture.root}/out`;
    const dataPath = `${out}/payload.bin`;
    try {
      await Deno.mkdir(out);
      await Deno.writeFile(dataPath, new Uint8Array(0));
      ok(chattr("+i", dataPath), "chattr +i on the data file");
      const result = await runCli(downloadArgs(fixture, out));
      const message = assertOneLineFailure(
        result,
        /permission denied|not permitted/i,
        "download into an immutable file",
      );
      ok(message.includes(dataPath), `the line names the file ${dataPath}: ${message}`);
      strictEqual((await Deno.stat(dataPath)).size, 0, "the file was not written");
      await assertEmptyResume(out, fixture.meta);
    } finally {
      chattr("-i", dataPath);
      await fixture.stop();
      await Deno.remove(fixture.root, { recursive: true });
    }
  },
});
