// Generator of the 4-lane WebAssembly SIMD SHA-1 kernel (FIPS 180-4) used by sha1_batch.ts.
// It writes the module's bytes by hand (no wat2wasm here) and prints sha1_simd_wasm.ts, which
// holds them as base64 so `deno compile` and workers load them with a static import.
// Regenerate with: deno run --allow-write src/sha1/gen_sha1_simd.ts
// tests/sha1/gen_sha1_simd_test.ts checks that sha1_simd_wasm.ts holds exactly what this prints.
//
// The kernel: `blocks(p0, p1, p2, p3, n)` hashes n 64-byte blocks of four messages at once, lane
// k of every i32x4 value being message k, whose blocks start at address pk (each lane advances
// 64 bytes per block). The chaining state lives at address 0 as five i32x4 values (H0..H4, lane
// k = message k); `blocks` loads it, runs, and stores it back, so the caller may split a message
// over many calls. Memory is imported (`env.memory`), so the caller sizes it once, up front.
//
// Speed notes (measured on this machine, Deno 2.9 / V8 15; see bench/sha1_steady.ts):
// - Round constants are set into locals before the loop: a `v128.const` inside the rounds is
//   rebuilt by V8 at each use (about 20% slower).
// - Each 16-byte load is byte-swapped with a one-operand shuffle (or, in the relaxed variant, a
//   relaxed swizzle with the pattern in a local), then four loads (one per lane) are
//   transposed 4x4 with unpack-pattern shuffles. Folding the swap into the two-operand
//   shuffles was slower.
// - Ch is one bitselect, Maj is one bitselect on b ^ d, rotations are shl | shr_u.
// - Each round adds w + K and f into e before the rotation of a, so only the last add waits
//   for the previous round.

/** Options for {@linkcode generateSha1SimdModule}. */
export interface Sha1SimdModuleOptions {
  /** Byte-swap with `i8x16.relaxed_swizzle` (relaxed SIMD) instead of `i8x16.shuffle`. */
  relaxed?: boolean;
}

// Opcodes (WebAssembly core 2.0 and relaxed SIMD).
const OP = {
  block: 0x02,
  loop: 0x03,
  brIf: 0x0d,
  end: 0x0b,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  i32Const: 0x41,
  i32Eqz: 0x45,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  simd: 0xfd,
} as const;
const SIMD = {
  load: 0x00,
  store: 0x0b,
  const: 0x0c,
  shuffle: 0x0d,
  and: 0x4e,
  or: 0x50,
  xor: 0x51,
  bitselect: 0x52,
  i32x4Shl: 0xab,
  i32x4ShrU: 0xad,
  i32x4Add: 0xae,
  relaxedSwizzle: 0x100,
} as const;
const TYPE_I32 = 0x7f;
const TYPE_V128 = 0x7b;
const BLOCK_EMPTY = 0x40;

function unsignedLeb(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
}

