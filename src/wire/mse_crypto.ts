// Message Stream Encryption (MSE, also "Protocol Encryption"), the obfuscation layer of the
// Vuze/libtorrent specification: a 768-bit Diffie-Hellman exchange, SHA-1 derived keys and RC4.
// Pure: bytes in, bytes out. The handshakes over a socket live in src/peer/mse.ts.

import { sha1 } from "../sha1/sha1.ts";
import { ProtocolError } from "./protocol_error.ts";

/** The MSE Diffie-Hellman prime P (768 bits, the Oakley group 1 prime). */
export const MSE_PRIME: bigint = BigInt(
  "0xFFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A63A36210000000000090563",
);
/** The MSE Diffie-Hellman generator G. */
export const MSE_GENERATOR: bigint = 2n;
/** Length of an encoded MSE public key (and of the shared secret S): 768 bits. */
export const MSE_KEY_BYTES = 96;
/** Length of an MSE private key: 160 bits. */
export const MSE_PRIVATE_KEY_BYTES = 20;
/** Longest padding (PadA, PadB, PadC, PadD) the specification allows. */
export const MSE_MAX_PAD_BYTES = 512;
/** Length of the verification constant VC (8 zero bytes). */
export const MSE_VC_BYTES = 8;
/** RC4 keystream bytes both sides discard before use. */
export const MSE_RC4_DISCARD_BYTES = 1024;
/** `crypto_provide` / `crypto_select` bit: plaintext after the MSE header. */
export const CRYPTO_PLAINTEXT = 0x01;
/** `crypto_provide` / `crypto_select` bit: RC4 for the whole stream. */
export const CRYPTO_RC4 = 0x02;

/** Which payload methods a side accepts after the MSE handshake. */
export type MseAllow = "plaintext" | "rc4" | "both";

/**
 * The `crypto_provide` bits for a policy.
 * @param allow The accepted methods.
 * @returns {@linkcode CRYPTO_PLAINTEXT}, {@linkcode CRYPTO_RC4} or both ORed.
 * @example
 * ```ts
 * import { mseCryptoBits } from "@shoal/shoal/wire";
 * import { strictEqual } from "node:assert/strict";
 * strictEqual(mseCryptoBits("both"), 0x03);
 * ```
 */
export function mseCryptoBits(allow: MseAllow): number {
  if (allow === "plaintext") return CRYPTO_PLAINTEXT;
  if (allow === "rc4") return CRYPTO_RC4;
  return CRYPTO_PLAINTEXT | CRYPTO_RC4;
}

/**
 * The receiver's `crypto_select`: plaintext when both sides accept it (the handshake is
 * already obfuscated, and RC4 only costs CPU, as libtorrent also decides), else RC4.
 * @param provide The initiator's `crypto_provide` bits.
 * @param allow The receiver's policy.
 * @returns One bit, or 0 when there is no common method.
 * @example
 * ```ts
 * import { selectMseCrypto } from "@shoal/shoal/wire";
 * import { strictEqual } from "node:assert/strict";
 * strictEqual(selectMseCrypto(0x03, "both"), 0x01);
 * strictEqual(selectMseCrypto(0x03, "rc4"), 0x02);
 * strictEqual(selectMseCrypto(0x02, "plaintext"), 0);
 * ```
 */
export function selectMseCrypto(provide: number, allow: MseAllow): number {
  const common = provide & mseCryptoBits(allow);
  if (common & CRYPTO_PLAINTEXT) return CRYPTO_PLAINTEXT;
  return common & CRYPTO_RC4;
}

/**
 * `base ** exponent % modulus` by square-and-multiply.
 * @param base The base.
 * @param exponent A non-negative exponent.
 * @param modulus A positive modulus.
 * @returns The result, in `[0, modulus)`.
 * @example
 * ```ts
 * import { modPow } from "./mse_crypto.ts";
 * import { strictEqual } from "node:assert/strict";
 * strictEqual(modPow(4n, 13n, 497n), 445n);
 * ```
 */
export function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  if (modulus === 1n) return 0n;
  let result = 1n;
  let b = ((base % modulus) + modulus) % modulus;
  let e = exponent;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % modulus;
    b = (b * b) % modulus;
    e >>= 1n;
  }
  return result;
}

function bytesToBigInt(bytes: Uint8Array): bigint {
  let n = 0n;
  for (const byte of bytes) n = (n << 8n) | BigInt(byte);
  return n;
}

function bigIntToBytes(n: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return out;
}

/**
 * A fresh random 160-bit MSE private key (X), from `crypto.getRandomValues`.
 * @returns A non-zero key.
 * @example
 * ```ts
 * import { generateMsePrivateKey } from "@shoal/shoal/wire";
 * import { ok } from "node:assert/strict";
 * ok(generateMsePrivateKey() < 1n << 160n);
 * ```
 */
