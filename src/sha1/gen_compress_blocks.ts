// Generator of `compressBlocks`, the unrolled scalar SHA-1 rounds at the end of sha1.ts.
// Regenerate with: deno run --allow-read --allow-write src/sha1/gen_compress_blocks.ts
// (it rewrites sha1.ts from the function's doc comment to the end of the file).
// tests/sha1/gen_compress_blocks_test.ts checks that sha1.ts holds exactly what this prints.
//
// Shape (see the speed notes at the top of sha1.ts): 80 unrolled rounds, the five working
// variables renamed each round instead of moved, a rolling 16-word schedule in locals, and each
// round split into two `| 0` sums.

/** Where the generated text starts in sha1.ts: everything from here to the end is generated. */
export const COMPRESS_BLOCKS_MARKER = "/**\n * Hashes the 64-byte blocks of `view`";

const NAMES = ["a", "b", "c", "d", "e"];

/** The four round constants of FIPS 180-4 as int32 literals (the file's convention). */
const ROUND_CONSTANTS = ["0x5a827999", "0x6ed9eba1", "-0x70e44324", "-0x359d3e2a"];

function roundFunction(t: number, b: string, c: string, d: string): string {
  if (t < 20) return `${d} ^ (${b} & (${c} ^ ${d}))`;
  if (t < 40 || t >= 60) return `${b} ^ ${c} ^ ${d}`;
  return `(${b} & ${c}) | (${d} & (${b} | ${c}))`;
}

/**
 * Prints the source of sha1.ts's `compressBlocks` (with its doc comment), the unrolled SHA-1
 * compression function of FIPS 180-4 over 64-byte blocks read through a `DataView`.
 * @returns The TypeScript text, ending with a newline.
 * @example
 * ```ts
 * import { generateCompressBlocks } from "./gen_compress_blocks.ts";
 * import { ok } from "node:assert/strict";
 * ok(generateCompressBlocks().includes("w0 = view.getInt32(p);"));
 * ```
 */
export function generateCompressBlocks(): string {
  const out: string[] = [
    "/**",
    " * Hashes the 64-byte blocks of `view` in [start, end) into `state` (generated, unrolled).",
    " * Round constants are written as int32: 0x8f1bbcdc is -0x70e44324, 0xca62c1d6 is -0x359d3e2a.",
    " */",
    "function compressBlocks(",
    "  state: Int32Array,",
    "  view: DataView,",
    "  start: number,",
    "  end: number,",
    "): void {",
    "  let h0 = state[0], h1 = state[1], h2 = state[2], h3 = state[3], h4 = state[4];",
    "  let w0 = 0, w1 = 0, w2 = 0, w3 = 0, w4 = 0, w5 = 0, w6 = 0, w7 = 0;",
    "  let w8 = 0, w9 = 0, w10 = 0, w11 = 0, w12 = 0, w13 = 0, w14 = 0, w15 = 0;",
    "  let x = 0;",
    "  for (let p = start; p < end; p += 64) {",
    "    let a = h0, b = h1, c = h2, d = h3, e = h4;",
  ];
  const body = (line: string): number => out.push(`    ${line}`);
  for (let t = 0; t < 80; t++) {
    // Role i of round t is held by the variable NAMES[(i - t) mod 5].
    const [a, b, c, d, e] = [0, 1, 2, 3, 4].map((i) => NAMES[(((i - t) % 5) + 5) % 5]);
    const j = t % 16;
    if (t < 16) {
      body(`w${j} = view.getInt32(${t === 0 ? "p" : `p + ${4 * t}`});`);
    } else {
      body(`x = w${(t - 3) % 16} ^ w${(t - 8) % 16} ^ w${(t - 14) % 16} ^ w${j};`);
      body(`w${j} = (x << 1) | (x >>> 31);`);
    }
    body(`${e} = (${e} + ${ROUND_CONSTANTS[Math.floor(t / 20)]} + w${j}) | 0;`);
    body(`${e} = (${e} + ((${a} << 5) | (${a} >>> 27)) + (${roundFunction(t, b, c, d)})) | 0;`);
    body(`${b} = (${b} << 30) | (${b} >>> 2);`);
  }
  for (let k = 0; k < 5; k++) body(`h${k} = (h${k} + ${NAMES[k]}) | 0;`);
  out.push("  }");
  for (let k = 0; k < 5; k++) out.push(`  state[${k}] = h${k};`);
  out.push("}", "");
  return out.join("\n");
}

if (import.meta.main) {
  const path = new URL("./sha1.ts", import.meta.url);
  const text = await Deno.readTextFile(path);
  const at = text.indexOf(COMPRESS_BLOCKS_MARKER);
  if (at === -1) throw new Error("Cannot regenerate compressBlocks: marker not found in sha1.ts");
  await Deno.writeTextFile(path, text.slice(0, at) + generateCompressBlocks());
}
