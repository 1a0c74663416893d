import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { encodeBencode } from "../../src/bencode/encode.ts";
import { decodeKrpc, encodeKrpc, type KrpcMessage } from "../../src/dht/krpc.ts";
import { KrpcError } from "../../src/dht/krpc_error.ts";

const t = new Uint8Array([0xaa, 0x01]);
const id = new Uint8Array(20).fill(0x11);
const infoHash = new Uint8Array(20).fill(0x22);
const node4 = { id: new Uint8Array(20).fill(0x33), host: "10.1.2.3", port: 6881 };
const node6 = { id: new Uint8Array(20).fill(0x44), host: "2001:db8::7", port: 51413 };

const MESSAGES: KrpcMessage[] = [
  { type: "ping", transactionId: t, id },
  { type: "ping", transactionId: t, id, readOnly: true, version: new Uint8Array([76, 84, 1, 2]) },
  { type: "find_node", transactionId: t, id, target: infoHash },
  { type: "find_node", transactionId: t, id, target: infoHash, want: ["n4", "n6"] },
  { type: "get_peers", transactionId: t, id, infoHash },
  { type: "get_peers", transactionId: t, id, infoHash, want: ["n6"] },
  {
    type: "announce_peer",
    transactionId: t,
    id,
    infoHash,
    port: 6881,
    impliedPort: false,
    token: new Uint8Array([1, 2, 3, 4]),
  },
  {
    type: "announce_peer",
    transactionId: t,
    id,
    infoHash,
    port: 9,
    impliedPort: true,
    token: new Uint8Array([5]),
  },
  { type: "response", transactionId: t, id },
  { type: "response", transactionId: t, id, ip: { host: "203.0.113.9", port: 4000 } },
  { type: "response", transactionId: t, id, nodes: [node4, node4], nodes6: [node6] },
  {
    type: "response",
    transactionId: t,
    id,
    token: new Uint8Array(8).fill(9),
    values: [{ host: "10.0.0.1", port: 1 }, { host: "2001:db8::1", port: 65535 }],
    nodes: [],
  },
  { type: "error", transactionId: t, code: 203, message: "Protocol Error" },
  { type: "error", transactionId: t, code: 201, message: "x", ip: { host: "10.0.0.2", port: 5 } },
];

function packet(dict: Record<string, unknown>): Uint8Array {
  return encodeBencode(dict as Parameters<typeof encodeBencode>[0]);
}

function query(q: string, a: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return packet({ t: "aa", y: "q", q, a: { id, ...a }, ...extra });
}

function refuses(bytes: Uint8Array, pattern: RegExp, code?: number): KrpcError {
  let caught: unknown;
  try {
    decodeKrpc(bytes);
  } catch (error) {
    caught = error;
  }
  ok(caught instanceof KrpcError, `expected a KrpcError for ${pattern}, got ${caught}`);
  ok(pattern.test(caught.message), `"${caught.message}" does not match ${pattern}`);
  if (code !== undefined) strictEqual(caught.code, code);
  return caught;
}

Deno.test("decodeKrpc(encodeKrpc(m)) round-trips every message type", () => {
  for (const message of MESSAGES) {
    deepStrictEqual(decodeKrpc(encodeKrpc(message)), message, message.type);
  }
});

Deno.test("encodeKrpc() writes BEP 5's example ping byte for byte", () => {
  const ping = encodeKrpc({
    type: "ping",
    transactionId: new TextEncoder().encode("aa"),
    id: new TextEncoder().encode("abcdefghij0123456789"),
  });
  strictEqual(
    new TextDecoder().decode(ping),
    "d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe",
  );
  const ro = encodeKrpc({ type: "ping", transactionId: t, id, readOnly: true });
  ok(new TextDecoder("latin1").decode(ro).includes("2:roi1e"), "BEP 43 ro=1 at the top level");
});

Deno.test("decodeKrpc() refuses every proper prefix of every message", () => {
  for (const message of MESSAGES) {
    const bytes = encodeKrpc(message);
    for (let n = 0; n < bytes.length; n++) {
      throws(() => decodeKrpc(bytes.subarray(0, n)), KrpcError, `${message.type} prefix ${n}`);
    }
  }
});

