// Runs cli.ts as a subprocess, as a user would, and checks exit codes and what it prints.
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { type BencodeInput, encodeBencode } from "../src/bencode/encode.ts";
import { sha1 } from "../src/sha1/sha1.ts";
import { randomBytes } from "./storage/fixture.ts";
import { startFakeHttpTracker } from "./tracker/fake_http_tracker.ts";
import {
  assertOneLineFailure,
  cliCommand,
  type CliResult,
  linesOf,
  runCli as runCliWith,
} from "./cli_util.ts";

/** Longest any one non-interactive command may run before it is killed and the test fails. */
const COMMAND_TIMEOUT_MS = 60_000;
/** Longest a download may take to exit after SIGINT before it is killed and the test fails. */
const SIGINT_EXIT_LIMIT_MS = 15_000;
const PIECE_LENGTH = 16384;
const A_LENGTH = 100_000;
const B_LENGTH = 30_000;
const PIECE_COUNT = Math.ceil((A_LENGTH + B_LENGTH) / PIECE_LENGTH); // 8

/** Runs the CLI to completion (killing it after COMMAND_TIMEOUT_MS). */
function runCli(args: string[], cwd?: string): Promise<CliResult> {
  return runCliWith(args, { cwd, timeoutMs: COMMAND_TIMEOUT_MS });
}

// ---- shared fixture: a two-file folder and the torrent `create` made of it -------------------

interface Fixture {
  dir: string;
  /** The folder given to `-o`: holds `t/a.bin` and `t/sub/b.bin`. */
  data: string;
  torrent: string;
  torrentBytes: Uint8Array;
  /** The info hash `create` printed. */
  infoHash: string;
}

let fixturePromise: Promise<Fixture> | undefined;

function fixture(): Promise<Fixture> {
  fixturePromise ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "shoal_cli_test_" });
    globalThis.addEventListener("unload", () => {
      try {
        Deno.removeSync(dir, { recursive: true });
      } catch { /* already gone */ }
    });
    const data = `${dir}/data`;
    await Deno.mkdir(`${data}/t/sub`, { recursive: true });
    await Deno.writeFile(`${data}/t/a.bin`, randomBytes(A_LENGTH, 11));
    await Deno.writeFile(`${data}/t/sub/b.bin`, randomBytes(B_LENGTH, 12));
    const torrent = `${dir}/t.torrent`;
    const result = await runCli([
      "create",
      `${data}/t`,
      "--piece-length",
      String(PIECE_LENGTH),
      "-o",
      torrent,
    ]);
    strictEqual(result.code, 0, `create failed: ${result.stderr}`);
    const match = /info hash ([0-9a-f]{40})/.exec(result.stdout);
    ok(match, `create printed no info hash: ${result.stdout}`);
    return { dir, data, torrent, torrentBytes: await Deno.readFile(torrent), infoHash: match[1] };
  })();
  return fixturePromise;
}

/** Copies the fixture's data into a new folder, to be changed by one test. */
async function copyData(fx: Fixture, name: string): Promise<string> {
  const out = `${fx.dir}/${name}`;
  await Deno.mkdir(`${out}/t/sub`, { recursive: true });
  await Deno.copyFile(`${fx.data}/t/a.bin`, `${out}/t/a.bin`);
  await Deno.copyFile(`${fx.data}/t/sub/b.bin`, `${out}/t/sub/b.bin`);
  return out;
}

/** Flips every bit of one byte of a file. */
async function flipByte(path: string, offset: number): Promise<void> {
  const bytes = await Deno.readFile(path);
  bytes[offset] ^= 0xff;
  await Deno.writeFile(path, bytes);
}

/** A loopback TCP port that nothing listens on (it was free a moment ago). */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Writes a torrent file from a raw info dictionary (and optional top-level fields). */
async function writeRawTorrent(
  path: string,
  info: Record<string, BencodeInput>,
  top: Record<string, BencodeInput> = {},
): Promise<void> {
  await Deno.writeFile(path, encodeBencode({ ...top, info }));
}

