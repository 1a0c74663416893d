/**
 * Interop: shoal's Message Stream Encryption handshakes against libtorrent with encryption forced
 * (`out_enc_policy` = `in_enc_policy` = pe_forced), in both directions: shoal's `mseConnect` to a
 * libtorrent seeder, and a libtorrent downloader connecting to shoal's `mseAccept`. After the MSE
 * handshake the BEP 3 handshake and at least one message go through the wrapper and decode.
 * A plain connection to the same seeder is refused, which shows the encryption setting holds.
 */

import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { encodeHex } from "../../src/bytes/hex.ts";
import { isPlainHandshakeStart, mseAccept, mseConnect } from "../../src/peer/mse.ts";
import { PeerError } from "../../src/peer/peer_error.ts";
import { decodeHandshake, encodeHandshake, HANDSHAKE_LENGTH } from "../../src/wire/handshake.ts";
import { decodeMessage, encodeMessage, type PeerMessage } from "../../src/wire/message.ts";
import { mseReq2Hash } from "../../src/wire/mse_crypto.ts";
import { generatePeerId } from "../../src/wire/peer_id.ts";
import {
  freePort,
  interopTest,
  libtorrentCreate,
  libtorrentInfo,
  makePayload,
  runShoal,
  sameTree,
  startLibtorrent,
  startShoal,
} from "./harness.ts";

const PIECE_BYTES = 16 * 1024;
const PAYLOAD_BYTES = 20 * PIECE_BYTES + 123;
/** How long one network step (accept, a reply) may take on a busy 2-core machine. */
const STEP_LIMIT_MS = 20_000;

interface Fixture {
  torrent: string;
  seedDir: string;
  getDir: string;
  infoHash: Uint8Array;
  numPieces: number;
}

