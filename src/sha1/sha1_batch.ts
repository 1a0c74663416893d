// SHA-1 of up to four messages at once on the 4-lane WebAssembly SIMD kernel (lane k = message
// k; see gen_sha1_simd.ts), with the JS SHA-1 of sha1.ts for what the lanes cannot share and
// wherever WebAssembly SIMD is missing.
//
// Speed notes (measured on this machine, Deno 2.9 / V8 15; bench/sha1_steady.ts):
// - Four equal messages in lockstep run at about 2.1 GB/s on one core, close to node:crypto;
//   the JS SHA-1 runs at about 1.1 GB/s. One SIMD lane alone is half as fast as JS, two
//   about equal, so lanes go in lockstep only while at least three have whole blocks left.
// - V8 never moves a running call to its optimised tier, so the kernel is called for at most
//   1024 blocks (64 KiB) per lane, and the first instance warms it up once (one such call makes
//   V8 optimise it in the background; until then it runs at about half speed).
// - Copying input into WebAssembly memory costs about 5% of the hashing time. The copy goes
//   in 64 KiB steps per lane (it stays in cache); callers that can write their bytes straight
//   into a lane slot (`slot`, `hashSlots`) skip it. The memory never grows, so slot views stay
//   valid for the life of the instance.

import { Sha1, sha1 } from "./sha1.ts";
import { SHA1_SIMD_RELAXED_WASM_BASE64, SHA1_SIMD_WASM_BASE64 } from "./sha1_simd_wasm.ts";

/** Number of messages the SIMD kernel hashes at once. */
export const SHA1_LANES = 4;

/** Default and smallest {@linkcode Sha1BatchOptions.slotBytes}: 64 KiB. */
export const MIN_SHA1_SLOT_BYTES = 64 * 1024;

/** Largest {@linkcode Sha1BatchOptions.slotBytes}: 256 MiB (four slots fill 1 GiB). */
export const MAX_SHA1_SLOT_BYTES = 256 * 1024 * 1024;

const BLOCK_BYTES = 64;
const CALL_BLOCKS = 1024;
/** Lanes with whole blocks left below which the JS SHA-1 is at least as fast. */
const MIN_LOCKSTEP_LANES = 3;
/** Bytes before the first slot: the kernel's state (5 x 16 bytes) at address 0. */
const SLOTS_START = 256;
const PAGE_BYTES = 65536;
const INITIAL_STATE = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0];

type BlocksFunction = (p0: number, p1: number, p2: number, p3: number, n: number) => void;

let kernelModule: WebAssembly.Module | null | undefined;
let warmedUp = false;

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** The compiled kernel (relaxed SIMD where supported), or `null` without WebAssembly SIMD. */
function loadKernel(): WebAssembly.Module | null {
  if (kernelModule !== undefined) return kernelModule;
  kernelModule = null;
  if (typeof WebAssembly !== "object" || typeof WebAssembly.validate !== "function") return null;
  for (const base64 of [SHA1_SIMD_RELAXED_WASM_BASE64, SHA1_SIMD_WASM_BASE64]) {
    const bytes = decodeBase64(base64);
    let valid = false;
    try {
      valid = WebAssembly.validate(bytes);
    } catch {
      valid = false;
    }
    if (valid) {
      kernelModule = new WebAssembly.Module(bytes);
      break;
    }
  }
  return kernelModule;
}

/**
 * Whether this runtime has WebAssembly SIMD128, so {@linkcode Sha1Batch} (and
 * {@linkcode sha1Many}) hash four messages at once; without it they use the JS SHA-1.
 * @returns `true` when the SIMD kernel can run.
 * @example
 * ```ts
 * import { hasSha1Simd } from "@shoal/shoal/sha1";
 * import { strictEqual } from "node:assert/strict";
 * strictEqual(typeof hasSha1Simd(), "boolean");
 * ```
 */
export function hasSha1Simd(): boolean {
  return loadKernel() !== null;
}