// ---- long-running commands: start, wait for a line, interrupt ---------------------------------

interface Running {
  child: Deno.ChildProcess;
  /** Stdout lines seen so far. */
  lines: string[];
  /** Resolves when stdout ends. */
  stdoutDone: Promise<void>;
  stderr: Promise<string>;
  /** Resolves with the first stdout line that passes `test` (rejects after `timeoutMs`). */
  waitForLine(test: (line: string) => boolean, timeoutMs: number): Promise<string>;
}

function startCli(args: string[]): Running {
  const child = cliCommand(args).spawn();
  const lines: string[] = [];
  const waiters: { test: (line: string) => boolean; resolve: (line: string) => void }[] = [];
  const stdoutDone = (async () => {
    let buffer = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      buffer += chunk;
      for (let at = buffer.indexOf("\n"); at >= 0; at = buffer.indexOf("\n")) {
        const line = buffer.slice(0, at);
        buffer = buffer.slice(at + 1);
        lines.push(line);
        for (const waiter of waiters.splice(0)) {
          if (waiter.test(line)) waiter.resolve(line);
          else waiters.push(waiter);
        }
      }
    }
    if (buffer) lines.push(buffer);
  })();
  const stderr = new Response(child.stderr).text();
  return {
    child,
    lines,
    stdoutDone,
    stderr,
    waitForLine(test, timeoutMs) {
      const seen = lines.find(test);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(new Error(`no such line in ${timeoutMs} ms; stdout so far:\n${lines.join("\n")}`));
        }, timeoutMs);
        const waiter = {
          test,
          resolve: (line: string) => {
            clearTimeout(timer);
            resolve(line);
          },
        };
        waiters.push(waiter);
        stdoutDone.then(() => {
          clearTimeout(timer);
          reject(new Error(`stdout ended without that line:\n${lines.join("\n")}`));
        });
      });
    },
  };
}

/**
 * Sends SIGINT and waits for the exit; if the process is still running after
 * SIGINT_EXIT_LIMIT_MS, kills it with SIGKILL and fails.
 */
async function interrupt(running: Running): Promise<CliResult> {
  running.child.kill("SIGINT");
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise<"hung">((resolve) => {
    timer = setTimeout(() => resolve("hung"), SIGINT_EXIT_LIMIT_MS);
  });
  const outcome = await Promise.race([running.child.status, hung]);
  clearTimeout(timer);
  if (outcome === "hung") running.child.kill("SIGKILL");
  const status = await running.child.status;
  await running.stdoutDone;
  const stderr = await running.stderr;
  if (outcome === "hung") {
    throw new Error(
      `still running ${SIGINT_EXIT_LIMIT_MS} ms after SIGINT; killed. stderr: ${stderr}`,
    );
  }
  return { code: status.code, signal: status.signal, stdout: running.lines.join("\n"), stderr };
}

/** Kills a process that a failed test left running, and waits for it. */
async function cleanUp(running: Running): Promise<void> {
  try {
    running.child.kill("SIGKILL");
  } catch { /* already exited */ }
  await running.child.status;
  await running.stdoutDone.catch(() => {});
  await running.stderr.catch(() => {});
}

// ---- help and usage ---------------------------------------------------------------------------

Deno.test("cli: `help` prints the usage on stdout and exits 0", async () => {
  const result = await runCli(["help"]);
  strictEqual(result.code, 0);
  strictEqual(result.stderr, "");
  ok(result.stdout.includes("Usage:"), result.stdout);
  for (const name of ["info", "create", "download", "seed", "verify"]) {
    ok(result.stdout.includes(`shoal ${name} `), `usage lists ${name}`);
  }
});

