import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import {
  decodeDhtState,
  encodeDhtState,
  loadDhtState,
  saveDhtState,
} from "../../src/dht/dht_state.ts";

const state = {
  nodeId: new Uint8Array(20).fill(0xab),
  nodes: [
    { id: new Uint8Array(20).fill(1), host: "10.0.0.1", port: 6881 },
    { id: new Uint8Array(20).fill(2), host: "2001:db8::1", port: 1 },
  ],
};

Deno.test("decodeDhtState() round-trips and skips malformed node entries", () => {
  deepStrictEqual(decodeDhtState(encodeDhtState(state)), state);
  const text = JSON.stringify({
    version: 1,
    nodeId: "ab".repeat(20),
    nodes: [
      ["01".repeat(20), "10.0.0.1", 1],
      ["zz", "10.0.0.1", 1],
      ["01".repeat(20), "host", 1],
      [
        "01".repeat(20),
        "10.0.0.1",
        70000,
      ],
      "junk",
      null,
    ],
  });
  strictEqual(decodeDhtState(new TextEncoder().encode(text)).nodes.length, 1);
  throws(() => decodeDhtState(new TextEncoder().encode("not json")), SyntaxError);
  throws(() => decodeDhtState(new TextEncoder().encode('{"version":2}')), /version 1/);
  throws(() => decodeDhtState(new TextEncoder().encode('{"version":1,"nodeId":"ab"}')), /node id/);
});

Deno.test("saveDhtState() writes atomically and loadDhtState() ignores a corrupt file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/dht.json`;
    await saveDhtState(path, state);
    deepStrictEqual(await loadDhtState(path), state);
    const names = [];
    for await (const entry of Deno.readDir(dir)) names.push(entry.name);
    deepStrictEqual(names, ["dht.json"], "no temporary file is left behind");
    await Deno.writeTextFile(path, '{"version":1,"nodeId":');
    strictEqual(await loadDhtState(path), undefined);
    await saveDhtState(path, { nodeId: new Uint8Array(20), nodes: [] });
    ok((await loadDhtState(path))?.nodes.length === 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