/** Options for {@linkcode Sha1Batch}. */
export interface Sha1BatchOptions {
  /**
   * Bytes of each of the four lane slots ({@linkcode Sha1Batch.slot}): the longest message
   * {@linkcode Sha1Batch.hashSlots} can hash in place, e.g. the torrent's piece length.
   * Rounded up to a multiple of 64; at least {@linkcode MIN_SHA1_SLOT_BYTES} (the default) and
   * at most {@linkcode MAX_SHA1_SLOT_BYTES}. Four slots are allocated up front.
   */
  slotBytes?: number;
  /** `false` hashes with the JS SHA-1 even where WebAssembly SIMD exists (default `true`). */
  simd?: boolean;
}

/**
 * SHA-1 (FIPS 180-4) of up to four messages at once, e.g. the equal-length pieces of one
 * torrent (BEP 3), in the four 32-bit lanes of WebAssembly SIMD. Equal lengths go in lockstep
 * all the way; with unequal lengths the shared whole blocks go in lockstep and the rest of each
 * message on the JS SHA-1. Without WebAssembly SIMD (or with `simd: false`) every message goes
 * through the JS SHA-1, so the results are the same everywhere.
 *
 * Two ways in: {@linkcode Sha1Batch.hashMany} copies any messages in, 64 KiB at a time; or a
 * caller writes up to four messages straight into the lane slots ({@linkcode Sha1Batch.slot})
 * and calls {@linkcode Sha1Batch.hashSlots}, which hashes them in place without a copy. Not
 * safe to share between concurrent users of the slots (one instance per thread or task).
 * @example
 * ```ts
 * import { encodeHex } from "@shoal/shoal/bytes";
 * import { Sha1Batch } from "@shoal/shoal/sha1";
 * import { deepStrictEqual } from "node:assert/strict";
 * const batch = new Sha1Batch();
 * const text = (s: string) => new TextEncoder().encode(s);
 * deepStrictEqual(batch.hashMany([text("abc"), text("")]).map(encodeHex), [
 *   "a9993e364706816aba3e25717850c26c9cd0d89d",
 *   "da39a3ee5e6b4b0d3255bfef95601890afd80709",
 * ]);
 * ```
 */
export class Sha1Batch {
  readonly #slotBytes: number;
  readonly #slots: Uint8Array[];
  readonly #blocks: BlocksFunction | undefined;
  readonly #memory: Uint8Array | undefined;
  readonly #words: Int32Array | undefined;

  /**
   * Allocates the four lane slots (in WebAssembly memory when SIMD is used).
   * @param options `slotBytes` and `simd`.
   * @throws {RangeError} If `slotBytes` is not a positive integer up to
   *   {@linkcode MAX_SHA1_SLOT_BYTES}, or the memory cannot be allocated.
   * @example
   * ```ts
   * import { hasSha1Simd, Sha1Batch } from "@shoal/shoal/sha1";
   * import { strictEqual } from "node:assert/strict";
   * const batch = new Sha1Batch({ slotBytes: 1 << 20 });
   * strictEqual(batch.slotBytes, 1 << 20);
   * strictEqual(batch.simd, hasSha1Simd());
   * ```
   */
  constructor(options: Sha1BatchOptions = {}) {
    const requested = options.slotBytes ?? MIN_SHA1_SLOT_BYTES;
    if (!Number.isSafeInteger(requested) || requested <= 0 || requested > MAX_SHA1_SLOT_BYTES) {
      throw new RangeError(
        `Cannot create Sha1Batch: slotBytes ${requested} is not an integer from 1 to ${MAX_SHA1_SLOT_BYTES}`,
      );
    }
    const slotBytes = Math.max(
      MIN_SHA1_SLOT_BYTES,
      Math.ceil(requested / BLOCK_BYTES) * BLOCK_BYTES,
    );
    this.#slotBytes = slotBytes;
    const kernel = options.simd === false ? null : loadKernel();
    if (kernel === null) {
      this.#slots = Array.from({ length: SHA1_LANES }, () => new Uint8Array(slotBytes));
      return;
    }
    const pages = Math.ceil((SLOTS_START + SHA1_LANES * slotBytes) / PAGE_BYTES);
    const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
    const instance = new WebAssembly.Instance(kernel, { env: { memory } });
    this.#blocks = instance.exports.blocks as BlocksFunction;
    this.#memory = new Uint8Array(memory.buffer);
    this.#words = new Int32Array(memory.buffer, 0, SLOTS_START / 4);
    this.#slots = Array.from(
      { length: SHA1_LANES },
      (_, lane) => new Uint8Array(memory.buffer, this.#slotOffset(lane), slotBytes),
    );
    if (!warmedUp) {
      // One full-size call makes V8 optimise the kernel in the background (see the notes above).
      warmedUp = true;
      const p = SLOTS_START;
      this.#blocks(p, p, p, p, Math.min(CALL_BLOCKS, slotBytes / BLOCK_BYTES));
    }
  }

