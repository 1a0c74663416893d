import { strictEqual } from "node:assert/strict";
import {
  COMPRESS_BLOCKS_MARKER,
  generateCompressBlocks,
} from "../../src/sha1/gen_compress_blocks.ts";

Deno.test("gen_compress_blocks.ts reproduces sha1.ts's compressBlocks exactly", async () => {
  const text = await Deno.readTextFile(new URL("../../src/sha1/sha1.ts", import.meta.url));
  const at = text.indexOf(COMPRESS_BLOCKS_MARKER);
  strictEqual(at > 0, true, "marker found");
  strictEqual(text.indexOf(COMPRESS_BLOCKS_MARKER, at + 1), -1, "marker found once");
  strictEqual(text.slice(at), generateCompressBlocks());
});
