// Fuzz target: mseConnect (src/peer/mse.ts), the initiating side of the MSE handshake, against
// a scripted receiver whose pad, VC, crypto_select, PadD and payload come from the mutated input,
// checked against a model of the protocol as in mse_accept_target.ts.
import { mseConnect } from "../../src/peer/mse.ts";
import { PeerError } from "../../src/peer/peer_error.ts";
import { encodeHandshake } from "../../src/wire/handshake.ts";
import {
  computeMseSecret,
  CRYPTO_RC4,
  deriveMseCiphers,
  encodeMsePublicKey,
  type MseAllow,
  mseCryptoBits,
} from "../../src/wire/mse_crypto.ts";
import { ProtocolError } from "../../src/wire/protocol_error.ts";
import { concat } from "./byte_mutations.ts";
import {
  type CaseOutcome,
  type FuzzTarget,
  invariant,
  invariantEqual,
  InvariantError,
} from "./fuzz_target.ts";
import { memoryConnPair } from "./memory_conn.ts";
import {
  badPublicKey,
  CONNECT_BODY,
  drain,
  encodeScript,
  parseScript,
  PEER_PRIVATE_KEY,
  type PeerScript,
  readCapOf,
  readExactly,
  scriptMutation,
  writeInPieces,
} from "./mse_fuzz_peer.ts";

/** Flag bits of the script's byte 0. */
const BAD_KEY = 0x01, WRONG_TORRENT = 0x04, STOP_AFTER_KEY = 0x08;

const INFO_HASH = new Uint8Array(20).map((_, i) => i * 5 + 3);
const OTHER_HASH = new Uint8Array(20).fill(0xdd);
const PUBLIC_KEY = encodeMsePublicKey(PEER_PRIVATE_KEY);

/** VC, crypto_select, len(PadD), PadD, then the payload. */
function body(select: number, padD: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(14 + padD + payload.length);
  const view = new DataView(out.buffer);
  view.setUint32(8, select);
  view.setUint16(12, padD);
  out.fill(0x77, 14, 14 + padD);
  out.set(payload, 14 + padD);
  return out;
}

function seeds(): Uint8Array[] {
  const handshake = encodeHandshake({ infoHash: INFO_HASH, peerId: new Uint8Array(20).fill(4) });
  return [
    encodeScript(0, new Uint8Array(0), body(2, 0, handshake)),
    encodeScript(0, new Uint8Array(100).fill(3), body(1, 20, handshake)),
    encodeScript(0, new Uint8Array(512).fill(8), body(2, 512, new Uint8Array(0))),
    encodeScript(0, new Uint8Array(1), body(1, 0, new Uint8Array([0, 0, 0, 0]))),
  ];
}

/** What the initiator must do with a script: refuse it, or select a method and deliver bytes. */
type Expected = { ok: false; why: string } | { ok: true; select: number; payloadAt: number };

function model(script: PeerScript, allow: MseAllow): Expected {
  const { flags, pad, body } = script;
  if (flags & STOP_AFTER_KEY) return { ok: false, why: "the peer stopped after its key" };
  if (flags & BAD_KEY) return { ok: false, why: "the peer's key is not g^x" };
  if (flags & WRONG_TORRENT) return { ok: false, why: "the peer keyed RC4 for another torrent" };
  if (pad.length > 512) return { ok: false, why: "PadB is over 512 bytes" };
  if (body.length < 14) return { ok: false, why: "the stream ends inside VC or crypto_select" };
  if (body.subarray(0, 8).some((b) => b !== 0)) return { ok: false, why: "VC is not zero" };
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const select = view.getUint32(8);
  if ((select !== 1 && select !== 2) || (select & mseCryptoBits(allow)) === 0) {
    return { ok: false, why: `crypto_select ${select} was not offered` };
  }
  const padD = view.getUint16(12);
  if (padD > 512) return { ok: false, why: "PadD is over 512 bytes" };
  if (body.length < 14 + padD) return { ok: false, why: "the stream ends inside PadD" };
  return { ok: true, select, payloadAt: 14 + padD };
}