Deno.test("cli: an unknown command exits 2 with a short message and no stack trace", async () => {
  const result = await runCli(["frobnicate"]);
  strictEqual(result.code, 2);
  strictEqual(result.stdout, "");
  ok(!result.stderr.includes("    at "), result.stderr);
  deepStrictEqual(linesOf(result.stderr), [
    'shoal: unknown command "frobnicate"',
    'Run "shoal help" for usage.',
  ]);
});

// ---- info on bad input ------------------------------------------------------------------------

Deno.test("cli: `info` on a missing file fails with one line", async () => {
  const fx = await fixture();
  const path = `${fx.dir}/no-such.torrent`;
  const result = await runCli(["info", path]);
  strictEqual(result.code, 1);
  strictEqual(result.stdout, "");
  assertOneLineFailure(result, /no-such\.torrent.*no such file/, "missing file");
});

Deno.test("cli: `info` on an empty file fails with one line", async () => {
  const fx = await fixture();
  const path = `${fx.dir}/empty.torrent`;
  await Deno.writeFile(path, new Uint8Array(0));
  const result = await runCli(["info", path]);
  strictEqual(result.stdout, "");
  assertOneLineFailure(result, /Cannot parse torrent/, "empty file");
});

Deno.test("cli: `info` on random bytes fails with one line", async () => {
  const fx = await fixture();
  for (const seed of [1, 2, 3]) {
    const path = `${fx.dir}/random${seed}.torrent`;
    await Deno.writeFile(path, randomBytes(4096, seed));
    const result = await runCli(["info", path]);
    strictEqual(result.stdout, "");
    assertOneLineFailure(result, /Cannot parse torrent/, `random bytes, seed ${seed}`);
  }
});

Deno.test("cli: `info` on a truncated torrent fails with one line", async () => {
  const fx = await fixture();
  const full = fx.torrentBytes.length;
  for (const cut of [1, 20, Math.floor(full / 2), full - 1]) {
    const path = `${fx.dir}/cut${cut}.torrent`;
    await Deno.writeFile(path, fx.torrentBytes.subarray(0, cut));
    const result = await runCli(["info", path]);
    strictEqual(result.stdout, "");
    assertOneLineFailure(result, /Cannot parse torrent/, `truncated to ${cut} of ${full} bytes`);
  }
});

Deno.test("cli: `info` on a torrent with `..` in its paths opens it sanitised, with one warning line per changed path", async () => {
  const fx = await fixture();
  const data = new Uint8Array(100);
  const base = { "piece length": PIECE_LENGTH, pieces: sha1(data) };
  const cases: [string, Record<string, BencodeInput>, string][] = [
    [
      "file",
      { ...base, name: "t", files: [{ length: 100, path: ["..", "evil.txt"] }] },
      "evil.txt",
    ],
    [
      "deep",
      { ...base, name: "t", files: [{ length: 100, path: ["a", "..", "..", "evil"] }] },
      "evil",
    ],
    ["joined", { ...base, name: "t", files: [{ length: 100, path: ["../evil"] }] }, "..evil"],
  ];
  for (const [what, info, shown] of cases) {
    const path = `${fx.dir}/dotdot-${what}.torrent`;
    await writeRawTorrent(path, info);
    const result = await runCli(["info", path]);
    strictEqual(result.code, 0, `${what}: ${result.stderr}`);
    strictEqual(result.stderr, "", what);
    const warnings = linesOf(result.stdout).filter((l) => l.startsWith("warning: "));
    strictEqual(warnings.length, 1, `${what}: ${result.stdout}`);
    ok(result.stdout.includes(shown), `${what}: ${result.stdout}`);
    // verify checks the sanitised paths, all inside the folder: the data is simply missing.
    const verified = await runCli(["verify", path, "-o", `${fx.dir}/dotdot-out`]);
    strictEqual(verified.code, 1, `verify ${what}: ${verified.stderr}`);
    ok(verified.stdout.includes("0 of 1 pieces valid"), verified.stdout);
  }
  strictEqual(await exists(`${fx.dir}/evil.txt`), false);
  strictEqual(await exists(`${fx.dir}/evil`), false);
});