Deno.test("decodeKrpc() refuses non-dictionaries, bad y, bad t and oversized packets", () => {
  refuses(new TextEncoder().encode("l1:ae"), /not a dictionary/);
  refuses(new TextEncoder().encode("i5e"), /not a dictionary/);
  refuses(new TextEncoder().encode("garbage!"), /not bencode/);
  refuses(packet({ t: "aa", y: "x" }), /"y"/);
  refuses(packet({ t: "aa", y: "qq" }), /"y"/);
  refuses(packet({ y: "q", q: "ping", a: { id } }), /"t" is missing/);
  refuses(packet({ t: "", y: "r", r: { id } }), /"t".*0 bytes/);
  refuses(packet({ t: new Uint8Array(20), y: "r", r: { id } }), /"t".*20 bytes/);
  refuses(packet({ t: 5, y: "r", r: { id } }), /"t".*not a byte string/);
  const huge = packet({ t: "aa", y: "r", r: { id, pad: new Uint8Array(1500) } });
  refuses(huge, /exceeds 1500/);
  refuses(new Uint8Array(65_000), /exceeds 1500/);
});

Deno.test("decodeKrpc() refuses wrong-length ids, nodes, nodes6, values and token", () => {
  refuses(packet({ t: "aa", y: "r", r: { id: new Uint8Array(19) } }), /"id".*19 bytes/);
  refuses(packet({ t: "aa", y: "r", r: { id, nodes: new Uint8Array(27) } }), /multiple of 26/);
  refuses(packet({ t: "aa", y: "r", r: { id, nodes: new Uint8Array(25) } }), /multiple of 26/);
  refuses(packet({ t: "aa", y: "r", r: { id, nodes6: new Uint8Array(26) } }), /multiple of 38/);
  refuses(packet({ t: "aa", y: "r", r: { id, nodes: 5 } }), /"nodes".*not a byte string/);
  refuses(packet({ t: "aa", y: "r", r: { id, values: [new Uint8Array(7)] } }), /"values"/);
  refuses(
    packet({ t: "aa", y: "r", r: { id, values: new Uint8Array(6) } }),
    /"values" is not a list/,
  );
  refuses(packet({ t: "aa", y: "r", r: { id, values: [[]] } }), /"values"/);
  refuses(packet({ t: "aa", y: "r", r: { id, token: "" } }), /"token"/);
  refuses(packet({ t: "aa", y: "r", r: { id, token: new Uint8Array(65) } }), /"token"/);
  refuses(packet({ t: "aa", y: "r", r: "x" }), /"r" is not a dictionary/);
  refuses(packet({ t: "aa", y: "e", e: "oops" }), /"e"/);
  refuses(packet({ t: "aa", y: "e", e: ["201", "x"] }), /code/);
});

Deno.test("decodeKrpc() ignores a malformed informational ip or v field", () => {
  for (const ip of [new Uint8Array(4), new Uint8Array(7), 5]) {
    const reply = decodeKrpc(packet({ t: "aa", y: "r", ip, v: 7, r: { id } }));
    ok(reply.type === "response" && reply.ip === undefined && reply.version === undefined);
  }
  const long = decodeKrpc(packet({ t: "aa", y: "r", v: new Uint8Array(33), r: { id } }));
  strictEqual(long.version, undefined);
});

Deno.test("decodeKrpc() skips port-0 entries in nodes and values", () => {
  const nodes = new Uint8Array(52);
  nodes.set(node4.id, 0);
  nodes.set([10, 0, 0, 1, 0x1a, 0xe1], 20); // port 6881
  nodes.set([10, 0, 0, 2, 0, 0], 46); // port 0
  const reply = decodeKrpc(
    packet({ t: "aa", y: "r", r: { id, nodes, values: [new Uint8Array(6)] } }),
  );
  ok(reply.type === "response");
  deepStrictEqual(reply.nodes?.map((n) => n.port), [6881]);
  deepStrictEqual(reply.values, []);
});

