// `deno task fuzz`: seeded mutation fuzzing of every codec, one target at a time, each in a
// watched worker. Prints cases/s per target and every distinct crash with the seed and case
// number that reproduce it; exits 1 when a crash that is not a known issue was found.
//
//   deno task fuzz                              every target, 100,000 cases each, random seed
//   deno task fuzz --target krpc --cases 1e6    one target (repeat --target for more)
//   deno task fuzz --seed 7 --target krpc --case 4242    replay one case, with its input
//   deno task fuzz --list                       the targets and what each checks
import { parseArgs } from "node:util";
import { encodeHex } from "../../src/bytes/hex.ts";
import { DEFAULT_CASE_MS, type FuzzCrash, type FuzzResult, makeCase, runCase } from "./run_fuzz.ts";
import { DEFAULT_HANG_MS, fuzzInWorker } from "./run_in_worker.ts";
import { findTarget, FUZZ_TARGETS } from "./targets.ts";

const USAGE = `Usage: deno task fuzz [options]
  --target NAME   a target to fuzz (repeatable; default: all of them)
  --cases N       cases per target (default 100000)
  --seed N        the run's seed (default: random, printed)
  --case N        replay case N of one --target alone, printing its input and what it threw
  --case-ms N     a case slower than this is a crash (default ${DEFAULT_CASE_MS})
  --hang-ms N     a case without progress this long is a hang (default ${DEFAULT_HANG_MS})
  --list          list the targets
  --help          this text`;

function integer(text: string | undefined, what: string, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`--${what} must be a whole number`);
  return n;
}

function percent(part: number, whole: number): string {
  return `${whole === 0 ? "0.0" : (100 * part / whole).toFixed(1)}%`;
}

function printCrash(crash: FuzzCrash, label: string): void {
  console.log(
    `${label} ${crash.target} case ${crash.caseIndex} (${crash.kind}, ${crash.count} case${
      crash.count === 1 ? "" : "s"
    }): ${crash.error.split("\n")[0].slice(0, 300)}`,
  );
  if (crash.known !== undefined) {
    const issue = findTarget(crash.target).knownIssues?.find((i) => i.id === crash.known);
    console.log(`  known issue ${crash.known}: ${issue?.todo ?? ""}`);
  }
  console.log(
    `  replay: deno task fuzz --target ${crash.target} --seed ${crash.seed} --case ${crash.caseIndex}`,
  );
  const hex = crash.inputHex.length > 256 ? `${crash.inputHex.slice(0, 256)}…` : crash.inputHex;
  console.log(`  input (${crash.inputLength} bytes): ${hex}`);
  if (crash.known === undefined && crash.stack !== "") {
    console.log(crash.stack.split("\n").slice(0, 12).map((l) => `    ${l}`).join("\n"));
  }
}

async function replay(name: string, seed: number, index: number, caseMs: number): Promise<number> {
  const target = findTarget(name);
  const { input, rng, isSeed } = makeCase(target, seed, index);
  console.log(`${name} seed ${seed} case ${index}${isSeed ? " (an unmutated seed)" : ""}`);
  console.log(`input (${input.length} bytes): ${encodeHex(input.subarray(0, 65536))}`);
  const t0 = performance.now();
  const result = await runCase(target, input, { rng, limitMs: caseMs, mutated: !isSeed });
  const ms = (performance.now() - t0).toFixed(1);
  if ("outcome" in result) {
    console.log(`${result.outcome} in ${ms} ms`);
    return 0;
  }
  const error = result.error;
  console.log(`${result.allowed ? "rejected (allowed)" : "CRASH"} in ${ms} ms:`);
  let shown: unknown = error;
  for (let depth = 0; shown !== undefined && depth < 4; depth++) {
    console.log(shown instanceof Error ? shown.stack ?? String(shown) : String(shown));
    shown = shown instanceof Error ? shown.cause : undefined;
    if (shown !== undefined) console.log("caused by:");
  }
  return result.allowed ? 0 : 1;
}

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      target: { type: "string", multiple: true },
      cases: { type: "string" },
      seed: { type: "string" },
      case: { type: "string" },
      "case-ms": { type: "string" },
      "hang-ms": { type: "string" },
      list: { type: "boolean" },
      help: { type: "boolean" },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.list) {
    for (const t of FUZZ_TARGETS) console.log(`${t.name.padEnd(13)} ${t.description}`);
    return 0;
  }
  const names = values.target ?? FUZZ_TARGETS.map((t) => t.name);
  names.forEach(findTarget);
  const cases = integer(values.cases, "cases", 100_000);
  const seed = integer(values.seed, "seed", crypto.getRandomValues(new Uint32Array(1))[0]) >>> 0;
  const caseMs = integer(values["case-ms"], "case-ms", DEFAULT_CASE_MS);
  const hangMs = integer(values["hang-ms"], "hang-ms", DEFAULT_HANG_MS);
  if (values.case !== undefined) {
    if (names.length !== 1) throw new RangeError("--case needs exactly one --target");
    return await replay(names[0], seed, integer(values.case, "case", 0), caseMs);
  }

  console.log(`shoal fuzz: seed ${seed}, ${cases} cases per target, ${names.length} targets`);
  console.log(
    [
      "target".padEnd(13),
      "cases".padStart(8),
      "cases/s".padStart(8),
      "accepted".padStart(9),
      "rejected".padStart(9),
      "other".padStart(7),
      "errors".padStart(7),
      "crashes".padStart(8),
      "known".padStart(6),
    ].join(" "),
  );
  const results: FuzzResult[] = [];
  const begin = performance.now();
  for (const name of names) {
    const r = await fuzzInWorker(name, { seed, cases, caseMs, hangMs });
    results.push(r);
    console.log(
      [
        name.padEnd(13),
        String(r.cases).padStart(8),
        String(Math.round(r.cases / (r.ms / 1000))).padStart(8),
        percent(r.accepted, r.cases).padStart(9),
        percent(r.rejected, r.cases).padStart(9),
        percent(r.incomplete + r.ignored, r.cases).padStart(7),
        String(r.distinctRejections).padStart(7),
        String(r.crashes.length).padStart(8),
        String(r.known.length).padStart(6),
      ].join(" "),
    );
  }
  for (const r of results) for (const crash of r.crashes) printCrash(crash, "CRASH");
  for (const r of results) for (const crash of r.known) printCrash(crash, "KNOWN");
  const total = results.reduce((n, r) => n + r.cases, 0);
  const fresh = results.reduce((n, r) => n + r.crashes.length, 0);
  const known = results.reduce((n, r) => n + r.known.length, 0);
  console.log(
    `${total} cases in ${((performance.now() - begin) / 1000).toFixed(1)} s: ${fresh} new ` +
      `crash${fresh === 1 ? "" : "es"}, ${known} known (seed ${seed})`,
  );
  return fresh > 0 ? 1 : 0;
}

if (import.meta.main) {
  try {
    Deno.exitCode = await main(Deno.args);
  } catch (error) {
    console.error(`fuzz: ${error instanceof Error ? error.message : String(error)}`);
    console.error(USAGE);
    Deno.exitCode = 2;
  }
}
