// What a fuzz target is, and the checks targets share. A target decodes one mutated input and
// checks its invariants; the runner decides whether what escaped is allowed.
import { isDeepStrictEqual } from "node:util";
import type { Mutation } from "./byte_mutations.ts";
import type { MutationProfile } from "./mutate.ts";
import type { Prng } from "./prng.ts";

/** How a case ended when nothing was thrown. */
export type CaseOutcome =
  /** Decoded, and every invariant held. */
  | "accepted"
  /** A "need more bytes" decoder asked for more. */
  | "incomplete"
  /** A decoder that ignores junk (UDP tracker packets) ignored it. */
  | "ignored";

/** A constructor of an error class a codec documents. */
// deno-lint-ignore no-explicit-any
export type ErrorClass = abstract new (...args: any[]) => Error;

/** A crash found earlier in a file this project may not edit yet: tolerated, and reported. */
export interface KnownIssue {
  /** A short name, e.g. "tracker-peers-spread". */
  readonly id: string;
  /** What is wrong, where, and what the fix is (shown in every report). */
  readonly todo: string;
  /**
   * Tells whether a failure is this issue.
   * @param error What escaped (an `InvariantError` for a broken invariant).
   * @param input The case's input.
   */
  matches(error: unknown, input: Uint8Array): boolean;
}

/** One codec under fuzz. */
export interface FuzzTarget {
  /** Short name for `--target`. */
  readonly name: string;
  /** What is fuzzed and which invariants are checked. */
  readonly description: string;
  /** The error classes the codec documents for bad input: the only ones that may escape. */
  readonly allowed: readonly ErrorClass[];
  /** Which mutations suit the input. */
  readonly profile: MutationProfile;
  /** Mutations that know the input's own structure, mixed in with the generic ones. */
  readonly mutations?: readonly (readonly [Mutation, number])[];
  /** Tokens the mutator may insert (binary strings, one char per byte). */
  readonly dictionary?: readonly string[];
  /** Known crashes not fixed yet. */
  readonly knownIssues?: readonly KnownIssue[];
  /** Valid seeds, built with the project's own encoders; each must be accepted unmutated. */
  corpus(): Uint8Array[];
  /**
   * Runs one case. Throws what the codec throws, or an {@linkcode InvariantError}.
   * @param input The (mutated) input.
   * @param context The case's random stream, time limit and whether it is a mutant.
   */
  run(input: Uint8Array, context: CaseContext): CaseOutcome | Promise<CaseOutcome>;
}

/** What a target gets besides the input. */
export interface CaseContext {
  /** The case's random stream, for targets that choose more than the input. */
  rng: Prng;
  /** The case's time limit, for targets that can enforce one themselves. */
  limitMs: number;
  /** False for an unmutated seed, which must be accepted as it is. */
  mutated: boolean;
}

/** A decoded value broke a rule that holds for every input (not a rejection). */
export class InvariantError extends Error {
  /** The rule without the details of this case, to tell distinct crashes apart. */
  readonly rule: string;
  /**
   * Makes the error.
   * @param message Which rule and how it broke.
   * @param options `cause` when an unexpected error broke it; `rule` when the message holds
   *   details of the case (values) that would make every case look like a new crash.
   */
  constructor(message: string, options?: ErrorOptions & { rule?: string }) {
    super(message, options);
    this.name = "InvariantError";
    this.rule = options?.rule ?? message;
  }
}

/**
 * Throws an {@linkcode InvariantError} unless `condition` holds.
 * @param condition The rule.
 * @param message What broke (a function when building it costs).
 */
export function invariant(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) throw new InvariantError(typeof message === "string" ? message : message());
}

/**
 * Checks two values are deeply equal (Maps, typed arrays and all), for round trips.
 * @param actual The value after the round trip.
 * @param expected The value before it.
 * @param what Which round trip.
 */
export function invariantEqual(actual: unknown, expected: unknown, what: string): void {
  if (!isDeepStrictEqual(actual, expected)) {
    throw new InvariantError(`${what}: ${preview(actual)} is not ${preview(expected)}`, {
      rule: `${what} differs`,
    });
  }
}

/**
 * Runs `fn`, which must not throw: any error becomes an {@linkcode InvariantError} with it as the
 * cause (for re-encoding a decoded value, or decoding a prefix of valid input).
 * @param what What is run.
 * @param fn The call.
 * @returns What `fn` returned.
 */
export function mustNotThrow<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw new InvariantError(`${what} threw ${String(error)}`, {
      cause: error,
      rule: `${what} threw`,
    });
  }
}

/**
 * Runs `fn`, which must throw one of `classes` (and nothing else, and not return).
 * @param what What is run.
 * @param classes The allowed error classes.
 * @param fn The call.
 */
export function mustThrow(what: string, classes: readonly ErrorClass[], fn: () => unknown): void {
  let value: unknown;
  try {
    value = fn();
  } catch (error) {
    if (classes.some((c) => error instanceof c)) return;
    throw new InvariantError(`${what} threw ${String(error)}`, {
      cause: error,
      rule: `${what} threw`,
    });
  }
  throw new InvariantError(`${what} returned ${preview(value)} instead of throwing`);
}

/**
 * Prefix lengths worth checking for an input of `length` bytes: the short ones, one short of
 * whole, and a few picked at random (checking them all would make big cases quadratic).
 * @param length The whole input's length.
 * @param rng The case's random stream.
 * @returns Distinct lengths in 0..length-1.
 */
export function prefixLengths(length: number, rng: Prng): number[] {
  const out = new Set<number>();
  for (let n = 0; n < Math.min(length, 6); n++) out.add(n);
  if (length > 0) out.add(length - 1);
  for (let i = 0; i < 4 && length > 0; i++) out.add(rng.below(length));
  return [...out];
}

/**
 * A short description of a value for messages.
 * @param value Anything.
 * @returns At most about 200 characters.
 */
export function preview(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(
      value,
      (_, v) =>
        v instanceof Uint8Array
          ? `<${v.length} bytes>`
          : v instanceof Map
          ? Object.fromEntries(v)
          : typeof v === "bigint"
          ? `${v}n`
          : v,
    );
  } catch {
    text = String(value);
  }
  text ??= String(value);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

/**
 * Turns a binary string (one char per byte) into bytes.
 * @param text Chars 0..255.
 * @returns The bytes.
 */
export function binary(text: string): Uint8Array {
  return Uint8Array.from(text, (ch) => ch.charCodeAt(0));
}