Deno.test("decodeKrpc() refuses malformed queries with the transaction id to answer", () => {
  const badId = refuses(packet({ t: "aa", y: "q", q: "ping", a: { id: "short" } }), /"id"/, 203);
  deepStrictEqual(badId.transactionId, new TextEncoder().encode("aa"));
  refuses(packet({ t: "aa", y: "q", q: "ping" }), /"a" is not a dictionary/, 203);
  refuses(packet({ t: "aa", y: "q", q: 1, a: { id } }), /"q"/, 203);
  refuses(query("find_node", {}), /"target" is missing/, 203);
  refuses(query("find_node", { target: new Uint8Array(21) }), /"target"/, 203);
  refuses(query("find_node", { target: id, want: "n4" }), /"want"/, 203);
  refuses(query("get_peers", { info_hash: new Uint8Array(10) }), /"info_hash"/, 203);
  const token = new Uint8Array(4);
  refuses(query("announce_peer", { info_hash: infoHash, token }), /"port"/, 203);
  refuses(query("announce_peer", { info_hash: infoHash, token, port: 0 }), /port 0/, 203);
  refuses(query("announce_peer", { info_hash: infoHash, token, port: 70000 }), /port 70000/, 203);
  refuses(query("announce_peer", { info_hash: infoHash, port: 1 }), /"token" is missing/, 203);
  refuses(query("announce_peer", { info_hash: infoHash, token, port: "1" }), /"port"/, 203);
  refuses(query("ping", {}, { ro: "1" }), /"ro"/, 203);
  const unknown = refuses(query("vote", {}), /unknown method "vote"/, 204);
  ok(unknown.transactionId);
  // A reply that is malformed has nobody to answer: no transaction id is carried.
  strictEqual(
    refuses(packet({ t: "aa", y: "r", r: { id: "x" } }), /"id"/).transactionId,
    undefined,
  );
});

Deno.test("decodeKrpc() accepts implied_port with any port and ignores unknown keys and want items", () => {
  const token = new Uint8Array(4);
  const implied = decodeKrpc(query("announce_peer", {
    info_hash: infoHash,
    token,
    port: 0,
    implied_port: 1,
    seed: 1,
  }));
  ok(implied.type === "announce_peer" && implied.impliedPort && implied.port === 0);
  const noPort = decodeKrpc(
    query("announce_peer", { info_hash: infoHash, token, implied_port: 1 }),
  );
  ok(noPort.type === "announce_peer" && noPort.impliedPort);
  const want = decodeKrpc(query("find_node", { target: id, want: ["n6", "x9", "n6"] }));
  ok(want.type === "find_node");
  deepStrictEqual(want.want, ["n6"]);
  const extra = decodeKrpc(packet({ t: "aa", y: "r", r: { id, p: 5, samples: "x" }, zz: 1 }));
  strictEqual(extra.type, "response");
});

Deno.test("encodeKrpc() refuses a packet over 1,500 bytes and fields it cannot encode", () => {
  const values = Array.from({ length: 200 }, (_, i) => ({ host: "10.0.0.1", port: i + 1 }));
  throws(() => encodeKrpc({ type: "response", transactionId: t, id, values }), /exceeds 1500/);
  throws(
    () => encodeKrpc({ type: "response", transactionId: t, id, nodes: [{ ...node4, port: 0 }] }),
    KrpcError,
  );
  throws(
    () => encodeKrpc({ type: "response", transactionId: t, id, nodes: [{ ...node4, host: "x" }] }),
    KrpcError,
  );
});

Deno.test("decodeKrpc() keeps at most 256 characters of an error message, stable across re-encoding", () => {
  // Found by the fuzzer: 256 bytes of invalid UTF-8 became 256 U+FFFD (768 bytes once
  // re-encoded), so a second decode cut the text again and the round trip changed it.
  const invalid = new Uint8Array(300).fill(0xff);
  const first = decodeKrpc(encodeBencode({ t: "aa", y: "e", e: [201, invalid] }));
  strictEqual(first.type, "error");
  if (first.type !== "error") return;
  strictEqual([...first.message].length, 256);
  deepStrictEqual(decodeKrpc(encodeKrpc(first)), first);
  const accented = decodeKrpc(encodeBencode({ t: "aa", y: "e", e: [202, "é".repeat(300)] }));
  deepStrictEqual(accented.type === "error" && accented.message, "é".repeat(256));
  const emoji = decodeKrpc(encodeBencode({ t: "aa", y: "e", e: [202, "😀".repeat(300)] }));
  deepStrictEqual(emoji.type === "error" && emoji.message, "😀".repeat(256));
});

Deno.test("decodeKrpc() treats a want list with no known family as no want, as encodeKrpc does", () => {
  // Found by the fuzzer: want [] decoded as [], which encodeKrpc leaves out, so the round trip
  // dropped the field.
  for (const want of [[], ["x9"], ["N4", "n5"]]) {
    const decoded = decodeKrpc(query("find_node", { target: id, want }));
    ok(decoded.type === "find_node");
    strictEqual("want" in decoded, false, JSON.stringify(want));
    deepStrictEqual(decodeKrpc(encodeKrpc(decoded)), decoded);
  }
  const getPeers = decodeKrpc(query("get_peers", { info_hash: infoHash, want: ["zz"] }));
  ok(getPeers.type === "get_peers" && getPeers.want === undefined);
});
