import { deepStrictEqual, notDeepStrictEqual, strictEqual } from "node:assert/strict";
import { createHash } from "node:crypto";
import { generateSha1SimdModule, generateSha1SimdSource } from "../../src/sha1/gen_sha1_simd.ts";
import {
  SHA1_SIMD_RELAXED_WASM_BASE64,
  SHA1_SIMD_WASM_BASE64,
} from "../../src/sha1/sha1_simd_wasm.ts";

function decodeBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

Deno.test("gen_sha1_simd.ts reproduces the checked-in sha1_simd_wasm.ts exactly", async () => {
  const text = await Deno.readTextFile(
    new URL("../../src/sha1/sha1_simd_wasm.ts", import.meta.url),
  );
  strictEqual(text, generateSha1SimdSource());
  deepStrictEqual(decodeBase64(SHA1_SIMD_WASM_BASE64), generateSha1SimdModule());
  deepStrictEqual(
    decodeBase64(SHA1_SIMD_RELAXED_WASM_BASE64),
    generateSha1SimdModule({ relaxed: true }),
  );
});

/** Runs one kernel module raw: four messages of `blocks` whole blocks, padded by hand. */
function runKernel(bytes: Uint8Array<ArrayBuffer>, messages: Uint8Array[]): string[] {
  const memory = new WebAssembly.Memory({ initial: 4 });
  const instance = new WebAssembly.Instance(
    new WebAssembly.Module(bytes),
    {
      env: { memory },
    },
  );
  const blocks = instance.exports.blocks as (...args: number[]) => void;
  const view = new DataView(memory.buffer);
  const lane = 16 * 1024;
  const initial = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0];
  for (let j = 0; j < 5; j++) {
    for (let k = 0; k < 4; k++) view.setUint32(16 * j + 4 * k, initial[j], true);
  }
  let count = 0;
  messages.forEach((message, k) => {
    const base = 256 + k * lane;
    new Uint8Array(memory.buffer).set(message, base);
    view.setUint8(base + message.length, 0x80);
    count = Math.ceil((message.length + 9) / 64);
    view.setUint32(base + count * 64 - 4, message.length * 8);
  });
  // Two calls, to check the state carries over between calls.
  blocks(256, 256 + lane, 256 + 2 * lane, 256 + 3 * lane, 1);
  blocks(256 + 64, 256 + lane + 64, 256 + 2 * lane + 64, 256 + 3 * lane + 64, count - 1);
  return messages.map((_, k) => {
    let hex = "";
    for (let j = 0; j < 5; j++) {
      hex += view.getUint32(16 * j + 4 * k, true).toString(16).padStart(8, "0");
    }
    return hex;
  });
}

Deno.test("both kernel modules (plain and relaxed SIMD) hash four messages like node:crypto", () => {
  const plain = generateSha1SimdModule();
  const relaxed = generateSha1SimdModule({ relaxed: true });
  notDeepStrictEqual(plain, relaxed);
  for (const length of [0, 55, 56, 119, 1000, 10_000]) {
    const messages = [0, 1, 2, 3].map(() => crypto.getRandomValues(new Uint8Array(length)));
    const expected = messages.map((m) => createHash("sha1").update(m).digest("hex"));
    deepStrictEqual(runKernel(plain, messages), expected, `plain, length ${length}`);
    deepStrictEqual(runKernel(relaxed, messages), expected, `relaxed, length ${length}`);
  }
});