  /** Whether the WebAssembly SIMD kernel is in use (else the JS SHA-1). */
  get simd(): boolean {
    return this.#blocks !== undefined;
  }

  /** Bytes each lane slot holds. */
  get slotBytes(): number {
    return this.#slotBytes;
  }

  /**
   * The slot of one lane: `slotBytes` bytes the caller may fill (e.g. receive a piece's blocks
   * into) before {@linkcode Sha1Batch.hashSlots}. The same view every time; it stays valid for
   * the life of this instance (the memory never grows).
   * @param lane 0 to 3.
   * @returns The lane's bytes.
   * @throws {RangeError} If `lane` is not 0, 1, 2 or 3.
   * @example
   * ```ts
   * import { Sha1Batch } from "@shoal/shoal/sha1";
   * import { strictEqual } from "node:assert/strict";
   * const batch = new Sha1Batch();
   * strictEqual(batch.slot(2), batch.slot(2));
   * strictEqual(batch.slot(0).length, batch.slotBytes);
   * ```
   */
  slot(lane: number): Uint8Array {
    const slot = this.#slots[lane];
    if (!Number.isInteger(lane) || slot === undefined) {
      throw new RangeError(`Cannot get Sha1Batch slot: lane ${lane} is not 0 to 3`);
    }
    return slot;
  }

  /**
   * Hashes the first `lengths[k]` bytes of slot k, for k below `lengths.length`, in place.
   * @param lengths One to four lengths, each at most `slotBytes`.
   * @returns The 20-byte digests, in lane order.
   * @throws {RangeError} If there are no lengths or more than four, or a length does not fit.
   * @example
   * ```ts
   * import { encodeHex } from "@shoal/shoal/bytes";
   * import { Sha1Batch } from "@shoal/shoal/sha1";
   * import { strictEqual } from "node:assert/strict";
   * const batch = new Sha1Batch();
   * batch.slot(0).set(new TextEncoder().encode("abc"));
   * batch.slot(1).set(new TextEncoder().encode("abcd"));
   * const [a, b] = batch.hashSlots([3, 3]);
   * strictEqual(encodeHex(a), "a9993e364706816aba3e25717850c26c9cd0d89d");
   * strictEqual(encodeHex(b), encodeHex(a));
   * ```
   */
  hashSlots(lengths: readonly number[]): Uint8Array[] {
    if (lengths.length < 1 || lengths.length > SHA1_LANES) {
      throw new RangeError(`Cannot hash Sha1Batch slots: ${lengths.length} lengths, not 1 to 4`);
    }
    const messages = lengths.map((length, lane) => {
      if (!Number.isSafeInteger(length) || length < 0 || length > this.#slotBytes) {
        throw new RangeError(
          `Cannot hash Sha1Batch slots: length ${length} of lane ${lane} is not 0 to ${this.#slotBytes}`,
        );
      }
      return this.#slots[lane].subarray(0, length);
    });
    return this.#hashGroup(messages, true);
  }

  /**
   * Hashes any number of messages, four at a time in the order given (put equal lengths
   * together for speed). The messages are read during the call and not kept.
   * @param messages The inputs (any views, including subarrays and shared memory).
   * @returns Their 20-byte digests, in the same order.
   * @example
   * ```ts
   * import { sha1, Sha1Batch } from "@shoal/shoal/sha1";
   * import { deepStrictEqual } from "node:assert/strict";
   * const pieces = [1, 2, 3, 4, 5].map((n) => new Uint8Array(1000).fill(n));
   * deepStrictEqual(new Sha1Batch().hashMany(pieces), pieces.map((piece) => sha1(piece)));
   * ```
   */
  hashMany(messages: readonly Uint8Array[]): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (let at = 0; at < messages.length; at += SHA1_LANES) {
      out.push(...this.#hashGroup(messages.slice(at, at + SHA1_LANES), false));
    }
    return out;
  }

