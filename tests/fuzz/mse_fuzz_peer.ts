// Shared parts of the two MSE targets. The case input is a script for the fuzzing peer rather
// than raw bytes, because the real bytes depend on a Diffie-Hellman secret only known once the
// other side's key has arrived:
//
//   byte 0   flags: which secret-dependent part to spoil (see each target)
//   byte 1   a parameter for the flags (which bad key, which byte to flip, how much to pre-read)
//   byte 2-3 the length of the pad after our public key (big-endian), then that many pad bytes
//   rest     the plaintext that goes through RC4: VC, crypto field, pad length, pad, ...
//
// So the usual mutations land on the handshake's own fields: boundary integers on the crypto
// and length fields, a nonzero VC, truncation (the peer stops early), inserted or dropped bytes
// (lengths that disagree with what follows).
import { MSE_PRIME } from "../../src/wire/mse_crypto.ts";
import type { Mutation } from "./byte_mutations.ts";
import type { MemoryConn } from "./memory_conn.ts";
import type { Prng } from "./prng.ts";

/** The fuzzing peer's private key: fixed, so only the other side's key costs a modPow. */
export const PEER_PRIVATE_KEY = 0x1f2e3d4c5b6a79881726354453627180a9b8c7d6n;

/** A peer script taken apart. */
export interface PeerScript {
  /** Byte 0. */
  flags: number;
  /** Byte 1. */
  param: number;
  /** The pad after our public key. */
  pad: Uint8Array;
  /** The plaintext that goes through RC4 (and what follows it). */
  body: Uint8Array;
}

/**
 * Reads a script; a short input gives zero flags and empty parts.
 * @param input The case input.
 * @returns Its parts.
 */
export function parseScript(input: Uint8Array): PeerScript {
  const flags = input[0] ?? 0;
  const param = input[1] ?? 0;
  const padLength = input.length >= 4 ? (input[2] << 8) | input[3] : 0;
  const pad = input.subarray(4, 4 + padLength);
  return { flags, param, pad, body: input.subarray(Math.min(input.length, 4 + padLength)) };
}

/**
 * Writes a script.
 * @param flags Byte 0.
 * @param pad The pad after the public key.
 * @param body The RC4 plaintext and what follows.
 * @returns The script bytes.
 */
export function encodeScript(flags: number, pad: Uint8Array, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + pad.length + body.length);
  out[0] = flags;
  out[1] = 0;
  out[2] = pad.length >> 8;
  out[3] = pad.length & 0xff;
  out.set(pad, 4);
  out.set(body, 4 + pad.length);
  return out;
}

function bigIntBytes(n: bigint): Uint8Array {
  const out = new Uint8Array(96);
  for (let i = 95; i >= 0; i--) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return out;
}

/** Public keys outside [2, P-2] (refused) and on its edges (accepted). */
const BAD_KEYS: readonly bigint[] = [
  0n,
  1n,
  2n,
  MSE_PRIME - 2n,
  MSE_PRIME - 1n,
  MSE_PRIME,
  (1n << 768n) - 1n,
];

/**
 * A spoiled public key.
 * @param param Chooses which.
 * @returns 96 bytes.
 */
export function badPublicKey(param: number): Uint8Array {
  return bigIntBytes(BAD_KEYS[param % BAD_KEYS.length]);
}

/**
 * Reads exactly `length` bytes.
 * @param conn Our end.
 * @param length How many.
 * @returns The bytes, or `undefined` if the other side ended first.
 */
export async function readExactly(
  conn: MemoryConn,
  length: number,
): Promise<Uint8Array | undefined> {
  const out = new Uint8Array(length);
  for (let filled = 0; filled < length;) {
    const n = await conn.read(out.subarray(filled)).catch(() => null);
    if (n === null) return undefined;
    filled += n;
  }
  return out;
}

/**
 * Writes `bytes` in random-sized pieces, so the other side's reads split anywhere.
 * @param conn Our end.
 * @param bytes What to send.
 * @param rng The case's stream.
 * @returns False if the other side had closed.
 */
export async function writeInPieces(
  conn: MemoryConn,
  bytes: Uint8Array,
  rng: Prng,
): Promise<boolean> {
  for (let at = 0; at < bytes.length;) {
    const n = rng.chance(0.5) ? bytes.length - at : Math.min(bytes.length - at, rng.int(1, 200));
    try {
      await conn.write(bytes.subarray(at, at + n));
    } catch {
      return false;
    }
    at += n;
  }
  return true;
}

/**
 * A read cap for one end: whole chunks, or pieces of 1..100 bytes.
 * @param rng The case's stream.
 * @returns The cap function.
 */
export function readCapOf(rng: Prng): () => number {
  if (rng.chance(0.5)) return () => Infinity;
  const max = rng.pick([1, 7, 20, 100]);
  return () => rng.int(1, max);
}

/**
 * Reads what an established connection delivers until EOF, or a little past `expected` bytes.
 * @param conn The connection the handshake returned.
 * @param expected How many bytes should come.
 * @returns What came.
 */
