// The fuzz loop for one target, in the current thread. Case i's input depends only on
// (seed, target, i): the first cases are the seeds themselves, the rest are mutated seeds.
// Hangs (a case that never returns) are caught one level up, by run_in_worker.ts.
import { encodeHex } from "../../src/bytes/hex.ts";
import type { CaseContext, CaseOutcome, FuzzTarget } from "./fuzz_target.ts";
import { InvariantError } from "./fuzz_target.ts";
import { mutateInput } from "./mutate.ts";
import { caseSeed, Prng } from "./prng.ts";

/** The default limit for one case; a case that takes longer is reported as slow. */
export const DEFAULT_CASE_MS = 2_000;

/** How a crash showed itself. */
export type CrashKind =
  /** An error the codec does not document escaped. */
  | "exception"
  /** A decoded value broke a rule (round trip, bounds, need-more). */
  | "invariant"
  /** The case finished but took longer than the case limit. */
  | "slow"
  /** The case did not finish: the worker running it was stopped. */
  | "hang"
  /** An unmutated seed was not accepted: the corpus or the codec is wrong. */
  | "seed";

/** One distinct crash: the first case that showed it, and how many did. */
export interface FuzzCrash {
  /** The target. */
  target: string;
  /** The run's seed. */
  seed: number;
  /** The first case number that showed it. */
  caseIndex: number;
  /** How it showed itself. */
  kind: CrashKind;
  /** `name: message` of what escaped. */
  error: string;
  /** Its stack (with causes), when there is one. */
  stack: string;
  /** The input's length in bytes. */
  inputLength: number;
  /** The input in hex, cut to its first 4 KiB. */
  inputHex: string;
  /** What identifies it among others: kind, error class, message shape and first frame. */
  signature: string;
  /** How many cases showed it. */
  count: number;
  /** The id of the {@linkcode KnownIssue} it is, when it is one. */
  known?: string;
}

/** Counters of one run. */
export interface FuzzCounts {
  /** Cases run. */
  cases: number;
  /** Cases decoded with every invariant holding. */
  accepted: number;
  /** Cases refused with an allowed error. */
  rejected: number;
  /** Cases a need-more decoder found incomplete. */
  incomplete: number;
  /** Cases a lenient decoder ignored. */
  ignored: number;
}

/** What one run of one target found. */
export interface FuzzResult extends FuzzCounts {
  /** The target. */
  target: string;
  /** The run's seed. */
  seed: number;
  /** Wall time, in ms. */
  ms: number;
  /** How many distinct rejection messages (digits masked) the cases reached. */
  distinctRejections: number;
  /** Distinct crashes that are not known issues. */
  crashes: FuzzCrash[];
  /** Distinct crashes that are known issues. */
  known: FuzzCrash[];
}

/** Options for {@linkcode runFuzzTarget}. */
export interface RunFuzzOptions {
  /** The run's seed. */
  seed: number;
  /** The case number to stop before. */
  cases: number;
  /** The first case number (to resume after a hang); 0 by default. */
  start?: number;
  /** A case that takes longer is reported as slow; {@linkcode DEFAULT_CASE_MS} by default. */
  caseMs?: number;
  /** Called before each case (the worker publishes progress with it). */
  onCase?(index: number, counts: FuzzCounts): void;
  /** Called with each new distinct crash as it is found. */
  onCrash?(crash: FuzzCrash): void;
}

const corpusCache = new WeakMap<FuzzTarget, Uint8Array[]>();

function corpusOf(target: FuzzTarget): Uint8Array[] {
  let corpus = corpusCache.get(target);
  if (!corpus) {
    corpus = target.corpus();
    if (corpus.length === 0) throw new Error(`fuzz target ${target.name} has an empty corpus`);
    corpusCache.set(target, corpus);
  }
  return corpus;
}

const dictionaryCache = new WeakMap<FuzzTarget, Uint8Array[]>();

function dictionaryOf(target: FuzzTarget): Uint8Array[] {
  let words = dictionaryCache.get(target);
  if (!words) {
    words = (target.dictionary ?? []).map((w) => Uint8Array.from(w, (ch) => ch.charCodeAt(0)));
    dictionaryCache.set(target, words);
  }
  return words;
}

/**
 * Builds case `index` of a run: its input and the random stream the target gets.
 * @param target The target.
 * @param seed The run's seed.
 * @param index The case number.
 * @returns The input, the stream, and whether it is an unmutated seed.
 */
export function makeCase(
  target: FuzzTarget,
  seed: number,
  index: number,
): { input: Uint8Array; rng: Prng; isSeed: boolean } {
  const corpus = corpusOf(target);
  const rng = new Prng(caseSeed(seed, target.name, index));
  if (index < corpus.length) return { input: corpus[index], rng, isSeed: true };
  const base = rng.pick(corpus);
  const input = mutateInput(
    base,
    rng,
    { corpus, dictionary: dictionaryOf(target) },
    target.profile,
    target.mutations,
  );
  return { input, rng, isSeed: false };
}

function describeError(error: unknown): { error: string; stack: string } {
  if (!(error instanceof Error)) return { error: `non-Error thrown: ${String(error)}`, stack: "" };
  let stack = error.stack ?? `${error.name}: ${error.message}`;
  let cause = error.cause;
  for (let depth = 0; cause instanceof Error && depth < 3; depth++) {
    stack += `\nCaused by ${cause.stack ?? String(cause)}`;
    cause = cause.cause;
  }
  return { error: `${error.name}: ${error.message}`, stack };
}