function signedLeb(value: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = value & 0x7f;
    value >>= 7;
    if ((value === 0 && (byte & 0x40) === 0) || (value === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

function name(text: string): number[] {
  const bytes = [...new TextEncoder().encode(text)];
  return [...unsignedLeb(bytes.length), ...bytes];
}

function vector(items: number[][]): number[] {
  return [...unsignedLeb(items.length), ...items.flat()];
}

function section(id: number, body: number[]): number[] {
  return [id, ...unsignedLeb(body.length), ...body];
}

/** The bytes of a 16-lane shuffle that picks 32-bit words `words` of (x, y) (0-3 x, 4-7 y). */
function wordLanes(words: number[]): number[] {
  return words.flatMap((w) => [4 * w, 4 * w + 1, 4 * w + 2, 4 * w + 3]);
}

/** i32x4 value with every lane `value`, as 16 little-endian bytes. */
function splat(value: number): number[] {
  const bytes = new Uint8Array(16);
  const view = new DataView(bytes.buffer);
  for (let k = 0; k < 4; k++) view.setUint32(4 * k, value >>> 0, true);
  return [...bytes];
}

const ROUND_CONSTANTS = [0x5a827999, 0x6ed9eba1, 0x8f1bbcdc, 0xca62c1d6];
const BYTE_SWAP = [3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12];

/** Emits the instructions of the `blocks` function body, with its locals. */
class KernelBody {
  readonly code: number[] = [];
  #nextLocal = 5; // params: p0..p3 (0-3), n (4)
  #v128Count = 0;

  /** Declares a v128 local. */
  local(): number {
    this.#v128Count++;
    return this.#nextLocal++;
  }

  get localDeclarations(): number[] {
    return vector([[...unsignedLeb(this.#v128Count), TYPE_V128]]);
  }

  op(...bytes: number[]): this {
    this.code.push(...bytes);
    return this;
  }

  simd(opcode: number, ...immediates: number[]): this {
    return this.op(OP.simd, ...unsignedLeb(opcode), ...immediates);
  }

  get(local: number): this {
    return this.op(OP.localGet, ...unsignedLeb(local));
  }

  set(local: number): this {
    return this.op(OP.localSet, ...unsignedLeb(local));
  }

  tee(local: number): this {
    return this.op(OP.localTee, ...unsignedLeb(local));
  }

  i32(value: number): this {
    return this.op(OP.i32Const, ...signedLeb(value));
  }

  /** Leaves rotl(local, bits) (per 32-bit lane) on the stack. */
  rotl(local: number, bits: number): this {
    this.get(local).i32(bits).simd(SIMD.i32x4Shl);
    return this.get(local).i32(32 - bits).simd(SIMD.i32x4ShrU).simd(SIMD.or);
  }
}

/**
 * Builds the 4-lane SIMD SHA-1 kernel module (FIPS 180-4): it imports `env.memory` and
 * exports `blocks(p0, p1, p2, p3, n)`, which hashes `n` 64-byte blocks of four messages at
 * addresses p0..p3 into the state at address 0 (five i32x4 words H0..H4, lane k = message k).
 * @param options `relaxed` to byte-swap with the relaxed-SIMD swizzle.
 * @returns The module's bytes.
 * @example
 * ```ts
 * import { generateSha1SimdModule } from "./gen_sha1_simd.ts";
 * import { strictEqual } from "node:assert/strict";
 * strictEqual(WebAssembly.validate(generateSha1SimdModule()), true);
 * ```
 */
export function generateSha1SimdModule(
  options: Sha1SimdModuleOptions = {},
): Uint8Array<ArrayBuffer> {
  const relaxed = options.relaxed ?? false;
  const f = new KernelBody();
  const [p0, n] = [0, 4];
  const h = [0, 1, 2, 3, 4].map(() => f.local());
  const v = [0, 1, 2, 3, 4].map(() => f.local()); // a..e
  const w = Array.from({ length: 16 }, () => f.local());
  const k = ROUND_CONSTANTS.map(() => f.local());
  const r = [0, 1, 2, 3].map(() => f.local());
  const t = [0, 1, 2, 3].map(() => f.local());
  const x = f.local();
  const swap = relaxed ? f.local() : -1;

  // Constants into locals, before the loop.
  ROUND_CONSTANTS.forEach((value, i) => f.simd(SIMD.const, ...splat(value)).set(k[i]));
  if (relaxed) f.simd(SIMD.const, ...BYTE_SWAP).set(swap);
  // Load the state.
  h.forEach((local, i) => f.i32(0).simd(SIMD.load, 4, ...unsignedLeb(16 * i)).set(local));
  f.op(OP.block, BLOCK_EMPTY).get(n).op(OP.i32Eqz, OP.brIf, 0);
  f.op(OP.loop, BLOCK_EMPTY);
  h.forEach((local, i) => f.get(local).set(v[i]));

  const loadWords = (group: number): void => {
    // Lane k's four big-endian words 4*group..4*group+3, byte-swapped.
    for (let lane = 0; lane < 4; lane++) {
      f.get(p0 + lane).simd(SIMD.load, 0, ...unsignedLeb(16 * group));
      if (relaxed) f.get(swap).simd(SIMD.relaxedSwizzle);
      else f.tee(r[lane]).get(r[lane]).simd(SIMD.shuffle, ...BYTE_SWAP);
      f.set(r[lane]);
    }
    // Transpose: word j of every lane into w[4*group + j].
    f.get(r[0]).get(r[1]).simd(SIMD.shuffle, ...wordLanes([0, 4, 1, 5])).set(t[0]);
    f.get(r[0]).get(r[1]).simd(SIMD.shuffle, ...wordLanes([2, 6, 3, 7])).set(t[1]);
    f.get(r[2]).get(r[3]).simd(SIMD.shuffle, ...wordLanes([0, 4, 1, 5])).set(t[2]);
    f.get(r[2]).get(r[3]).simd(SIMD.shuffle, ...wordLanes([2, 6, 3, 7])).set(t[3]);
    const base = 4 * group;
    f.get(t[0]).get(t[2]).simd(SIMD.shuffle, ...wordLanes([0, 1, 4, 5])).set(w[base]);
    f.get(t[0]).get(t[2]).simd(SIMD.shuffle, ...wordLanes([2, 3, 6, 7])).set(w[base + 1]);
    f.get(t[1]).get(t[3]).simd(SIMD.shuffle, ...wordLanes([0, 1, 4, 5])).set(w[base + 2]);
    f.get(t[1]).get(t[3]).simd(SIMD.shuffle, ...wordLanes([2, 3, 6, 7])).set(w[base + 3]);
  };

  for (let round = 0; round < 80; round++) {
    const [a, b, c, d, e] = [0, 1, 2, 3, 4].map((i) => v[(((i - round) % 5) + 5) % 5]);
    const j = round % 16;
    if (round < 16) {
      if (j % 4 === 0) loadWords(j / 4);
    } else {
      f.get(w[(round - 3) % 16]).get(w[(round - 8) % 16]).simd(SIMD.xor);
      f.get(w[(round - 14) % 16]).simd(SIMD.xor).get(w[j]).simd(SIMD.xor).tee(x);
      f.i32(1).simd(SIMD.i32x4Shl).get(x).i32(31).simd(SIMD.i32x4ShrU).simd(SIMD.or).set(w[j]);
    }
    // e += w + K + f(b, c, d) + rotl(a, 5); b = rotl(b, 30).
    f.get(e).get(w[j]).simd(SIMD.i32x4Add).get(k[Math.floor(round / 20)]).simd(SIMD.i32x4Add);
    if (round < 20) {
      f.get(c).get(d).get(b).simd(SIMD.bitselect); // Ch: b ? c : d
    } else if (round >= 40 && round < 60) {
      f.get(c).get(b).get(b).get(d).simd(SIMD.xor).simd(SIMD.bitselect); // Maj: b ^ d ? c : b
    } else {
      f.get(b).get(c).simd(SIMD.xor).get(d).simd(SIMD.xor); // Parity
    }
    f.simd(SIMD.i32x4Add).rotl(a, 5).simd(SIMD.i32x4Add).set(e);
    f.rotl(b, 30).set(b);
  }
  h.forEach((local, i) => f.get(local).get(v[i]).simd(SIMD.i32x4Add).set(local));
  for (let lane = 0; lane < 4; lane++) {
    f.get(p0 + lane).i32(64).op(OP.i32Add).set(p0 + lane);
  }
  f.get(n).i32(1).op(OP.i32Sub).tee(n).op(OP.brIf, 0);
  f.op(OP.end, OP.end); // loop, block
  h.forEach((local, i) => f.i32(0).get(local).simd(SIMD.store, 4, ...unsignedLeb(16 * i)));
  f.op(OP.end);

  const body = [...f.localDeclarations, ...f.code];
  // (i32, i32, i32, i32, i32) -> ()
  const blocksType = [0x60, ...vector([0, 1, 2, 3, 4].map(() => [TYPE_I32])), ...vector([])];
  const bytes = [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // "\0asm", version 1
    ...section(1, vector([blocksType])), // types
    ...section(2, vector([[...name("env"), ...name("memory"), 0x02, 0x00, 0x01]])), // memory
    ...section(3, vector([[0]])), // one function of type 0
    ...section(7, vector([[...name("blocks"), 0x00, 0]])), // export function 0
    ...section(10, vector([[...unsignedLeb(body.length), ...body]])), // its code
  ];
  return new Uint8Array(bytes);
}

function base64Lines(bytes: Uint8Array): string[] {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  const text = btoa(binary);
  const lines: string[] = [];
  for (let at = 0; at < text.length; at += 88) lines.push(`  "${text.slice(at, at + 88)}",`);
  return lines;
}

/**
 * Prints sha1_simd_wasm.ts: the plain-SIMD and the relaxed-SIMD kernel modules as base64.
 * @returns The TypeScript text, ending with a newline.
 * @example
 * ```ts
 * import { generateSha1SimdSource } from "./gen_sha1_simd.ts";
 * import { ok } from "node:assert/strict";
 * ok(generateSha1SimdSource().includes("export const SHA1_SIMD_WASM_BASE64"));
 * ```
 */
export function generateSha1SimdSource(): string {
  return [
    "// Generated by gen_sha1_simd.ts: do not edit. Regenerate with",
    "// deno run --allow-write src/sha1/gen_sha1_simd.ts",
    "",
    "/** The 4-lane SIMD SHA-1 kernel (WebAssembly SIMD128), as base64. */",
    "export const SHA1_SIMD_WASM_BASE64: string = [",
    ...base64Lines(generateSha1SimdModule()),
    '].join("");',
    "",
    "/** The same kernel byte-swapping with the relaxed-SIMD swizzle, as base64. */",
    "export const SHA1_SIMD_RELAXED_WASM_BASE64: string = [",
    ...base64Lines(generateSha1SimdModule({ relaxed: true })),
    '].join("");',
    "",
  ].join("\n");
}

if (import.meta.main) {
  await Deno.writeTextFile(
    new URL("./sha1_simd_wasm.ts", import.meta.url),
    generateSha1SimdSource(),
  );
}
