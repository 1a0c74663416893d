// Fuzz target: mseAccept (src/peer/mse.ts), the receiving side of the MSE handshake, driven over
// an in-memory connection by a scripted initiator whose fields come from the mutated input. A
// small model of the protocol says whether each script must succeed, and with which payload:
// the handshake has to agree both ways (no crash, no hang, no wrongly refused or accepted peer).
import { mseAccept } from "../../src/peer/mse.ts";
import { PeerError } from "../../src/peer/peer_error.ts";
import { encodeHandshake } from "../../src/wire/handshake.ts";
import {
  computeMseSecret,
  deriveMseCiphers,
  encodeMsePublicKey,
  type MseAllow,
  mseMaskReq2Hash,
  mseReq1Hash,
  mseReq2Hash,
  selectMseCrypto,
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
  ACCEPT_BODY,
  badPublicKey,
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
const BAD_KEY = 0x01, BAD_REQ1 = 0x02, UNKNOWN_TORRENT = 0x04, STOP_AFTER_KEY = 0x08;
const PRE_READ = 0x10, PLAIN_HANDSHAKE = 0x20;
const PLAIN_HEADER = new TextEncoder().encode("\x13BitTorrent protocol");

const INFO_HASH = new Uint8Array(20).map((_, i) => i * 7 + 1);
const OTHER_HASH = new Uint8Array(20).fill(0xee);
const KNOWN = [INFO_HASH, new Uint8Array(20).fill(0x42)];
const PUBLIC_KEY = encodeMsePublicKey(PEER_PRIVATE_KEY);

function u16(n: number): number[] {
  return [n >> 8, n & 0xff];
}

/** VC, crypto_provide, len(PadC), PadC, len(IA), IA, then bytes after the handshake. */
function body(provide: number, padC: number, ia: Uint8Array, after: Uint8Array): Uint8Array {
  return new Uint8Array([
    ...new Uint8Array(8),
    0,
    0,
    0,
    provide,
    ...u16(padC),
    ...new Uint8Array(padC).fill(0x5a),
    ...u16(ia.length),
    ...ia,
    ...after,
  ]);
}

function seeds(): Uint8Array[] {
  const handshake = encodeHandshake({ infoHash: INFO_HASH, peerId: new Uint8Array(20).fill(3) });
  const have = new Uint8Array([0, 0, 0, 5, 4, 0, 0, 0, 1]);
  return [
    encodeScript(0, new Uint8Array(0), body(3, 0, handshake, have)),
    encodeScript(0, new Uint8Array(37).fill(9), body(2, 12, handshake, new Uint8Array(0))),
    encodeScript(0, new Uint8Array(512).fill(1), body(1, 512, new Uint8Array(0), have)),
    encodeScript(0, new Uint8Array(5), body(3, 0, new Uint8Array(0), new Uint8Array(0))),
  ];
}

/** What the receiver must do with a script: refuse it, or select a method and deliver bytes. */
type Expected =
  | { ok: false; why: string }
  | { ok: true; select: number; ia: Uint8Array; afterIa: number };

function model(script: PeerScript, allow: MseAllow): Expected {
  const { flags, pad, body } = script;
  if (flags & STOP_AFTER_KEY) return { ok: false, why: "the peer stopped after its key" };
  if (flags & PLAIN_HANDSHAKE) return { ok: false, why: "the peer sent a plain handshake" };
  if (flags & BAD_KEY) return { ok: false, why: "the peer's key is not g^x" };
  if (pad.length > 512) return { ok: false, why: "PadA is over 512 bytes" };
  if (flags & BAD_REQ1) return { ok: false, why: "HASH('req1', S) is wrong" };
  if (flags & UNKNOWN_TORRENT) return { ok: false, why: "the torrent is unknown" };
  if (body.length < 14) return { ok: false, why: "the stream ends inside VC" };
  if (body.subarray(0, 8).some((b) => b !== 0)) return { ok: false, why: "VC is not zero" };
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const provide = view.getUint32(8);
  const padC = view.getUint16(12);
  if (padC > 512) return { ok: false, why: "PadC is over 512 bytes" };
  if (body.length < 16 + padC) return { ok: false, why: "the stream ends inside PadC" };
  const iaLength = view.getUint16(14 + padC);
  if (body.length < 16 + padC + iaLength) return { ok: false, why: "the stream ends inside IA" };
  const select = selectMseCrypto(provide, allow);
  if (select === 0) return { ok: false, why: "no method in common" };
  const iaStart = 16 + padC;
  return {
    ok: true,
    select,
    ia: body.subarray(iaStart, iaStart + iaLength),
    afterIa: iaStart + iaLength,
  };
}

/** `mseAccept` against a scripted initiator. */
export const mseAcceptTarget: FuzzTarget = {
  name: "mse-accept",
  description: "mseAccept over an in-memory connection, the initiator's pad, VC, crypto_provide, " +
    "pad and IA lengths and IA taken from the input (plus a spoiled key, req1 hash or torrent): " +
    "only PeerError or ProtocolError escapes, the handshake ends within the time limit once " +
    "the peer stops, and it succeeds exactly when a model of the protocol says it must, with " +
    "the method selected from both sides' offers and IA plus the stream delivered intact",
  allowed: [PeerError, ProtocolError],
  profile: "binary",
  mutations: [[scriptMutation(ACCEPT_BODY), 1]],
  corpus: seeds,
  async run(input, { rng, limitMs, mutated }): Promise<CaseOutcome> {
    const script = parseScript(input);
    const allow: MseAllow = mutated ? rng.pick(["both", "rc4", "plaintext"] as const) : "both";
    const expected = model(script, allow);
    const [ours, theirs] = memoryConnPair(readCapOf(rng), readCapOf(rng));
    const key = script.flags & BAD_KEY ? badPublicKey(script.param) : PUBLIC_KEY.slice();
    if (script.flags & PLAIN_HANDSHAKE) key.set(PLAIN_HEADER);
    let first = concat(key, script.pad);
    let preRead = new Uint8Array(0);
    if (script.flags & PRE_READ) {
      const n = script.param % (first.length + 1);
      preRead = first.slice(0, n);
      first = first.subarray(n);
    }
    const accepting = mseAccept(theirs, preRead, {
      allow,
      timeoutMs: limitMs,
      lookup: (req2) => KNOWN.find((h) => mseReq2Hash(h).every((b, i) => b === req2[i])),
    });
    const peer = (async () => {
      if (!await writeInPieces(ours, first, rng)) return;
      if (script.flags & STOP_AFTER_KEY) return;
      const theirKey = await readExactly(ours, 96);
      if (!theirKey) return;
      const secret = computeMseSecret(PEER_PRIVATE_KEY, theirKey);
      const skey = script.flags & UNKNOWN_TORRENT ? OTHER_HASH : INFO_HASH;
      const req1 = mseReq1Hash(secret);
      if (script.flags & BAD_REQ1) req1[(script.param >> 3) % 20] ^= 1 << (script.param & 7);
      const sealed = deriveMseCiphers(secret, skey, true).encrypt.process(script.body.slice());
      await writeInPieces(
        ours,
        concat(req1, mseMaskReq2Hash(mseReq2Hash(skey), secret), sealed),
        rng,
      );
      return sealed;
    })().finally(() => ours.closeWrite());
    let result;
    try {
      result = await accepting;
    } catch (error) {
      await peer;
      ours.close();
      if (error instanceof PeerError && /timed out/.test(error.message)) {
        throw new InvariantError(`mseAccept hung: ${error.message}`, { cause: error });
      }
      if (expected.ok && (error instanceof PeerError || error instanceof ProtocolError)) {
        throw new InvariantError(`mseAccept refused a valid handshake: ${error.message}`, {
          cause: error,
          rule: "mseAccept refused a valid handshake",
        });
      }
      throw error;
    }
    const sealed = await peer;
    try {
      invariant(
        expected.ok,
        () => `mseAccept accepted although ${(expected as { why: string }).why}`,
      );
      invariantEqual(result.infoHash, INFO_HASH, "the info hash mseAccept found");
      invariant(
        result.conn.method === (expected.select === 2 ? "rc4" : "plaintext"),
        `method ${result.conn.method}, expected select ${expected.select}`,
      );
      // IA is always decrypted; what follows is the payload, RC4 or plain as selected.
      const after = expected.select === 2 ? script.body : sealed!;
      const want = concat(expected.ia, after.subarray(expected.afterIa));
      invariantEqual(await drain(result.conn, want.length), want, "the bytes after the handshake");
      return "accepted";
    } finally {
      result.conn.close();
      ours.close();
    }
  },
};
