// The CI round of the fuzzer: a few thousand cases of every target (FUZZ_CASES, default 4,000)
// with a fixed seed (FUZZ_SEED), plus tests of the harness itself: it has to catch the bugs
// planted in fake_targets.ts, and the known issues it tolerates are pinned here.
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { encodeBencode } from "../../src/bencode/encode.ts";
import { encodeTorrent } from "../../src/metainfo/encode_torrent.ts";
import { parseTorrent } from "../../src/metainfo/parse_torrent.ts";
import { parseAnnounceResponse } from "../../src/tracker/parse_announce_response.ts";
import { encodeCompactPeers } from "../../src/wire/peer_address.ts";
import { scanBencode } from "./bencode_mutations.ts";
import {
  badSeedTarget,
  crashyTarget,
  dyingTarget,
  hangingTarget,
  triggers,
} from "./fake_targets.ts";
import type { FuzzTarget } from "./fuzz_target.ts";
import { memoryConnPair } from "./memory_conn.ts";
import { mutateInput } from "./mutate.ts";
import { caseSeed, Prng } from "./prng.ts";
import { type FuzzCrash, type FuzzResult, makeCase, runFuzzTarget } from "./run_fuzz.ts";
import { fuzzInWorker } from "./run_in_worker.ts";
import { FUZZ_TARGETS } from "./targets.ts";

function envNumber(name: string, fallback: number): number {
  const allowed = Deno.permissions.querySync({ name: "env", variable: name }).state === "granted";
  const text = allowed ? Deno.env.get(name) : undefined;
  return text === undefined ? fallback : Number(text) >>> 0;
}

const SEED = envNumber("FUZZ_SEED", 0x5eed_f022);
const CASES = envNumber("FUZZ_CASES", 4000);
const FAKES = new URL("./fake_targets.ts", import.meta.url).href;

function describe(crashes: readonly FuzzCrash[]): string {
  return crashes.map((c) =>
    `${c.target} case ${c.caseIndex} (${c.kind}, ${c.count}x): ${c.error.slice(0, 300)}\n` +
    `  replay: deno task fuzz --target ${c.target} --seed ${c.seed} --case ${c.caseIndex}\n` +
    `  input (${c.inputLength} bytes): ${c.inputHex.slice(0, 200)}\n${c.stack}`
  ).join("\n");
}

/** The cases `runFuzzTarget` would feed `target` that hit the planted trigger. */
function triggerCases(target: FuzzTarget, cases: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < cases; i++) if (triggers(makeCase(target, SEED, i).input)) out.push(i);
  return out;
}

Deno.test("Prng: one seed gives one stream; cases and targets get streams of their own", () => {
  const a = new Prng(42), b = new Prng(42), c = new Prng(43);
  const draw = (p: Prng): number[] => Array.from({ length: 8 }, () => p.u32());
  const first = draw(a);
  deepStrictEqual(draw(b), first);
  ok(draw(c).some((n, i) => n !== first[i]));
  const seeds = new Set<number>();
  for (let i = 0; i < 1000; i++) seeds.add(caseSeed(1, "bencode", i)).add(caseSeed(1, "krpc", i));
  strictEqual(seeds.size, 2000);
  const p = new Prng(7);
  for (let i = 0; i < 1000; i++) {
    const n = p.int(3, 9);
    ok(n >= 3 && n <= 9 && Number.isInteger(n));
  }
});

Deno.test("mutateInput() is a function of its stream, and changes inputs in many ways", () => {
  const seed = encodeBencode({ a: [1, "xy", { b: 2 }], c: "text" });
  const context = { corpus: [seed, encodeBencode([1, 2, 3])], dictionary: [] };
  const outputs = new Set<string>();
  for (let i = 0; i < 300; i++) {
    const one = mutateInput(seed, new Prng(i), context, "bencode");
    deepStrictEqual(mutateInput(seed, new Prng(i), context, "bencode"), one);
    outputs.add(one.join(","));
  }
  deepStrictEqual(seed, encodeBencode({ a: [1, "xy", { b: 2 }], c: "text" }), "seed unchanged");
  ok(outputs.size > 250, `only ${outputs.size} distinct mutants of 300`);
});

Deno.test("scanBencode() finds every value with its span, and stops at malformed bytes", () => {
  const bytes = new TextEncoder().encode("d3:cowl1:ai12eee");
  const spans = scanBencode(bytes).map((n) => [n.kind, n.start, n.end]);
  deepStrictEqual(spans, [["s", 1, 6], ["s", 7, 10], ["i", 10, 14], ["l", 6, 15], ["d", 0, 16]]);
  deepStrictEqual(scanBencode(new TextEncoder().encode("l1:ax")).map((n) => n.kind), ["s"]);
});