export function generateMsePrivateKey(): bigint {
  while (true) {
    const key = bytesToBigInt(crypto.getRandomValues(new Uint8Array(MSE_PRIVATE_KEY_BYTES)));
    if (key > 1n) return key;
  }
}

/**
 * The public key `Y = G^X mod P`, as 96 big-endian bytes (zero-padded on the left).
 * @param privateKey Our private key X.
 * @returns The 96-byte public key to send.
 * @example
 * ```ts
 * import { encodeMsePublicKey } from "@shoal/shoal/wire";
 * import { strictEqual } from "node:assert/strict";
 * const key = encodeMsePublicKey(5n); // 2^5 = 32
 * strictEqual(key.length, 96);
 * strictEqual(key[95], 32);
 * ```
 */
export function encodeMsePublicKey(privateKey: bigint): Uint8Array {
  return bigIntToBytes(modPow(MSE_GENERATOR, privateKey, MSE_PRIME), MSE_KEY_BYTES);
}

/**
 * The shared secret `S = Y_theirs^X mod P`, as 96 big-endian bytes.
 * @param privateKey Our private key X.
 * @param theirPublicKey The peer's 96-byte public key.
 * @returns S, 96 bytes.
 * @throws {ProtocolError} If the key is not 96 bytes or not in `[2, P-2]` (a degenerate key
 *   would make S guessable).
 * @example
 * ```ts
 * import { computeMseSecret, encodeMsePublicKey, generateMsePrivateKey } from "@shoal/shoal/wire";
 * import { deepStrictEqual } from "node:assert/strict";
 * const a = generateMsePrivateKey();
 * const b = generateMsePrivateKey();
 * deepStrictEqual(
 *   computeMseSecret(a, encodeMsePublicKey(b)),
 *   computeMseSecret(b, encodeMsePublicKey(a)),
 * );
 * ```
 */
export function computeMseSecret(privateKey: bigint, theirPublicKey: Uint8Array): Uint8Array {
  if (theirPublicKey.length !== MSE_KEY_BYTES) {
    throw new ProtocolError(
      `Cannot use MSE public key: ${theirPublicKey.length} bytes instead of ${MSE_KEY_BYTES}`,
    );
  }
  const y = bytesToBigInt(theirPublicKey);
  if (y < 2n || y > MSE_PRIME - 2n) {
    throw new ProtocolError("Cannot use MSE public key: outside [2, P-2]");
  }
  return bigIntToBytes(modPow(y, privateKey, MSE_PRIME), MSE_KEY_BYTES);
}

/**
 * The RC4 stream cipher. Encrypting and decrypting are the same operation; each call continues
 * the keystream where the last one stopped.
 * @example
 * ```ts
 * import { Rc4 } from "@shoal/shoal/wire";
 * import { deepStrictEqual } from "node:assert/strict";
 * const key = new TextEncoder().encode("Key");
 * const sealed = new Rc4(key).process(new TextEncoder().encode("Plaintext"));
 * deepStrictEqual([...sealed.subarray(0, 3)], [0xbb, 0xf3, 0x16]);
 * deepStrictEqual(new TextDecoder().decode(new Rc4(key).process(sealed)), "Plaintext");
 * ```
 */
export class Rc4 {
  #s = new Uint8Array(256);
  #i = 0;
  #j = 0;

  /**
   * Runs the key schedule.
   * @param key 1 to 256 bytes.
   * @throws {RangeError} If the key is empty or longer than 256 bytes.
   */
  constructor(key: Uint8Array) {
    if (key.length === 0 || key.length > 256) {
      throw new RangeError(`Cannot key RC4: ${key.length} key bytes (1..256 allowed)`);
    }
    const s = this.#s;
    for (let i = 0; i < 256; i++) s[i] = i;
    let j = 0;
    for (let i = 0; i < 256; i++) {
      const si = s[i];
      j = (j + si + key[i % key.length]) & 255;
      s[i] = s[j];
      s[j] = si;
    }
  }

  /**
   * XORs `input` with the next keystream bytes into `output` (in place by default).
   * @param input The bytes to encrypt or decrypt.
   * @param output Where to write; at least `input.length` bytes; `input` itself by default.
   * @returns The written part of `output`.
   * @throws {RangeError} If `output` is shorter than `input`.
   */
  process(input: Uint8Array, output: Uint8Array = input): Uint8Array {
    const length = input.length;
    if (output.length < length) {
      throw new RangeError(`Cannot run RC4: output ${output.length} < input ${length} bytes`);
    }
    const s = this.#s;
    let i = this.#i;
    let j = this.#j;
    for (let k = 0; k < length; k++) {
      i = (i + 1) & 255;
      const si = s[i];
      j = (j + si) & 255;
      const sj = s[j];
      s[i] = sj;
      s[j] = si;
      output[k] = input[k] ^ s[(si + sj) & 255];
    }
    this.#i = i;
    this.#j = j;
    return output.subarray(0, length);
  }
}

