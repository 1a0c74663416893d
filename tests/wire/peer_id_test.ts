import { notDeepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { generatePeerId, PEER_ID_PREFIX } from "../../src/wire/peer_id.ts";

Deno.test("generatePeerId() makes 20 printable bytes with the BEP 20 prefix", () => {
  const id = generatePeerId();
  strictEqual(id.length, 20);
  const text = new TextDecoder().decode(id);
  ok(text.startsWith(PEER_ID_PREFIX));
  ok(/^[0-9A-Za-z]{12}$/.test(text.slice(8)), text);
});

Deno.test("generatePeerId() differs between calls", () => {
  notDeepStrictEqual(generatePeerId(), generatePeerId());
});