Deno.test("cli: `info` on a bad magnet link fails with one line", async () => {
  for (
    const magnet of [
      "magnet:",
      "magnet:?dn=only-a-name",
      "magnet:?xt=urn:btih:zzz",
      "magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef0123456",
      "magnet:?xt=urn:sha1:0123456789abcdef0123456789abcdef01234567",
      "magnet:?xt=urn:btih:ab\ncd",
    ]
  ) {
    const result = await runCli(["info", magnet]);
    strictEqual(result.stdout, "", magnet);
    assertOneLineFailure(result, /magnet/i, JSON.stringify(magnet));
  }
});

Deno.test("cli: an error message that holds a newline still prints as one line", async () => {
  const fx = await fixture();
  const result = await runCli(["info", `${fx.dir}/two\nlines.torrent`]);
  assertOneLineFailure(result, /two\\x0alines/, "path with a newline");
});

// ---- info on a good torrent -------------------------------------------------------------------

Deno.test("cli: `info --json` on a torrent from `create` has the info hash `create` printed", async () => {
  const fx = await fixture();
  const result = await runCli(["info", "--json", fx.torrent]);
  strictEqual(result.code, 0, result.stderr);
  strictEqual(result.stderr, "");
  strictEqual(linesOf(result.stdout).length, 1);
  const json = JSON.parse(result.stdout);
  strictEqual(json.infoHash, fx.infoHash);
  strictEqual(json.name, "t");
  strictEqual(json.totalBytes, A_LENGTH + B_LENGTH);
  strictEqual(json.pieceLength, PIECE_LENGTH);
  strictEqual(json.pieceCount, PIECE_COUNT);
  strictEqual(json.private, false);
  deepStrictEqual(json.files, [
    { index: 0, path: "t/a.bin", length: A_LENGTH },
    { index: 1, path: "t/sub/b.bin", length: B_LENGTH },
  ]);
  deepStrictEqual(json.warnings, []);
});

Deno.test("cli: `info` prints the same info hash as text", async () => {
  const fx = await fixture();
  const result = await runCli(["info", fx.torrent]);
  strictEqual(result.code, 0, result.stderr);
  ok(result.stdout.includes(`info hash:   ${fx.infoHash}\n`), result.stdout);
  ok(result.stdout.includes(`pieces:      ${PIECE_COUNT} x 16.0 KiB`), result.stdout);
  ok(result.stdout.includes("[0] a.bin  ("), `file indices are shown: ${result.stdout}`);
  ok(result.stdout.includes("[1] b.bin  ("), result.stdout);
});

Deno.test("cli: `info` escapes control characters from a torrent and a magnet link", async () => {
  const fx = await fixture();
  const path = `${fx.dir}/control.torrent`;
  const data = new Uint8Array(100);
  await writeRawTorrent(
    path,
    { name: "t", "piece length": PIECE_LENGTH, pieces: sha1(data), length: 100 },
    {
      announce: "http://127.0.0.1:1/a\x1b]0;title\x07",
      comment: "one\ntwo\x1b[2J",
      "created by": "x\x9by",
    },
  );
  const text = await runCli(["info", path]);
  strictEqual(text.code, 0, text.stderr);
  ok(!["\x1b", "\x07", "\x9b"].some((c) => text.stdout.includes(c)), JSON.stringify(text.stdout));
  ok(text.stdout.includes("comment:     one\\x0atwo\\x1b[2J\n"), text.stdout);
  ok(text.stdout.includes("http://127.0.0.1:1/a\\x1b]0;title\\x07"), text.stdout);
  ok(text.stdout.includes("created by:  x\\x9by"), text.stdout);
  const magnet = await runCli([
    "info",
    "magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567&dn=a%1B%5B31mb%0Ac" +
    "&tr=http%3A%2F%2F127.0.0.1%2F%07",
  ]);
  strictEqual(magnet.code, 0, magnet.stderr);
  ok(!["\x1b", "\x07"].some((c) => magnet.stdout.includes(c)), JSON.stringify(magnet.stdout));
  ok(magnet.stdout.includes("name:       a\\x1b[31mb\\x0ac\n"), magnet.stdout);
  // JSON output is already safe: control characters are JSON escapes.
  const json = await runCli(["info", "--json", path]);
  strictEqual(JSON.parse(json.stdout).comment, "one\ntwo\x1b[2J");
});