/** `mseConnect` against a scripted receiver. */
export const mseConnectTarget: FuzzTarget = {
  name: "mse-connect",
  description: "mseConnect over an in-memory connection, the receiver's pad, VC, crypto_select, " +
    "PadD length and payload taken from the input (plus a spoiled key or torrent): only " +
    "PeerError or ProtocolError escapes, the handshake ends within the time limit once the " +
    "peer stops, and it succeeds exactly when a model of the protocol says it must, with the " +
    "selected method and the payload delivered intact",
  allowed: [PeerError, ProtocolError],
  profile: "binary",
  mutations: [[scriptMutation(CONNECT_BODY), 1]],
  corpus: seeds,
  async run(input, { rng, limitMs, mutated }): Promise<CaseOutcome> {
    const script = parseScript(input);
    const allow: MseAllow = mutated ? rng.pick(["both", "rc4", "plaintext"] as const) : "both";
    const expected = model(script, allow);
    const [ours, theirs] = memoryConnPair(readCapOf(rng), readCapOf(rng));
    const connecting = mseConnect(theirs, {
      infoHash: INFO_HASH,
      allow,
      timeoutMs: limitMs,
      initialPayload: rng.chance(0.5) ? new Uint8Array(rng.below(100)) : undefined,
    });
    let sent: Uint8Array = new Uint8Array(0);
    const peer = (async () => {
      const theirKey = await readExactly(ours, 96);
      if (!theirKey) return;
      const key = script.flags & BAD_KEY ? badPublicKey(script.param) : PUBLIC_KEY;
      if (script.flags & STOP_AFTER_KEY) {
        await writeInPieces(ours, concat(key, script.pad), rng);
        return;
      }
      const secret = computeMseSecret(PEER_PRIVATE_KEY, theirKey);
      const skey = script.flags & WRONG_TORRENT ? OTHER_HASH : INFO_HASH;
      const cipher = deriveMseCiphers(secret, skey, false).encrypt;
      // ENCRYPT(VC, crypto_select, len(PadD), PadD), then the payload: RC4 only when selected.
      const { body } = script;
      const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
      const select = body.length >= 12 ? view.getUint32(8) : 0;
      const headEnd = body.length >= 14
        ? Math.min(body.length, 14 + view.getUint16(12))
        : body.length;
      const head = cipher.process(body.slice(0, headEnd));
      const payload = select === CRYPTO_RC4
        ? cipher.process(body.slice(headEnd))
        : body.subarray(headEnd);
      sent = concat(head, payload);
      await writeInPieces(ours, concat(key, script.pad, sent), rng);
    })().finally(() => ours.closeWrite());
    let conn;
    try {
      conn = await connecting;
    } catch (error) {
      await peer;
      ours.close();
      if (error instanceof PeerError && /timed out/.test(error.message)) {
        throw new InvariantError(`mseConnect hung: ${error.message}`, { cause: error });
      }
      if (expected.ok && (error instanceof PeerError || error instanceof ProtocolError)) {
        throw new InvariantError(`mseConnect refused a valid handshake: ${error.message}`, {
          cause: error,
          rule: "mseConnect refused a valid handshake",
        });
      }
      throw error;
    }
    await peer;
    try {
      invariant(
        expected.ok,
        () => `mseConnect accepted although ${(expected as { why: string }).why}`,
      );
      invariant(
        conn.method === (expected.select === 2 ? "rc4" : "plaintext"),
        `method ${conn.method}, expected select ${expected.select}`,
      );
      const want = script.body.subarray(expected.payloadAt);
      invariantEqual(
        await drain(conn, want.length),
        want.slice(),
        "the payload after the handshake",
      );
      invariant(sent.length >= expected.payloadAt, "the peer sent less than the model read");
      return "accepted";
    } finally {
      conn.close();
      ours.close();
    }
  },
};
