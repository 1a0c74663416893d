import { deepStrictEqual, ok, rejects, strictEqual, throws } from "node:assert/strict";
import { createHash } from "node:crypto";
import { encodeHex } from "../../src/bytes/hex.ts";
import {
  isPlainHandshakeStart,
  mseAccept,
  type MseAccepted,
  type MseAcceptOptions,
  MseConn,
  mseConnect,
  type MseConnectOptions,
} from "../../src/peer/mse.ts";
import { PeerError } from "../../src/peer/peer_error.ts";
import { encodeHandshake } from "../../src/wire/handshake.ts";
import {
  computeMseSecret,
  CRYPTO_PLAINTEXT,
  CRYPTO_RC4,
  deriveMseCiphers,
  encodeMsePublicKey,
  generateMsePrivateKey,
  modPow,
  MSE_PRIME,
  mseMaskReq2Hash,
  mseReq1Hash,
  mseReq2Hash,
  Rc4,
  selectMseCrypto,
} from "../../src/wire/mse_crypto.ts";
import { ProtocolError } from "../../src/wire/protocol_error.ts";

const INFO_HASH = new Uint8Array(20).map((_, i) => i * 7 + 1);
const OTHER_HASH = new Uint8Array(20).fill(0xee);
const text = (s: string): Uint8Array => new TextEncoder().encode(s);

function bigIntBytes(n: bigint): Uint8Array {
  return Uint8Array.from({ length: 96 }, (_, i) => Number((n >> BigInt(8 * (95 - i))) & 0xffn));
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function randomBytes(length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i += 65536) crypto.getRandomValues(out.subarray(i, i + 65536));
  return out;
}

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

async function readExactly(conn: Deno.Conn, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  let filled = 0;
  while (filled < length) {
    const n = await conn.read(out.subarray(filled));
    if (n === null) throw new Error(`EOF after ${filled} of ${length} bytes`);
    filled += n;
  }
  return out;
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let offset = 0; offset < bytes.length;) offset += await conn.write(bytes.subarray(offset));
}

function lookupOf(...hashes: Uint8Array[]): MseAcceptOptions["lookup"] {
  const byReq2 = new Map(hashes.map((h) => [encodeHex(mseReq2Hash(h)), h]));
  return (req2) => byReq2.get(encodeHex(req2));
}

