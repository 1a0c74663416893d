import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import type { DhtContact } from "../../src/dht/compact_nodes.ts";
import { runLookup } from "../../src/dht/iterative_lookup.ts";
import { Lookup, LOOKUP_ALPHA, LOOKUP_K } from "../../src/dht/lookup.ts";
import { compareDistance } from "../../src/dht/node_id.ts";
import { randomBytes } from "../test_util.ts";

function nodes(count: number, seed: number): DhtContact[] {
  return Array.from({ length: count }, (_, i) => ({
    id: randomBytes(20, seed * 1000 + i),
    host: `10.${seed}.${i >> 8}.${i & 0xff}`,
    port: 1000 + i,
  }));
}

function sortedByDistance(list: DhtContact[], target: Uint8Array): DhtContact[] {
  return [...list].sort((a, b) => compareDistance(a.id, b.id, target));
}

Deno.test("Lookup keeps alpha queries in flight and widens when one is slow", () => {
  const target = randomBytes(20, 1);
  const lookup = new Lookup(target);
  lookup.add(nodes(20, 1));
  const first = lookup.next();
  strictEqual(first.length, LOOKUP_ALPHA);
  deepStrictEqual(lookup.next(), [], "no more while alpha are in flight");
  lookup.slow(first[0]);
  strictEqual(lookup.next().length, 1, "a slow query frees its slot");
  lookup.failed(first[1]);
  strictEqual(lookup.next().length, 1);
  ok(!lookup.done);
  strictEqual(lookup.queries, LOOKUP_ALPHA + 2);
});

Deno.test("Lookup asks nodes known only by address first", () => {
  const lookup = new Lookup(randomBytes(20, 2));
  lookup.add(nodes(5, 2));
  lookup.add([{ host: "192.0.2.1", port: 6881 }]);
  const [first] = lookup.next();
  strictEqual(first.host, "192.0.2.1");
});

Deno.test("Lookup queries the closest first, ends with the 8 closest answered", () => {
  const target = randomBytes(20, 3);
  const all = nodes(30, 3);
  const lookup = new Lookup(target);
  lookup.add(all);
  const asked: DhtContact[] = [];
  while (!lookup.done) {
    const batch = lookup.next();
    ok(batch.length > 0, "not done means there is something to ask or wait for");
    for (const c of batch) {
      asked.push(c as DhtContact);
      lookup.answered(c, c.id!, [], undefined);
    }
  }
  const expected = sortedByDistance(all, target).slice(0, LOOKUP_K).map((c) => c.port);
  deepStrictEqual(lookup.closest().map((n) => n.contact.port), expected);
  strictEqual(asked.length, LOOKUP_K, "only the 8 closest are worth asking");
});

Deno.test("Lookup waits for slow nodes only while fewer than k answered", () => {
  const lookup = new Lookup(randomBytes(20, 4));
  lookup.add(nodes(2, 4));
  const [a, b] = lookup.next();
  lookup.answered(a, a.id!, [], undefined);
  lookup.slow(b);
  ok(!lookup.done, "one answer, one slow node: keep waiting");
  lookup.answered(b, b.id!, [], new Uint8Array([7]));
  ok(lookup.done);
  deepStrictEqual(
    lookup.closest().find((n) => n.contact.port === b.port)?.token,
    new Uint8Array([7]),
  );
});

Deno.test("Lookup stops at its query budget and bounds its candidates", () => {
  const lookup = new Lookup(randomBytes(20, 5), { maxQueries: 5, maxCandidates: 50 });
  lookup.add(nodes(500, 5));
  let sent = 0;
  while (!lookup.done) {
    for (const c of lookup.next()) {
      sent++;
      lookup.failed(c);
    }
  }
  strictEqual(sent, 5);
  strictEqual(lookup.closest().length, 0);
});

/**
 * A simulated DHT: every node knows its 20 nearest live neighbours and a fixed tenth of the
 * network (dead nodes included: stale entries), and answers with the 8 it knows closest to the
 * target. Dead nodes turn slow, then fail.
 */
function simulate(network: DhtContact[], dead: Set<number>, target: Uint8Array) {
  const knows = new Map<number, DhtContact[]>();
  network.forEach((node, i) => {
    const live = network.filter((n) => n !== node && !dead.has(n.port));
    const near = sortedByDistance(live, node.id).slice(0, 20);
    const some = network.filter((n, j) =>
      (i * 7 + j * 13) % 10 === 0 && j !== i && !near.includes(n)
    );
    knows.set(node.port, [...near, ...some]);
  });
  return (contact: { port: number }, slow: () => void) => {
    if (dead.has(contact.port)) {
      return new Promise<undefined>((resolve) =>
        setTimeout(() => {
          slow();
          setTimeout(() => resolve(undefined), 0);
        }, 0)
      );
    }
    const self = network.find((n) => n.port === contact.port)!;
    return Promise.resolve({
      id: self.id,
      nodes: sortedByDistance(knows.get(contact.port)!, target).slice(0, 8),
      values: [{ host: "10.0.0.1", port: contact.port }],
    });
  };
}

Deno.test("runLookup() finds the true 8 closest of a 300-node network from far-away seeds", async () => {
  const network = nodes(300, 6);
  for (const seed of [66, 67, 68]) {
    const target = randomBytes(20, seed);
    const dead = new Set(network.filter((_, i) => (i + seed) % 5 === 0).map((n) => n.port)); // 20%
    const far = sortedByDistance(network, target).slice(-3);
    const peersSeen: number[] = [];
    const outcome = await runLookup(target, far, simulate(network, dead, target), {
      onValues: (peers) => peersSeen.push(...peers.map((p) => p.port)),
    });
    const alive = network.filter((n) => !dead.has(n.port));
    const expected = sortedByDistance(alive, target).slice(0, 8).map((n) => n.port);
    deepStrictEqual(outcome.closest.map((n) => n.contact.port), expected, `target ${seed}`);
    ok(outcome.queries <= 64, `queries: ${outcome.queries}`);
    ok(peersSeen.length > 8 && peersSeen.every((p) => !dead.has(p)), "values of answers only");
  }
});

Deno.test("runLookup() resolves at once when aborted", async () => {
  const controller = new AbortController();
  const never = new Promise<undefined>(() => {});
  const pending = runLookup(randomBytes(20, 7), nodes(5, 7), () => never, {
    signal: controller.signal,
  });
  controller.abort();
  const outcome = await pending;
  strictEqual(outcome.queries, LOOKUP_ALPHA);
  deepStrictEqual(outcome.closest, []);
});