/** The innermost error: an InvariantError's cause when it wraps one. */
function rootOf(error: unknown): unknown {
  return error instanceof InvariantError && error.cause instanceof Error ? error.cause : error;
}

function firstFrame(error: unknown): string {
  const stack = rootOf(error) instanceof Error ? (rootOf(error) as Error).stack ?? "" : "";
  const lines = stack.split("\n");
  const frame = lines.find((line) => /\/src\//.test(line)) ??
    lines.find((line) => /\/tests\/fuzz\/\w+_target\.ts/.test(line)) ?? "";
  return frame.replace(/^.*\/((src|tests)\/[^)]*?)(:\d+)?\)?$/, "$1");
}

/** What names a failure apart from its details: the broken rule, or the error's message. */
function ruleOf(error: unknown): string {
  if (error instanceof InvariantError) {
    const root = rootOf(error);
    return root === error ? error.rule : `${error.rule}: ${describeError(root).error}`;
  }
  return describeError(error).error;
}

function maskDigits(text: string): string {
  return text.replace(/\d+/g, "#").replace(/"[^"]*"/g, '"…"').slice(0, 160);
}

/**
 * Builds a crash record.
 * @param target The target.
 * @param seed The run's seed.
 * @param index The case number.
 * @param kind How it showed itself.
 * @param error What escaped.
 * @param input The case's input.
 * @returns The record (count 1).
 */
export function crashOf(
  target: FuzzTarget,
  seed: number,
  index: number,
  kind: CrashKind,
  error: unknown,
  input: Uint8Array,
): FuzzCrash {
  const { error: text, stack } = describeError(error);
  const known = target.knownIssues?.find((issue) => issue.matches(error, input))?.id;
  const root = rootOf(error);
  const rootName = root instanceof Error ? root.name : typeof root;
  return {
    target: target.name,
    seed,
    caseIndex: index,
    kind,
    error: text,
    stack,
    inputLength: input.length,
    inputHex: encodeHex(input.subarray(0, 4096)),
    signature: `${kind} ${rootName} ${maskDigits(ruleOf(error))} @ ${firstFrame(error)}`,
    count: 1,
    ...(known !== undefined ? { known } : {}),
  };
}

function isAllowed(target: FuzzTarget, error: unknown): boolean {
  return target.allowed.some((c) => error instanceof c);
}

/**
 * Runs one case and tells how it ended.
 * @param target The target.
 * @param input The input.
 * @param context The case's stream, time limit and whether it is a mutant.
 * @returns The outcome, or the error that escaped (`allowed` says whether it is documented).
 */
export async function runCase(
  target: FuzzTarget,
  input: Uint8Array,
  context: CaseContext,
): Promise<
  { outcome: CaseOutcome } | { error: unknown; allowed: boolean }
> {
  try {
    const result = target.run(input, context);
    return { outcome: result instanceof Promise ? await result : result };
  } catch (error) {
    return { error, allowed: isAllowed(target, error) };
  }
}

/**
 * Runs cases `start..cases-1` of one target in this thread.
 * @param target The target.
 * @param options Seed, case range, case limit and callbacks.
 * @returns The counters, the distinct crashes and the time taken.
 */
export async function runFuzzTarget(
  target: FuzzTarget,
  options: RunFuzzOptions,
): Promise<FuzzResult> {
  const { seed, cases } = options;
  const caseMs = options.caseMs ?? DEFAULT_CASE_MS;
  const counts: FuzzCounts = { cases: 0, accepted: 0, rejected: 0, incomplete: 0, ignored: 0 };
  const crashes = new Map<string, FuzzCrash>();
  const rejections = new Set<string>();
  const begin = performance.now();
  const record = (crash: FuzzCrash): void => {
    const seen = crashes.get(crash.signature);
    if (seen) seen.count++;
    else {
      crashes.set(crash.signature, crash);
      options.onCrash?.(crash);
    }
  };
  for (let index = options.start ?? 0; index < cases; index++) {
    options.onCase?.(index, counts);
    const { input, rng, isSeed } = makeCase(target, seed, index);
    const t0 = performance.now();
    const result = await runCase(target, input, { rng, limitMs: caseMs, mutated: !isSeed });
    const took = performance.now() - t0;
    counts.cases++;
    if ("outcome" in result) {
      counts[result.outcome]++;
      if (isSeed && result.outcome !== "accepted") {
        record(
          crashOf(target, seed, index, "seed", new Error(`seed was ${result.outcome}`), input),
        );
      }
    } else if (result.allowed) {
      counts.rejected++;
      if (rejections.size < 10_000) {
        rejections.add(maskDigits(result.error instanceof Error ? result.error.message : ""));
      }
      if (isSeed) record(crashOf(target, seed, index, "seed", result.error, input));
    } else {
      const kind = result.error instanceof InvariantError ? "invariant" : "exception";
      record(crashOf(target, seed, index, kind, result.error, input));
    }
    if (took > caseMs) {
      record(crashOf(
        target,
        seed,
        index,
        "slow",
        new InvariantError(`case took ${Math.round(took)} ms, over the ${caseMs} ms limit`),
        input,
      ));
    }
  }
  const all = [...crashes.values()];
  return {
    target: target.name,
    seed,
    ...counts,
    ms: performance.now() - begin,
    distinctRejections: rejections.size,
    crashes: all.filter((c) => c.known === undefined),
    known: all.filter((c) => c.known !== undefined),
  };
}