export async function drain(conn: Deno.Conn, expected: number): Promise<Uint8Array> {
  const out = new Uint8Array(expected + 1);
  let filled = 0;
  const chunk = new Uint8Array(4096);
  while (filled <= expected) {
    const n = await conn.read(chunk);
    if (n === null) break;
    const take = Math.min(n, out.length - filled);
    out.set(chunk.subarray(0, take), filled);
    filled += take;
  }
  return out.subarray(0, filled);
}

/** One field of the RC4 plaintext: fixed bytes, a 32-bit crypto field, a 16-bit length and
 * the bytes it counts, or everything that follows. */
export type BodyField = "vc" | "u32" | "length" | "rest";

/** The plaintext of the initiator's step 3: VC, crypto_provide, PadC, IA, then the stream. */
export const ACCEPT_BODY: readonly BodyField[] = ["vc", "u32", "length", "length", "rest"];
/** The plaintext of the receiver's step 4: VC, crypto_select, PadD, then the stream. */
export const CONNECT_BODY: readonly BodyField[] = ["vc", "u32", "length", "rest"];

interface Part {
  field: BodyField;
  /** The 32-bit value, or the 16-bit length as sent. */
  value: number;
  /** The bytes: VC, what a length counts, or the rest. */
  bytes: Uint8Array;
}

function parseBody(body: Uint8Array, layout: readonly BodyField[]): Part[] {
  const parts: Part[] = [];
  let at = 0;
  for (const field of layout) {
    if (field === "vc") {
      if (at + 8 > body.length) break;
      parts.push({ field, value: 0, bytes: body.slice(at, at + 8) });
      at += 8;
    } else if (field === "u32") {
      if (at + 4 > body.length) break;
      parts.push({
        field,
        value: new DataView(body.buffer, body.byteOffset).getUint32(at),
        bytes: new Uint8Array(0),
      });
      at += 4;
    } else if (field === "length") {
      if (at + 2 > body.length) break;
      const value = (body[at] << 8) | body[at + 1];
      const end = Math.min(body.length, at + 2 + value);
      parts.push({ field, value, bytes: body.slice(at + 2, end) });
      at = end;
    } else {
      parts.push({ field, value: 0, bytes: body.slice(at) });
      at = body.length;
    }
  }
  return parts;
}

function encodeBody(parts: readonly Part[]): Uint8Array {
  const chunks: Uint8Array[] = [];
  for (const part of parts) {
    if (part.field === "u32") {
      const bytes = new Uint8Array(4);
      new DataView(bytes.buffer).setUint32(0, part.value >>> 0);
      chunks.push(bytes);
    } else if (part.field === "length") {
      chunks.push(new Uint8Array([part.value >> 8 & 0xff, part.value & 0xff]), part.bytes);
    } else chunks.push(part.bytes);
  }
  return concatAll(chunks);
}

function concatAll(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

const CRYPTO_VALUES: readonly number[] = [
  0,
  1,
  2,
  3,
  4,
  6,
  0xff,
  0x100,
  0x80000000,
  0x80000001,
  0x80000002,
  0xfffffffe,
  0xffffffff,
];
const LENGTHS: readonly number[] = [
  0,
  1,
  2,
  19,
  20,
  67,
  68,
  69,
  511,
  512,
  513,
  1024,
  0xfffe,
  0xffff,
];

function resized(bytes: Uint8Array, length: number, rng: Prng): Uint8Array {
  const out = new Uint8Array(length);
  out.set(bytes.subarray(0, length));
  if (length > bytes.length) out.fill(rng.below(256), bytes.length);
  return out;
}

/**
 * A mutation that edits the script's own fields: a flag, the parameter, the first pad (its
 * length alone or with its bytes), VC, the crypto field, a pad or IA length (alone or with its
 * bytes), or the stream after the handshake.
 * @param layout The fields of the RC4 plaintext.
 * @returns The mutation.
 */
export function scriptMutation(layout: readonly BodyField[]): Mutation {
  return (input, rng) => {
    const script = parseScript(input);
    let { flags, param, pad } = script;
    let padField = pad.length;
    const parts = parseBody(script.body, layout);
    switch (rng.below(5)) {
      case 0:
        flags ^= 1 << rng.below(6);
        param = rng.below(256);
        break;
      case 1: {
        const length = rng.pick([0, 1, 511, 512, 513, 700]);
        if (rng.chance(0.7)) pad = resized(pad, length, rng);
        padField = rng.chance(0.7) ? pad.length : length;
        break;
      }
      default: {
        if (parts.length === 0) return undefined;
        const part = rng.pick(parts);
        if (part.field === "vc") part.bytes[rng.below(8)] = rng.int(1, 255);
        else if (part.field === "u32") part.value = rng.pick(CRYPTO_VALUES);
        else if (part.field === "length") {
          const length = rng.pick(LENGTHS);
          part.value = length;
          if (rng.chance(0.6)) part.bytes = resized(part.bytes, length, rng);
        } else part.bytes = resized(part.bytes, rng.pick([0, 1, 68, 100]), rng);
        if (rng.chance(0.2)) parts.length = parts.indexOf(part) + (rng.chance(0.5) ? 1 : 0);
      }
    }
    const out = encodeScript(flags, pad, encodeBody(parts));
    out[1] = param;
    out[2] = padField >> 8;
    out[3] = padField & 0xff;
    return out;
  };
}