Deno.test("MemoryConn pair delivers bytes in capped pieces, EOF after closeWrite", async () => {
  const [a, b] = memoryConnPair(() => 3, () => 3);
  await a.write(new Uint8Array([1, 2, 3, 4, 5]));
  await a.closeWrite();
  const buffer = new Uint8Array(10);
  strictEqual(await b.read(buffer), 3);
  strictEqual(await b.read(buffer.subarray(3)), 2);
  deepStrictEqual(buffer.subarray(0, 5), new Uint8Array([1, 2, 3, 4, 5]));
  strictEqual(await b.read(buffer), null);
  b.close();
  a.close();
});

Deno.test("the runner reports an undocumented error once, with the seed and first case", async () => {
  const cases = 400;
  const expected = triggerCases(crashyTarget, cases);
  ok(expected.length > 5, "the planted bug is reachable");
  const result = await runFuzzTarget(crashyTarget, { seed: SEED, cases });
  strictEqual(result.cases, cases);
  strictEqual(result.crashes.length, 1);
  const [crash] = result.crashes;
  strictEqual(crash.kind, "exception");
  strictEqual(crash.caseIndex, expected[0]);
  strictEqual(crash.count, expected.length);
  ok(crash.error.includes("TypeError: planted bug"));
  ok(result.rejected > 0, "the documented SyntaxError counts as a rejection, not a crash");
  strictEqual(result.accepted + result.rejected + expected.length, cases);
});

Deno.test("the runner reports a seed the codec refuses", async () => {
  const result = await runFuzzTarget(badSeedTarget, { seed: SEED, cases: 2 });
  strictEqual(result.crashes.length, 1);
  strictEqual(result.crashes[0].kind, "seed");
  strictEqual(result.crashes[0].caseIndex, 1);
});

Deno.test("a case that never returns is a hang: reported, and the run goes on after it", async () => {
  const cases = 30;
  const expected = triggerCases(hangingTarget, cases);
  ok(expected.length >= 1 && expected.length <= 6, `${expected.length} hangs planted`);
  const result = await fuzzInWorker("fake-hanging", {
    seed: SEED,
    cases,
    hangMs: 300,
    moduleUrl: FAKES,
  });
  strictEqual(result.cases, cases);
  strictEqual(result.accepted, cases - expected.length);
  strictEqual(result.crashes.length, 1);
  strictEqual(result.crashes[0].kind, "hang");
  strictEqual(result.crashes[0].caseIndex, expected[0]);
  strictEqual(result.crashes[0].count, expected.length);
});

Deno.test("an error that kills the worker is reported at its case", async () => {
  const cases = 30;
  const expected = triggerCases(dyingTarget, cases);
  const result = await fuzzInWorker("fake-dying", { seed: SEED, cases, moduleUrl: FAKES });
  strictEqual(result.cases, cases);
  strictEqual(result.crashes.length, 1);
  strictEqual(result.crashes[0].caseIndex, expected[0]);
  ok(/planted uncaught error/.test(result.crashes[0].error), result.crashes[0].error);
});

for (const target of FUZZ_TARGETS) {
  Deno.test(`fuzz round: ${target.name} survives ${CASES} mutated cases (seed ${SEED})`, async () => {
    const result: FuzzResult = await fuzzInWorker(target.name, { seed: SEED, cases: CASES });
    strictEqual(result.cases, CASES);
    strictEqual(result.crashes.length, 0, `crashes:\n${describe(result.crashes)}`);
    ok(result.accepted > CASES / 50, `only ${result.accepted} cases decoded: mutants too wild?`);
    ok(result.accepted < CASES, "every case decoded: the mutator changes nothing?");
  });
}

// Crashes the fuzzer found in metainfo and tracker, now fixed: pinned as regression tests.

Deno.test({
  name: "a renamed duplicate path stays within 255 bytes (found by the torrent fuzz target)",
  fn() {
    const name = `${"x".repeat(250)}.txt`;
    const torrent = parseTorrent(encodeTorrent({
      name: "folder",
      pieceLength: 16384,
      pieceHashes: new Uint8Array(20),
      files: [{ path: [name], length: 1 }, { path: [name], length: 0 }],
    }));
    const last = torrent.files[1].path[1];
    ok(new TextEncoder().encode(last).length <= 255, `${last.length} characters`);
    ok(last !== torrent.files[0].path[1], "the duplicate was renamed");
  },
});

Deno.test({
  name:
    "parseAnnounceResponse() takes 160,000 compact peers (found by the tracker-http fuzz target)",
  fn() {
    const peers = Array.from({ length: 160_000 }, (_, i) => ({
      host: `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`,
      port: 6881,
    }));
    const body = encodeBencode({ interval: 1800, peers: encodeCompactPeers(peers, 4) });
    strictEqual(parseAnnounceResponse(body).peers.length, 160_000);
  },
});
