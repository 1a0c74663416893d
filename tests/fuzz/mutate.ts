// Stacks a few mutations on one seed. The mix depends on the target's profile: bencode targets
// get as many structure-aware edits as blind ones, binary targets mostly blind ones.
import { BENCODE_MUTATIONS } from "./bencode_mutations.ts";
import { BYTE_MUTATIONS, type Mutation, type MutationContext } from "./byte_mutations.ts";
import type { Prng } from "./prng.ts";

/** Which mutations suit a target's input. */
export type MutationProfile = "bencode" | "binary" | "text";

/** The largest input a mutation may produce (a little over the 1 MiB tracker body limit). */
export const MAX_MUTATED_BYTES: number = 2 * 1024 * 1024;

const BENCODE_SHARE: Record<MutationProfile, number> = { bencode: 0.5, binary: 0.15, text: 0 };

function pickWeighted(pool: readonly (readonly [Mutation, number])[], rng: Prng): Mutation {
  let total = 0;
  for (const [, weight] of pool) total += weight;
  let x = rng.float() * total;
  for (const [mutation, weight] of pool) {
    x -= weight;
    if (x < 0) return mutation;
  }
  return pool[pool.length - 1][0];
}

/** The share of mutations taken from a target's own structure-aware ones, when it has some. */
const OWN_SHARE = 0.4;

/**
 * Applies one to eight stacked mutations (usually one or two) to `input`.
 * @param input A seed; it is not changed.
 * @param rng The case's random stream.
 * @param context The target's corpus and dictionary.
 * @param profile The target's kind of input.
 * @param own The target's own structure-aware mutations, if any.
 * @returns The mutated bytes (possibly equal to `input` when nothing applied).
 */
export function mutateInput(
  input: Uint8Array,
  rng: Prng,
  context: MutationContext,
  profile: MutationProfile,
  own: readonly (readonly [Mutation, number])[] = [],
): Uint8Array {
  let current = input;
  const rounds = rng.geometric(8);
  for (let round = 0; round < rounds; round++) {
    for (let attempt = 0; attempt < 4; attempt++) {
      const pool = own.length > 0 && rng.chance(OWN_SHARE)
        ? own
        : rng.chance(BENCODE_SHARE[profile])
        ? BENCODE_MUTATIONS
        : BYTE_MUTATIONS;
      const next = pickWeighted(pool, rng)(current, rng, context);
      if (next !== undefined && next.length <= MAX_MUTATED_BYTES) {
        current = next;
        break;
      }
    }
  }
  return current;
}