/** Wraps a socket so every byte written to it is also appended to `sink`. */
function recording(conn: Deno.Conn, sink: Uint8Array[]): Deno.Conn {
  return new Proxy(conn, {
    get(target, prop) {
      if (prop === "write") {
        return async (p: Uint8Array) => {
          const n = await target.write(p);
          sink.push(p.slice(0, n));
          return n;
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** A loopback pair: mseConnect on one side, mseAccept (after reading `firstBytes`) on the other. */
async function runPair(
  connect: Partial<MseConnectOptions>,
  accept: Partial<MseAcceptOptions>,
  options: { firstBytes?: number; record?: Uint8Array[] } = {},
): Promise<{
  client: PromiseSettledResult<MseConn>;
  server: PromiseSettledResult<MseAccepted>;
}> {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const server = (async () => {
    const conn = await listener.accept();
    const first = new Uint8Array(options.firstBytes ?? 20);
    let n = 0;
    try {
      if (first.length > 0) n = (await conn.read(first)) ?? 0;
    } catch (error) {
      conn.close();
      throw error;
    }
    return await mseAccept(conn, first.subarray(0, n), {
      allow: "both",
      lookup: lookupOf(OTHER_HASH, INFO_HASH),
      ...accept,
    });
  })();
  const client = (async () => {
    const socket = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
    const conn = options.record ? recording(socket, options.record) : socket;
    return await mseConnect(conn, { infoHash: INFO_HASH, allow: "both", ...connect });
  })();
  const [c, s] = await Promise.allSettled([client, server]);
  return { client: c, server: s };
}

function fulfilled<T>(result: PromiseSettledResult<T>): T {
  if (result.status === "rejected") throw result.reason;
  return result.value;
}

function rejectedWith(result: PromiseSettledResult<unknown>, type: new (...a: never[]) => Error) {
  if (result.status === "fulfilled") {
    if (result.value instanceof MseConn) result.value.close();
    else (result.value as MseAccepted).conn.close();
    throw new Error(`Expected a ${type.name}, but the handshake succeeded`);
  }
  ok(result.reason instanceof type, `Expected ${type.name}, got ${result.reason}`);
  return result.reason as Error;
}

/** Sends `aToB` and `bToA` at the same time and checks both arrive intact. */
async function exchange(a: Deno.Conn, b: Deno.Conn, aToB: Uint8Array, bToA: Uint8Array) {
  const [, , gotB, gotA] = await Promise.all([
    writeAll(a, aToB),
    writeAll(b, bToA),
    readExactly(b, aToB.length),
    readExactly(a, bToA.length),
  ]);
  ok(gotB.every((byte, i) => byte === aToB[i]), "A to B bytes differ");
  ok(gotA.every((byte, i) => byte === bToA[i]), "B to A bytes differ");
}

// ---------------------------------------------------------------------------------------------
// Crypto

Deno.test("Rc4 matches the published test vectors", () => {
  const vectors: [string, string, string][] = [
    ["Key", "Plaintext", "bbf316e8d940af0ad3"],
    ["Wiki", "pedia", "1021bf0420"],
    ["Secret", "Attack at dawn", "45a01f645fc35b383552544b9bf5"],
  ];
  for (const [key, plain, cipher] of vectors) {
    strictEqual(encodeHex(new Rc4(text(key)).process(text(plain))), cipher);
    const out = new Uint8Array(plain.length + 3);
    const input = text(plain);
    strictEqual(encodeHex(new Rc4(text(key)).process(input, out)), cipher);
    deepStrictEqual(input, text(plain), "process(input, output) leaves input alone");
  }
});

Deno.test("Rc4 continues its keystream across calls of any size", () => {
  const data = randomBytes(5000);
  const whole = new Rc4(text("k")).process(data.slice());
  const chunked = new Rc4(text("k"));
  const parts = [];
  for (let i = 0; i < data.length;) {
    const size = 1 + (i * 7919) % 700;
    parts.push(chunked.process(data.slice(i, i + size)));
    i += size;
  }
  deepStrictEqual(concat(...parts), whole);
  throws(() => new Rc4(new Uint8Array(0)), RangeError);
  throws(() => new Rc4(text("k")).process(new Uint8Array(4), new Uint8Array(3)), RangeError);
});

Deno.test("modPow agrees with repeated multiplication", () => {
  for (const [b, e, m] of [[4n, 13n, 497n], [2n, 0n, 7n], [7n, 1n, 5n], [-3n, 3n, 11n]]) {
    let expected = 1n;
    for (let i = 0n; i < e; i++) expected = (expected * b) % m;
    strictEqual(modPow(b, e, m), ((expected % m) + m) % m);
  }
  strictEqual(modPow(5n, 3n, 1n), 0n);
});

Deno.test("two sides derive the same 96-byte secret from each other's public keys", () => {
  for (let round = 0; round < 5; round++) {
    const a = generateMsePrivateKey();
    const b = generateMsePrivateKey();
    ok(a > 1n && a < 1n << 160n);
    const ya = encodeMsePublicKey(a);
    strictEqual(ya.length, 96);
    const sa = computeMseSecret(a, encodeMsePublicKey(b));
    deepStrictEqual(sa, computeMseSecret(b, ya));
    strictEqual(sa.length, 96);
  }
  deepStrictEqual(encodeMsePublicKey(10n), bigIntBytes(1024n));
});

Deno.test("computeMseSecret() refuses degenerate and malformed public keys", () => {
  const x = generateMsePrivateKey();
  for (const bad of [0n, 1n, MSE_PRIME - 1n, MSE_PRIME, (1n << 768n) - 1n]) {
    throws(() => computeMseSecret(x, bigIntBytes(bad)), ProtocolError);
  }
  throws(() => computeMseSecret(x, new Uint8Array(95)), ProtocolError);
  computeMseSecret(x, bigIntBytes(2n));
  computeMseSecret(x, bigIntBytes(MSE_PRIME - 2n));
});

Deno.test("MSE hashes are SHA-1 of the spec's labels (checked against node:crypto)", () => {
  const secret = randomBytes(96);
  const sha = (...parts: Uint8Array[]) => {
    const h = createHash("sha1");
    for (const p of parts) h.update(p);
    return new Uint8Array(h.digest());
  };
  deepStrictEqual(mseReq1Hash(secret), sha(text("req1"), secret));
  deepStrictEqual(mseReq2Hash(INFO_HASH), sha(text("req2"), INFO_HASH));
  const req3 = sha(text("req3"), secret);
  deepStrictEqual(
    mseMaskReq2Hash(mseReq2Hash(INFO_HASH), secret),
    mseReq2Hash(INFO_HASH).map((b, i) => b ^ req3[i]),
  );
  // keyA and keyB, with the first 1024 keystream bytes dropped
  const fresh = (label: string) => {
    const rc4 = new Rc4(sha(text(label), secret, INFO_HASH));
    rc4.process(new Uint8Array(1024));
    return rc4;
  };
  const a = deriveMseCiphers(secret, INFO_HASH, true);
  const b = deriveMseCiphers(secret, INFO_HASH, false);
  const probe = randomBytes(100);
  deepStrictEqual(a.encrypt.process(probe.slice()), fresh("keyA").process(probe.slice()));
  deepStrictEqual(b.encrypt.process(probe.slice()), fresh("keyB").process(probe.slice()));
  deepStrictEqual(b.decrypt.process(fresh("keyA").process(probe.slice())), probe);
  deepStrictEqual(a.decrypt.process(fresh("keyB").process(probe.slice())), probe);
});

Deno.test("selectMseCrypto() prefers plaintext and returns 0 without a common method", () => {
  strictEqual(selectMseCrypto(0x03, "both"), CRYPTO_PLAINTEXT);
  strictEqual(selectMseCrypto(0x03, "rc4"), CRYPTO_RC4);
  strictEqual(selectMseCrypto(0x02, "both"), CRYPTO_RC4);
  strictEqual(selectMseCrypto(0x03, "plaintext"), CRYPTO_PLAINTEXT);
  strictEqual(selectMseCrypto(0x01, "both"), CRYPTO_PLAINTEXT);
  strictEqual(selectMseCrypto(0x02, "plaintext"), 0);
  strictEqual(selectMseCrypto(0x01, "rc4"), 0);
  strictEqual(selectMseCrypto(0x0c, "both"), 0);
});

Deno.test("isPlainHandshakeStart() tells a BEP 3 handshake from an MSE key", () => {
  const plain = encodeHandshake({ infoHash: INFO_HASH, peerId: new Uint8Array(20) });
  strictEqual(isPlainHandshakeStart(plain), true);
  strictEqual(isPlainHandshakeStart(plain.subarray(0, 20)), true);
  for (let n = 0; n < 20; n++) strictEqual(isPlainHandshakeStart(plain.subarray(0, n)), undefined);
  strictEqual(isPlainHandshakeStart(new Uint8Array([19, 66, 0])), false);
  strictEqual(isPlainHandshakeStart(new Uint8Array([0x13 + 1])), false);
});

// ---------------------------------------------------------------------------------------------
// Handshakes between two shoal sides over loopback TCP

Deno.test("MSE with RC4 (the receiver insists): data flows both ways, nothing readable on the wire", async () => {
  const wire: Uint8Array[] = [];
  const { client, server } = await runPair({ allow: "both" }, { allow: "rc4" }, {
    record: wire,
  });
  using a = fulfilled(client);
  const accepted = fulfilled(server);
  using b = accepted.conn;
  strictEqual(a.method, "rc4");
  strictEqual(b.method, "rc4");
  deepStrictEqual(accepted.infoHash, INFO_HASH);
  const marker = text("shoal-marker-".repeat(8));
  const aToB = concat(marker, randomBytes(1 << 20), marker);
  await exchange(a, b, aToB, randomBytes(300_000));
  const sent = concat(...wire);
  ok(sent.length >= aToB.length, "the recorder saw the payload");
  ok(!contains(sent, marker), "the marker went out in the clear");
  ok(!contains(sent, INFO_HASH), "the info hash went out in the clear");
});

Deno.test("MSE with plaintext selected: payload flows unencrypted both ways", async () => {
  const wire: Uint8Array[] = [];
  const { client, server } = await runPair({ allow: "plaintext" }, { allow: "both" }, {
    record: wire,
  });
  using a = fulfilled(client);
  using b = fulfilled(server).conn;
  strictEqual(a.method, "plaintext");
  strictEqual(b.method, "plaintext");
  const marker = text("shoal-marker-".repeat(8));
  await exchange(a, b, concat(marker, randomBytes(200_000)), randomBytes(70_000));
  ok(contains(concat(...wire), marker), "plaintext payload is visible on the wire");
  ok(!contains(concat(...wire), INFO_HASH), "the info hash is still hidden");
});

Deno.test("MSE: a receiver allowing only plaintext picks it from an offer of both", async () => {
  const { client, server } = await runPair({ allow: "both" }, { allow: "plaintext" });
  using a = fulfilled(client);
  using b = fulfilled(server).conn;
  strictEqual(a.method, "plaintext");
  await exchange(a, b, text("ping"), text("pong"));
});

Deno.test("MSE: the initial payload (IA) reaches the receiver first, for both methods", async () => {
  for (const allow of ["rc4", "plaintext"] as const) {
    const handshake = encodeHandshake({ infoHash: INFO_HASH, peerId: randomBytes(20) });
    const { client, server } = await runPair({ allow, initialPayload: handshake }, {
      allow: "both",
    }, { firstBytes: 0 });
    using a = fulfilled(client);
    using b = fulfilled(server).conn;
    strictEqual(b.method, allow);
    await writeAll(a, text("after"));
    deepStrictEqual(await readExactly(b, handshake.length + 5), concat(handshake, text("after")));
  }
});

Deno.test("MSE: first bytes of any length handed to mseAccept are used", async () => {
  for (const firstBytes of [0, 1, 95, 96, 97, 700]) {
    const { client, server } = await runPair({ allow: "rc4" }, { allow: "rc4" }, { firstBytes });
    using a = fulfilled(client);
    using b = fulfilled(server).conn;
    await exchange(a, b, text(`to b ${firstBytes}`), text(`to a ${firstBytes}`));
  }
});

Deno.test("MSE: no common method fails both sides, the receiver with ProtocolError", async () => {
  const { client, server } = await runPair({ allow: "rc4" }, { allow: "plaintext" });
  const error = rejectedWith(server, ProtocolError);
  ok(error.message.includes("offers methods 0x2"), error.message);
  rejectedWith(client, Error);
});

Deno.test("MSE: an unknown info hash is refused with ProtocolError", async () => {
  const { client, server } = await runPair({ infoHash: new Uint8Array(20).fill(9) }, {});
  ok(rejectedWith(server, ProtocolError).message.includes("unknown torrent"));
  rejectedWith(client, Error);
  // a lookup that answers with the wrong torrent is caught too
  const wrong = await runPair({}, { lookup: () => OTHER_HASH });
  rejectedWith(wrong.server, ProtocolError);
  rejectedWith(wrong.client, Error);
});

// ---------------------------------------------------------------------------------------------
// Hand-made peers: boundaries and malformed handshakes

/** Accepts one connection and runs `peer` on it, closing it afterwards. */
async function withRawPeer<T>(
  peer: (conn: Deno.Conn) => Promise<void>,
  us: (port: number) => Promise<T>,
): Promise<T> {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const raw = listener.accept().then(async (conn) => {
    try {
      await peer(conn);
      await conn.read(new Uint8Array(4096)).catch(() => null); // wait for the other side
    } catch {
      // the side under test hung up
    } finally {
      try {
        conn.close();
      } catch {
        // already closed
      }
    }
  });
  try {
    return await us(listener.addr.port);
  } finally {
    await raw;
  }
}

/** A receiver written from the spec: Yb, PadB, then step 4 straight away. */
function rawReceiver(opts: { padB: number; select: number; padD: number }) {
  return async (conn: Deno.Conn): Promise<void> => {
    const ya = await readExactly(conn, 96);
    const x = generateMsePrivateKey();
    await writeAll(conn, concat(encodeMsePublicKey(x), randomBytes(opts.padB)));
    const { encrypt } = deriveMseCiphers(computeMseSecret(x, ya), INFO_HASH, false);
    const step4 = new Uint8Array(14 + opts.padD);
    new DataView(step4.buffer).setUint32(8, opts.select);
    new DataView(step4.buffer).setUint16(12, opts.padD);
    const payload = text("payload");
    if (opts.select === CRYPTO_RC4) await writeAll(conn, encrypt.process(concat(step4, payload)));
    else await writeAll(conn, concat(encrypt.process(step4), payload));
  };
}

async function connectTo(port: number, options: Partial<MseConnectOptions> = {}) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  return await mseConnect(conn, { infoHash: INFO_HASH, allow: "rc4", ...options });
}

Deno.test("mseConnect() finds the reply after 512 bytes of PadB and PadD", async () => {
  const got = await withRawPeer(
    rawReceiver({ padB: 512, select: CRYPTO_RC4, padD: 512 }),
    async (port) => {
      using conn = await connectTo(port);
      return new TextDecoder().decode(await readExactly(conn, 7));
    },
  );
  strictEqual(got, "payload");
});

Deno.test("mseConnect() rejects PadB over 512, PadD over 512 and an unoffered method", async () => {
  const cases: [Parameters<typeof rawReceiver>[0], string][] = [
    [{ padB: 600, select: CRYPTO_RC4, padD: 0 }, "not found within 512"],
    [{ padB: 0, select: CRYPTO_RC4, padD: 513 }, "PadD of 513 bytes"],
    [{ padB: 0, select: CRYPTO_PLAINTEXT, padD: 0 }, "selected method 0x1"],
    [{ padB: 0, select: CRYPTO_RC4 | CRYPTO_PLAINTEXT, padD: 0 }, "selected method 0x3"],
  ];
  for (const [opts, message] of cases) {
    await withRawPeer(rawReceiver(opts), async (port) => {
      const error = await connectTo(port).then((c) => c.close(), (e) => e);
      ok(error instanceof ProtocolError, `${message}: got ${error}`);
      ok(error.message.includes(message), error.message);
    });
  }
});

/** An initiator written from the spec; `mutate` may spoil step 3 before it is encrypted. */
async function rawInitiator(
  port: number,
  opts: { padA: number; padC: number; iaLength?: number; vc?: number; key?: Uint8Array },
): Promise<void> {
  using conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const x = generateMsePrivateKey();
  await writeAll(conn, concat(opts.key ?? encodeMsePublicKey(x), randomBytes(opts.padA)));
  const yb = await readExactly(conn, 96).catch(() => undefined);
  if (!yb) return;
  const secret = computeMseSecret(x, yb);
  const { encrypt } = deriveMseCiphers(secret, INFO_HASH, true);
  const head = new Uint8Array(16 + opts.padC);
  head[0] = opts.vc ?? 0;
  new DataView(head.buffer).setUint32(8, CRYPTO_RC4);
  new DataView(head.buffer).setUint16(12, opts.padC);
  new DataView(head.buffer).setUint16(14 + opts.padC, opts.iaLength ?? 0);
  await writeAll(
    conn,
    concat(
      mseReq1Hash(secret),
      mseMaskReq2Hash(mseReq2Hash(INFO_HASH), secret),
      encrypt.process(head),
    ),
  ).catch(() => {});
  await conn.read(new Uint8Array(4096)).catch(() => null);
}

async function acceptFrom(
  opts: Parameters<typeof rawInitiator>[1],
  accept: Partial<MseAcceptOptions> = {},
): Promise<MseAccepted | Error> {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const initiator = rawInitiator(listener.addr.port, opts);
  const conn = await listener.accept();
  const result = await mseAccept(conn, new Uint8Array(0), {
    allow: "both",
    lookup: lookupOf(INFO_HASH),
    timeoutMs: 5_000,
    ...accept,
  }).catch((e: Error) => e);
  if (!(result instanceof Error)) result.conn.close();
  await initiator;
  return result;
}

Deno.test("mseAccept() finds HASH('req1', S) after 512 bytes of PadA and takes 512 of PadC", async () => {
  const result = await acceptFrom({ padA: 512, padC: 512 });
  ok(!(result instanceof Error), `${result}`);
  deepStrictEqual(result.infoHash, INFO_HASH);
  strictEqual(result.conn.method, "rc4");
});

Deno.test("mseAccept() rejects PadA and PadC over 512, a wrong VC and bad keys", async () => {
  const cases: [Parameters<typeof rawInitiator>[1], string][] = [
    [{ padA: 513, padC: 0 }, "not found within 512"],
    [{ padA: 0, padC: 513 }, "PadC of 513 bytes"],
    [{ padA: 0, padC: 0, vc: 1 }, "wrong verification constant"],
    [{ padA: 0, padC: 0, key: new Uint8Array(96) }, "outside [2, P-2]"],
    [{ padA: 0, padC: 0, key: new Uint8Array(96).fill(0xff) }, "outside [2, P-2]"],
  ];
  for (const [opts, message] of cases) {
    const error = await acceptFrom(opts);
    ok(error instanceof ProtocolError, `${message}: got ${error}`);
    ok(error.message.includes(message), error.message);
    ok(error.message.includes("127.0.0.1:"), "the error names the peer");
  }
});

Deno.test("mseAccept() rejects garbage once the sync window has passed", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  using sender = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const garbage = randomBytes(96 + 4096);
  garbage[0] = 0x7f; // a key below P
  const sending = writeAll(sender, garbage).catch(() => {});
  const conn = await listener.accept();
  await rejects(
    mseAccept(conn, new Uint8Array(0), { allow: "both", lookup: lookupOf(INFO_HASH) }),
    (e: Error) => e instanceof ProtocolError && e.message.includes("HASH('req1', S) not found"),
  );
  await sending;
});

Deno.test("mseAccept() refuses a plain BitTorrent handshake", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  using _client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const conn = await listener.accept();
  const plain = encodeHandshake({ infoHash: INFO_HASH, peerId: new Uint8Array(20) });
  await rejects(
    mseAccept(conn, plain, { allow: "both", lookup: lookupOf(INFO_HASH) }),
    ProtocolError,
  );
});

Deno.test("MSE handshakes end on timeout, on abort and on hang-up", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  // a peer that sends a few bytes and stalls
  using staller = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  await writeAll(staller, randomBytes(10));
  const stalled = await listener.accept();
  await rejects(
    mseAccept(stalled, new Uint8Array(0), {
      allow: "both",
      lookup: lookupOf(INFO_HASH),
      timeoutMs: 200,
    }),
    (e: Error) => e instanceof PeerError && e.message.includes("timed out after 200 ms"),
  );
  // the caller's signal
  const dialing = Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  using silent = await listener.accept();
  const controller = new AbortController();
  const pending = mseConnect(await dialing, {
    infoHash: INFO_HASH,
    allow: "both",
    signal: controller.signal,
  });
  setTimeout(() => controller.abort(new Error("stop now")), 50);
  await rejects(pending, /stop now/);
  // an already aborted signal, and a peer that hangs up
  const dialing2 = Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const hangup = await listener.accept();
  await rejects(
    mseConnect(await dialing2, { infoHash: INFO_HASH, allow: "both", signal: AbortSignal.abort() }),
  );
  hangup.close();
  const dialing3 = Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  (await listener.accept()).close();
  await rejects(
    mseConnect(await dialing3, { infoHash: INFO_HASH, allow: "both" }),
    (e: Error) =>
      e instanceof PeerError || e instanceof Deno.errors.ConnectionReset ||
      e instanceof Deno.errors.BrokenPipe,
  );
  silent.close();
});

Deno.test("mseConnect() checks its own arguments", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  using conn = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  using _server = await listener.accept();
  await rejects(mseConnect(conn, { infoHash: new Uint8Array(19), allow: "both" }), RangeError);
  await rejects(
    mseConnect(conn, { infoHash: INFO_HASH, allow: "both", initialPayload: new Uint8Array(65536) }),
    RangeError,
  );
});

Deno.test("MseConn streams, closeWrite and a tolerant close", async () => {
  const { client, server } = await runPair({ allow: "rc4" }, { allow: "rc4" });
  const a = fulfilled(client);
  const b = fulfilled(server).conn;
  a.setNoDelay(true);
  a.setKeepAlive(true);
  strictEqual((a.remoteAddr as Deno.NetAddr).port, (b.localAddr as Deno.NetAddr).port);
  const writer = a.writable.getWriter();
  await writer.write(text("stream "));
  await writer.write(text("bytes"));
  await a.closeWrite();
  const chunks: Uint8Array[] = [];
  for await (const chunk of b.readable) chunks.push(chunk);
  strictEqual(new TextDecoder().decode(concat(...chunks)), "stream bytes");
  writer.releaseLock();
  a.close();
  a.close();
  b.close();
});