async function withFixture(fn: (fixture: Fixture) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "shoal-mse-" });
  try {
    await makePayload(`${dir}/seed/pl`, [{ path: "a.bin", size: PAYLOAD_BYTES }]);
    await libtorrentCreate(`${dir}/seed/pl`, `${dir}/t.torrent`, { pieceLength: PIECE_BYTES });
    const info = await libtorrentInfo(`${dir}/t.torrent`);
    const infoHash = Uint8Array.from(info.infoHash.match(/../g)!, (h) => parseInt(h, 16));
    await Deno.mkdir(`${dir}/get`);
    await fn({
      torrent: `${dir}/t.torrent`,
      seedDir: `${dir}/seed`,
      getDir: `${dir}/get`,
      infoHash,
      numPieces: info.numPieces,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Rejects after `ms` (closing `conn` so a pending read ends); the timer is always cleared. */
async function within<T>(ms: number, what: string, conn: Deno.Conn, work: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      try {
        conn.close();
      } catch {
        // already closed
      }
      reject(new Error(`${what}: nothing after ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function readExactly(conn: Deno.Conn, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  let filled = 0;
  while (filled < length) {
    const n = await conn.read(out.subarray(filled));
    if (n === null) throw new Error(`Connection closed after ${filled} of ${length} bytes`);
    filled += n;
  }
  return out;
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let offset = 0; offset < bytes.length;) offset += await conn.write(bytes.subarray(offset));
}

/** Reads one length-prefixed peer message (at most 1 MiB). */
async function readMessage(conn: Deno.Conn): Promise<PeerMessage> {
  const prefix = await readExactly(conn, 4);
  const length = new DataView(prefix.buffer).getUint32(0);
  ok(length <= 1 << 20, `frame of ${length} bytes`);
  const frame = new Uint8Array(4 + length);
  frame.set(prefix);
  frame.set(await readExactly(conn, length), 4);
  const decoded = decodeMessage(frame);
  ok(decoded, "a whole frame decodes");
  return decoded.message;
}

/** Reads messages until one says which pieces the peer has (bitfield, have-all, have-none). */
async function readAvailability(conn: Deno.Conn): Promise<PeerMessage> {
  for (let i = 0; i < 20; i++) {
    const message = await readMessage(conn);
    if (["bitfield", "have-all", "have-none"].includes(message.type)) return message;
  }
  throw new Error("No bitfield, have-all or have-none in the first 20 messages");
}

/**
 * {@linkcode handshakeOnce}, tried a second time if the seeder hangs up mid-handshake: under a
 * full test run libtorrent has now and then dropped one handshake right after the refused plain
 * connection. A broken MSE fails both tries.
 */
async function handshakeWithSeeder(
  port: number,
  fixture: Fixture,
  options: { allow: "rc4" | "plaintext" | "both"; expect: "rc4" | "plaintext"; asIa: boolean },
): Promise<void> {
  try {
    await handshakeOnce(port, fixture, options);
  } catch (error) {
    if (!(error instanceof PeerError)) throw error;
    await new Promise((resolve) => setTimeout(resolve, 500));
    await handshakeOnce(port, fixture, options);
  }
}

/** Connects to the seeder with MSE, exchanges BEP 3 handshakes and reads its availability. */
async function handshakeOnce(
  port: number,
  fixture: Fixture,
  options: { allow: "rc4" | "plaintext" | "both"; expect: "rc4" | "plaintext"; asIa: boolean },
): Promise<void> {
  const socket = await Deno.connect({ hostname: "127.0.0.1", port });
  const ours = encodeHandshake({ infoHash: fixture.infoHash, peerId: generatePeerId() });
  using conn = await mseConnect(socket, {
    infoHash: fixture.infoHash,
    allow: options.allow,
    initialPayload: options.asIa ? ours : undefined,
    timeoutMs: STEP_LIMIT_MS,
  });
  strictEqual(conn.method, options.expect);
  if (!options.asIa) await writeAll(conn, ours);
  const theirs = decodeHandshake(
    await within(STEP_LIMIT_MS, "seeder handshake", conn, readExactly(conn, HANDSHAKE_LENGTH)),
  );
  ok(theirs, "libtorrent's handshake decodes");
  deepStrictEqual(theirs.infoHash, fixture.infoHash);
  ok(theirs.extensions.fast, "libtorrent announces the fast extension");
  const availability = await within(STEP_LIMIT_MS, "seeder bitfield", conn, readAvailability(conn));
  if (availability.type === "bitfield") {
    strictEqual(availability.bytes.length, Math.ceil(fixture.numPieces / 8));
    ok(availability.bytes.slice(0, -1).every((b) => b === 0xff), "a seeder has every piece");
  } else {
    strictEqual(availability.type, "have-all");
  }
}

interopTest(
  "mseConnect() talks RC4 to a libtorrent seeder that forces RC4; plain connections are refused",
  ["libtorrent"],
  () =>
    withFixture(async (fixture) => {
      await using seeder = await startLibtorrent({
        torrent: fixture.torrent,
        dir: fixture.seedDir,
        seed: true,
        encryption: { policy: "forced", level: "rc4" },
      });
      // control: the plain BEP 3 handshake gets no answer, the connection is dropped
      {
        using plain = await Deno.connect({ hostname: "127.0.0.1", port: seeder.port });
        await writeAll(
          plain,
          encodeHandshake({ infoHash: fixture.infoHash, peerId: generatePeerId() }),
        );
        const reply = await within(
          STEP_LIMIT_MS,
          "plain refusal",
          plain,
          plain.read(new Uint8Array(HANDSHAKE_LENGTH)).catch((e: Error) =>
            e instanceof Deno.errors.ConnectionReset ? null : Promise.reject(e)
          ),
        );
        strictEqual(reply, null, "libtorrent with forced encryption answered a plain handshake");
      }
      await handshakeWithSeeder(seeder.port, fixture, {
        allow: "both",
        expect: "rc4",
        asIa: false,
      });
      await handshakeWithSeeder(seeder.port, fixture, { allow: "rc4", expect: "rc4", asIa: true });
    }),
);

interopTest(
  "mseConnect() gets plaintext after the MSE header from a forced-encryption seeder allowing both",
  ["libtorrent"],
  () =>
    withFixture(async (fixture) => {
      await using seeder = await startLibtorrent({
        torrent: fixture.torrent,
        dir: fixture.seedDir,
        seed: true,
        encryption: { policy: "forced", level: "both" },
      });
      await handshakeWithSeeder(seeder.port, fixture, {
        allow: "plaintext",
        expect: "plaintext",
        asIa: false,
      });
      await handshakeWithSeeder(seeder.port, fixture, {
        allow: "plaintext",
        expect: "plaintext",
        asIa: true,
      });
    }),
);

for (const [level, allow, expect] of [["rc4", "both", "rc4"], ["both", "plaintext", "plaintext"]]) {
  interopTest(
    `mseAccept() completes MSE (${expect}) with a libtorrent downloader forcing level ${level}`,
    ["libtorrent"],
    () =>
      withFixture(async (fixture) => {
        using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
        await using _downloader = await startLibtorrent({
          torrent: fixture.torrent,
          dir: fixture.getDir,
          seed: false,
          peers: [{ host: "127.0.0.1", port: listener.addr.port }],
          encryption: { policy: "forced", level: level as "rc4" | "both" },
        });
        let timer: ReturnType<typeof setTimeout> | undefined;
        const socket = await Promise.race([
          listener.accept(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(
              () => reject(new Error("libtorrent did not connect")),
              STEP_LIMIT_MS,
            );
          }),
        ]).finally(() => clearTimeout(timer));
        const first = new Uint8Array(20);
        const n = await within(STEP_LIMIT_MS, "first bytes", socket, socket.read(first));
        ok(n !== null && n > 0, "libtorrent sent something");
        strictEqual(isPlainHandshakeStart(first.subarray(0, n)), false, "not a plain handshake");
        const wanted = encodeHex(mseReq2Hash(fixture.infoHash));
        const accepted = await mseAccept(socket, first.subarray(0, n), {
          allow: allow as "both" | "plaintext",
          lookup: (req2) => encodeHex(req2) === wanted ? fixture.infoHash : undefined,
          timeoutMs: STEP_LIMIT_MS,
        });
        using conn = accepted.conn;
        deepStrictEqual(accepted.infoHash, fixture.infoHash);
        strictEqual(conn.method, expect);
        const theirs = decodeHandshake(
          await within(STEP_LIMIT_MS, "downloader handshake", conn, readExactly(conn, 68)),
        );
        ok(theirs, "libtorrent's handshake decodes");
        deepStrictEqual(theirs.infoHash, fixture.infoHash);
        await writeAll(
          conn,
          new Uint8Array([
            ...encodeHandshake({ infoHash: fixture.infoHash, peerId: generatePeerId() }),
            ...encodeMessage({ type: "have-none" }),
          ]),
        );
        const message = await within(STEP_LIMIT_MS, "downloader message", conn, readMessage(conn));
        ok(message.type.length > 0, `decoded a ${message.type} message`);
      }),
  );
}

// ---------------------------------------------------------------------------------------------
// Whole downloads through the CLI, with libtorrent refusing anything but encrypted handshakes

for (const level of ["rc4", "both"] as const) {
  interopTest(
    `shoal downloads from a libtorrent seeder that forces encryption (level ${level})`,
    ["libtorrent"],
    () =>
      withFixture(async (fixture) => {
        await using seeder = await startLibtorrent({
          torrent: fixture.torrent,
          dir: fixture.seedDir,
          seed: true,
          encryption: { policy: "forced", level },
        });
        const result = await runShoal([
          "download",
          fixture.torrent,
          "-o",
          fixture.getDir,
          "--peer",
          `127.0.0.1:${seeder.port}`,
          "--no-trackers",
          "--listen-host",
          "127.0.0.1",
          "--port",
          "0",
          "--json",
        ], { timeoutMs: 60_000 });
        strictEqual(result.code, 0, `shoal failed: ${result.stderr}`);
        ok(result.stdout.includes('"type":"complete"'), "the download completed");
        await sameTree(`${fixture.seedDir}/pl`, `${fixture.getDir}/pl`);
      }),
    { timeoutMs: 90_000 },
  );
}

interopTest(
  "a libtorrent downloader that forces RC4 gets the whole torrent from shoal seed",
  ["libtorrent"],
  () =>
    withFixture(async (fixture) => {
      const port = freePort();
      await using shoal = startShoal([
        "seed",
        fixture.torrent,
        "-o",
        fixture.seedDir,
        "--no-trackers",
        "--listen-host",
        "127.0.0.1",
        "--port",
        `${port}`,
        "--json",
      ]);
      for await (const line of shoal.lines) if (line.includes('"type":"ready"')) break;
      await using downloader = await startLibtorrent({
        torrent: fixture.torrent,
        dir: fixture.getDir,
        seed: false,
        peers: [{ host: "127.0.0.1", port }],
        encryption: { policy: "forced", level: "rc4" },
      });
      await downloader.waitComplete(60_000);
      await sameTree(`${fixture.seedDir}/pl`, `${fixture.getDir}/pl`);
    }),
  { timeoutMs: 90_000 },
);
