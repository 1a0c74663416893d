import type { DhtContact } from "./compact_nodes.ts";
import type { DhtAddress } from "./dht_address.ts";
import { Lookup, type LookupContact, type LookupOptions, type LookupResultNode } from "./lookup.ts";

/** What one lookup query returned. */
export interface LookupAnswer {
  /** The answering node's id. */
  id: Uint8Array;
  /** Nodes closer to the target, as the node gave them (already filtered by the caller). */
  nodes: readonly DhtContact[];
  /** Peers (`values` of a `get_peers` reply). */
  values?: readonly DhtAddress[];
  /** The `get_peers` token. */
  token?: Uint8Array;
}

/**
 * Sends one lookup query. Calls `slow()` once the short timeout passes without an answer, and
 * resolves with the answer, or `undefined` on timeout or error.
 */
export type LookupQuery = (contact: LookupContact, slow: () => void) => Promise<
  LookupAnswer | undefined
>;

/** Options of {@linkcode runLookup}. */
export interface RunLookupOptions extends LookupOptions {
  /** Called with the peers of each reply that has some. */
  onValues?: (peers: readonly DhtAddress[], from: LookupContact) => void;
  /** Ends the lookup early (it resolves with what it has). */
  signal?: AbortSignal;
}

/** The outcome of {@linkcode runLookup}. */
export interface LookupOutcome {
  /** The answered nodes closest to the target, with their tokens. */
  closest: LookupResultNode[];
  /** Queries sent. */
  queries: number;
}

/**
 * Runs an iterative lookup: asks the nodes {@linkcode Lookup} hands out through `query`, feeds
 * the answers back, and resolves when the lookup is done or `signal` aborts. Queries still out
 * then are left to time out on their own; their answers are ignored.
 * @param target The 20-byte id or info hash.
 * @param seeds The nodes to start from (routing table, bootstrap routers).
 * @param query Sends one query.
 * @param options Limits, `onValues`, `signal`.
 * @returns The closest answered nodes.
 * @example
 * ```ts
 * import { runLookup } from "@shoal/shoal/dht";
 * import { strictEqual } from "node:assert/strict";
 * const outcome = await runLookup(new Uint8Array(20), [{ host: "10.0.0.1", port: 1 }], () =>
 *   Promise.resolve({ id: new Uint8Array(20).fill(9), nodes: [] }));
 * strictEqual(outcome.closest[0].contact.id[0], 9);
 * ```
 */
export function runLookup(
  target: Uint8Array,
  seeds: readonly LookupContact[],
  query: LookupQuery,
  options: RunLookupOptions = {},
): Promise<LookupOutcome> {
  const lookup = new Lookup(target, options);
  lookup.add(seeds);
  const { signal, onValues } = options;
  return new Promise((resolve) => {
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      signal?.removeEventListener("abort", finish);
      resolve({ closest: lookup.closest(), queries: lookup.queries });
    };
    const pump = (): void => {
      if (finished) return;
      if (signal?.aborted) return finish();
      for (const contact of lookup.next()) {
        let slowed = false;
        const slow = (): void => {
          if (slowed || finished) return;
          slowed = true;
          lookup.slow(contact);
          pump();
        };
        query(contact, slow).then((answer) => {
          if (finished) return;
          if (answer) {
            lookup.answered(contact, answer.id, answer.nodes, answer.token);
            if (answer.values && answer.values.length > 0) {
              try {
                onValues?.(answer.values, contact);
              } catch {
                // the consumer's bug must not stop the lookup
              }
            }
          } else {
            lookup.failed(contact);
          }
          pump();
        }, () => {
          lookup.failed(contact);
          pump();
        });
      }
      if (lookup.done) finish();
    };
    signal?.addEventListener("abort", finish, { once: true });
    pump();
  });
}