  #slotOffset(lane: number): number {
    return SLOTS_START + lane * this.#slotBytes;
  }

  /** Hashes 1-4 messages; `inSlots` says they are already the slot views of their lanes. */
  #hashGroup(messages: readonly Uint8Array[], inSlots: boolean): Uint8Array[] {
    const count = messages.length;
    const blocks = this.#blocks;
    const memory = this.#memory;
    const words = this.#words;
    if (blocks === undefined || memory === undefined || words === undefined) {
      return messages.map((message) => sha1(message));
    }
    const wholeBlocks = messages.map((message) => Math.floor(message.length / BLOCK_BYTES));
    const states: (Int32Array | undefined)[] = new Array(count);
    const resumeAt = new Array<number>(count).fill(0);
    for (let j = 0; j < 5; j++) {
      for (let lane = 0; lane < SHA1_LANES; lane++) words[4 * j + lane] = INITIAL_STATE[j];
    }
    const saveState = (lane: number, done: number): void => {
      const state = new Int32Array(5);
      for (let j = 0; j < 5; j++) state[j] = words[4 * j + lane];
      states[lane] = state;
      resumeAt[lane] = done * BLOCK_BYTES;
    };
    const pointers = [0, 0, 0, 0];
    let done = 0;
    for (;;) {
      // Lanes without whole blocks left keep the state they reached (later stages overwrite it).
      const active: number[] = [];
      for (let lane = 0; lane < count; lane++) {
        if (wholeBlocks[lane] > done) active.push(lane);
        else if (states[lane] === undefined) saveState(lane, done);
      }
      if (active.length < MIN_LOCKSTEP_LANES) break;
      let stageEnd = Infinity;
      for (const lane of active) stageEnd = Math.min(stageEnd, wholeBlocks[lane]);
      while (done < stageEnd) {
        const n = Math.min(CALL_BLOCKS, stageEnd - done);
        for (let lane = 0; lane < SHA1_LANES; lane++) {
          // An idle lane re-hashes an active lane's bytes; its state is thrown away.
          const source = lane < count && wholeBlocks[lane] > done ? lane : active[0];
          if (inSlots) {
            pointers[lane] = this.#slotOffset(source) + done * BLOCK_BYTES;
          } else {
            pointers[lane] = this.#slotOffset(source);
            if (source === lane) {
              const from = done * BLOCK_BYTES;
              memory.set(messages[lane].subarray(from, from + n * BLOCK_BYTES), pointers[lane]);
            }
          }
        }
        blocks(pointers[0], pointers[1], pointers[2], pointers[3], n);
        done += n;
      }
    }
    // The rest of every lane (the tail, or all of a lane that had too little company).
    const digests: Uint8Array[] = [];
    for (let lane = 0; lane < count; lane++) {
      if (states[lane] === undefined) saveState(lane, done);
      const from = resumeAt[lane];
      const hash = Sha1.fromState(states[lane] as Int32Array, from);
      digests.push(hash.update(messages[lane].subarray(from)).digest());
    }
    return digests;
  }
}

let shared: Sha1Batch | undefined;

/**
 * SHA-1 of many messages, four at a time on the SIMD kernel where it exists (one shared
 * {@linkcode Sha1Batch}); equal to `messages.map(sha1)`.
 * @param messages The inputs; put equal lengths together for speed.
 * @returns Their 20-byte digests, in the same order.
 * @example
 * ```ts
 * import { encodeHex } from "@shoal/shoal/bytes";
 * import { sha1Many } from "@shoal/shoal/sha1";
 * import { strictEqual } from "node:assert/strict";
 * const [digest] = sha1Many([new TextEncoder().encode("abc")]);
 * strictEqual(encodeHex(digest), "a9993e364706816aba3e25717850c26c9cd0d89d");
 * ```
 */
export function sha1Many(messages: readonly Uint8Array[]): Uint8Array[] {
  shared ??= new Sha1Batch();
  return shared.hashMany(messages);
}
