// Targets with planted bugs, for testing the harness itself (fuzz_test.ts): one throws an
// undocumented error, one loops forever, one kills its worker, one has a seed it refuses.
import type { CaseOutcome, FuzzTarget } from "./fuzz_target.ts";

const SEED = new Uint8Array([1, 2, 3, 4]);

/** The planted trigger: an input of 7 bytes or more whose second byte is odd. */
export function triggers(input: Uint8Array): boolean {
  return input.length >= 7 && (input[1] & 1) === 1;
}

/** Throws a TypeError on trigger inputs and its documented SyntaxError on short ones. */
export const crashyTarget: FuzzTarget = {
  name: "fake-crashy",
  description: "TypeError on a trigger input, SyntaxError (allowed) below 4 bytes",
  allowed: [SyntaxError],
  profile: "binary",
  corpus: () => [SEED],
  run(input) {
    if (triggers(input)) throw new TypeError("planted bug");
    if (input.length < 4) throw new SyntaxError("too short");
    return "accepted";
  },
};

/** Never returns from a trigger input. */
export const hangingTarget: FuzzTarget = {
  name: "fake-hanging",
  description: "an endless loop on a trigger input",
  allowed: [],
  profile: "binary",
  corpus: () => [SEED],
  run(input) {
    // deno-lint-ignore no-empty
    if (triggers(input)) { for (;;) {} }
    return "accepted";
  },
};

/** Leaves an error no one catches on a trigger input, which ends its worker. */
export const dyingTarget: FuzzTarget = {
  name: "fake-dying",
  description: "an uncaught error in a callback on a trigger input",
  allowed: [],
  profile: "binary",
  corpus: () => [SEED],
  async run(input): Promise<CaseOutcome> {
    if (triggers(input)) {
      setTimeout(() => {
        throw new RangeError("planted uncaught error (the harness test expects it)");
      }, 0);
      await new Promise(() => {}); // the case never ends; the worker dies first
    }
    return "accepted";
  },
};

/** Refuses its own seed with its documented error. */
export const badSeedTarget: FuzzTarget = {
  name: "fake-bad-seed",
  description: "a corpus entry the codec refuses",
  allowed: [SyntaxError],
  profile: "binary",
  corpus: () => [SEED, new Uint8Array(0)],
  run(input) {
    if (input.length === 0) throw new SyntaxError("empty");
    return "accepted";
  },
};