const ASCII = new TextEncoder();

function hashOf(label: string, ...parts: Uint8Array[]): Uint8Array {
  const head = ASCII.encode(label);
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, head.length));
  all.set(head);
  let offset = head.length;
  for (const part of parts) {
    all.set(part, offset);
    offset += part.length;
  }
  return sha1(all);
}

/** The two RC4 streams of one side of an MSE connection. */
export interface MseCiphers {
  /** Encrypts what this side sends. */
  encrypt: Rc4;
  /** Decrypts what this side receives. */
  decrypt: Rc4;
}

/**
 * The RC4 streams of one side: keyA = HASH('keyA', S, SKEY) encrypts initiator-to-receiver,
 * keyB = HASH('keyB', S, SKEY) the other way; the first 1024 keystream bytes are discarded.
 * @param secret S, 96 bytes.
 * @param infoHash SKEY, the torrent's 20-byte info hash.
 * @param initiator True for the side that opened the connection (A).
 * @returns This side's ciphers.
 * @example
 * ```ts
 * import { deriveMseCiphers } from "@shoal/shoal/wire";
 * import { deepStrictEqual } from "node:assert/strict";
 * const secret = new Uint8Array(96).fill(1);
 * const infoHash = new Uint8Array(20).fill(2);
 * const a = deriveMseCiphers(secret, infoHash, true);
 * const b = deriveMseCiphers(secret, infoHash, false);
 * const sent = a.encrypt.process(new Uint8Array([1, 2, 3]));
 * deepStrictEqual([...b.decrypt.process(sent)], [1, 2, 3]);
 * ```
 */
export function deriveMseCiphers(
  secret: Uint8Array,
  infoHash: Uint8Array,
  initiator: boolean,
): MseCiphers {
  const keyA = new Rc4(hashOf("keyA", secret, infoHash));
  const keyB = new Rc4(hashOf("keyB", secret, infoHash));
  const discard = new Uint8Array(MSE_RC4_DISCARD_BYTES);
  keyA.process(discard);
  keyB.process(discard.fill(0));
  return initiator ? { encrypt: keyA, decrypt: keyB } : { encrypt: keyB, decrypt: keyA };
}

/**
 * HASH('req1', S): the marker the receiver synchronises on after PadA.
 * @param secret S, 96 bytes.
 * @returns 20 bytes.
 * @example
 * ```ts
 * import { mseReq1Hash } from "@shoal/shoal/wire";
 * import { strictEqual } from "node:assert/strict";
 * strictEqual(mseReq1Hash(new Uint8Array(96)).length, 20);
 * ```
 */
export function mseReq1Hash(secret: Uint8Array): Uint8Array {
  return hashOf("req1", secret);
}

/**
 * HASH('req2', SKEY): what names a torrent in the MSE handshake. A receiver keeps these for its
 * torrents to find the one an incoming connection asks for.
 * @param infoHash The torrent's 20-byte info hash.
 * @returns 20 bytes.
 * @example
 * ```ts
 * import { mseReq2Hash } from "@shoal/shoal/wire";
 * import { notDeepStrictEqual } from "node:assert/strict";
 * notDeepStrictEqual(mseReq2Hash(new Uint8Array(20)), mseReq2Hash(new Uint8Array(20).fill(1)));
 * ```
 */
export function mseReq2Hash(infoHash: Uint8Array): Uint8Array {
  return hashOf("req2", infoHash);
}

/**
 * XORs 20 bytes with HASH('req3', S). Masks HASH('req2', SKEY) for sending, and unmasks the
 * received value again (XOR is its own inverse).
 * @param hash 20 bytes.
 * @param secret S, 96 bytes.
 * @returns A new 20-byte array.
 * @example
 * ```ts
 * import { mseMaskReq2Hash, mseReq2Hash } from "@shoal/shoal/wire";
 * import { deepStrictEqual } from "node:assert/strict";
 * const secret = new Uint8Array(96).fill(3);
 * const req2 = mseReq2Hash(new Uint8Array(20));
 * deepStrictEqual(mseMaskReq2Hash(mseMaskReq2Hash(req2, secret), secret), req2);
 * ```
 */
export function mseMaskReq2Hash(hash: Uint8Array, secret: Uint8Array): Uint8Array {
  const req3 = hashOf("req3", secret);
  return req3.map((byte, i) => byte ^ hash[i]);
}