// ---- create -----------------------------------------------------------------------------------

Deno.test("cli: `create` on a missing path fails with one line and writes nothing", async () => {
  const fx = await fixture();
  const out = `${fx.dir}/never.torrent`;
  const result = await runCli(["create", `${fx.dir}/no-such-folder`, "-o", out]);
  strictEqual(result.stdout, "");
  assertOneLineFailure(result, /no-such-folder/, "create on a missing path");
  strictEqual(await exists(out), false);
});

// ---- verify -----------------------------------------------------------------------------------

Deno.test("cli: `verify` on complete data exits 0", async () => {
  const fx = await fixture();
  const result = await runCli(["verify", fx.torrent, "-o", fx.data]);
  strictEqual(result.code, 0, result.stderr);
  strictEqual(result.stderr, "");
  deepStrictEqual(linesOf(result.stdout), [
    `t: ${PIECE_COUNT} of ${PIECE_COUNT} pieces valid (complete)`,
  ]);
});

Deno.test("cli: `verify` on data with one flipped byte exits 1 and says how many pieces fail", async () => {
  const fx = await fixture();
  const dir = await copyData(fx, "flipped");
  await flipByte(`${dir}/t/a.bin`, 20_000); // inside piece 1
  const result = await runCli(["verify", fx.torrent, "-o", dir]);
  strictEqual(result.code, 1, result.stderr);
  strictEqual(result.stderr, "");
  deepStrictEqual(linesOf(result.stdout), [
    `t: ${PIECE_COUNT - 1} of ${PIECE_COUNT} pieces valid`,
  ]);
  const json = await runCli(["verify", "--json", fx.torrent, "-o", dir]);
  strictEqual(json.code, 1);
  deepStrictEqual(JSON.parse(json.stdout), {
    infoHash: fx.infoHash,
    valid: PIECE_COUNT - 1,
    pieceCount: PIECE_COUNT,
    complete: false,
  });
});

// ---- download and seed ------------------------------------------------------------------------

Deno.test("cli: `download` into a path that is a file fails with one line", async () => {
  const fx = await fixture();
  const file = `${fx.dir}/a-file`;
  await Deno.writeTextFile(file, "keep me");
  const result = await runCli([
    "download",
    fx.torrent,
    "-o",
    file,
    "--no-trackers",
    "--port",
    "0",
    "--listen-host",
    "127.0.0.1",
    "--quiet",
  ]);
  strictEqual(result.stdout, "");
  assertOneLineFailure(result, /a-file.*not a folder/, "download into a file");
  strictEqual(await Deno.readTextFile(file), "keep me");
});

Deno.test("cli: `seed` on incomplete data fails with one line naming the valid piece count", async () => {
  const fx = await fixture();
  const dir = await copyData(fx, "seed-incomplete");
  await flipByte(`${dir}/t/sub/b.bin`, 0); // byte 100000: piece 6
  const result = await runCli([
    "seed",
    fx.torrent,
    "-o",
    dir,
    "--no-trackers",
    "--port",
    "0",
    "--listen-host",
    "127.0.0.1",
  ]);
  strictEqual(result.stdout, "");
  assertOneLineFailure(
    result,
    new RegExp(`${PIECE_COUNT - 1} of ${PIECE_COUNT} pieces`),
    "seed on incomplete data",
  );
});

Deno.test("cli: `download` from a closed peer port exits 130 soon after SIGINT", async () => {
  const fx = await fixture();
  const running = startCli([
    "download",
    fx.torrent,
    "-o",
    `${fx.dir}/dl-closed-peer`,
    "--no-trackers",
    "--port",
    "0",
    "--listen-host",
    "127.0.0.1",
    "--json",
    "--peer",
    `127.0.0.1:${closedPort()}`,
  ]);
  try {
    // Once "ready" is out, the session runs and the SIGINT handler is certainly installed.
    await running.waitForLine((line) => line.includes('"type":"ready"'), COMMAND_TIMEOUT_MS);
    // A progress event means the tick loop runs, and the dial to the closed port has started.
    await running.waitForLine((line) => line.includes('"type":"progress"'), COMMAND_TIMEOUT_MS);
    const result = await interrupt(running);
    // A process killed by the signal would also report code 130, but with `signal` set.
    strictEqual(result.signal, null, "exited by itself, not killed by the signal");
    strictEqual(result.code, 130, result.stderr);
    strictEqual(result.stderr, "");
    const events = linesOf(result.stdout).map((line) => JSON.parse(line));
    strictEqual(events.at(-1).type, "stopped");
    strictEqual(events.filter((e) => e.type === "ready").length, 1);
  } finally {
    await cleanUp(running);
  }
});

Deno.test("cli: `download` with unreachable trackers exits 130 soon after SIGINT", async () => {
  const fx = await fixture();
  const port = closedPort();
  const torrent = `${fx.dir}/trackers.torrent`;
  const created = await runCli([
    "create",
    `${fx.data}/t`,
    "--piece-length",
    String(PIECE_LENGTH),
    "--tracker",
    `http://127.0.0.1:${port}/announce`,
    "--tracker",
    `udp://127.0.0.1:${port}/announce`,
    "-o",
    torrent,
  ]);
  strictEqual(created.code, 0, created.stderr);
  ok(created.stdout.includes(fx.infoHash), "trackers are not part of the info hash");
  const running = startCli([
    "download",
    torrent,
    "-o",
    `${fx.dir}/dl-trackers`,
    "--port",
    "0",
    "--listen-host",
    "127.0.0.1",
    "--json",
  ]);
  try {
    // Once the first announce has failed, the session is running and waiting on its trackers.
    await running.waitForLine(
      (line) => line.includes('"type":"warning"') || line.includes('"type":"progress"'),
      COMMAND_TIMEOUT_MS,
    );
    const result = await interrupt(running);
    strictEqual(result.signal, null, "exited by itself, not killed by the signal");
    strictEqual(result.code, 130, result.stderr);
    strictEqual(result.stderr, "");
  } finally {
    await cleanUp(running);
  }
});

Deno.test("cli: a tracker's failure reason is printed as one escaped warning line", async () => {
  const fx = await fixture();
  const reason = "go away\x1b[2J\nsecond line";
  await using tracker = await startFakeHttpTracker(() =>
    new Response(new Uint8Array(encodeBencode({ "failure reason": reason })))
  );
  const torrent = `${fx.dir}/refused.torrent`;
  const created = await runCli([
    "create",
    `${fx.data}/t`,
    "--tracker",
    tracker.url,
    "-o",
    torrent,
  ]);
  strictEqual(created.code, 0, created.stderr);
  const running = startCli([
    "download",
    torrent,
    "-o",
    `${fx.dir}/dl-refused`,
    "--port",
    "0",
    "--listen-host",
    "127.0.0.1",
  ]);
  try {
    const warning = await running.waitForLine(
      (line) => line.startsWith("warning: "),
      COMMAND_TIMEOUT_MS,
    );
    ok(warning.includes("go away\\x1b[2J\\x0asecond line"), warning);
    const result = await interrupt(running);
    strictEqual(result.signal, null, "exited by itself, not killed by the signal");
    strictEqual(result.code, 130, result.stderr);
    ok(!result.stdout.includes("\x1b"), JSON.stringify(result.stdout));
    ok(!result.stdout.split("\n").some((line) => line === "second line"), result.stdout);
  } finally {
    await cleanUp(running);
  }
});

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}
