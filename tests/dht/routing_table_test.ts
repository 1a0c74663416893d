import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { commonPrefixBits, randomIdWithPrefix } from "../../src/dht/node_id.ts";
import {
  BUCKET_REFRESH_MS,
  BUCKET_SIZE,
  MAX_NODE_FAILURES,
  NODE_GOOD_MS,
  nodeState,
  REPLACEMENTS_PER_BUCKET,
  RoutingTable,
} from "../../src/dht/routing_table.ts";

const own = new Uint8Array(20); // all zero: bucket i holds ids whose first set bit is bit i
let nextPort = 1000;

function contact(id: Uint8Array) {
  nextPort++;
  return { id, host: `10.0.${nextPort >> 8}.${nextPort & 0xff}`, port: nextPort };
}

/** An id whose first set bit is `bit` (so it shares exactly `bit` leading bits with `own`). */
function idAtBit(bit: number, tail = 0): Uint8Array {
  const id = randomIdWithPrefix(own, bit, true);
  id[19] = tail;
  return id;
}

Deno.test("nodeState() follows the 15-minute rule and failures", () => {
  const fresh = { lastResponse: 0, lastQuery: undefined, failures: 0 };
  strictEqual(nodeState(fresh, NODE_GOOD_MS - 1), "good");
  strictEqual(nodeState(fresh, NODE_GOOD_MS), "questionable");
  // Once answered and queried us recently: good again.
  strictEqual(nodeState({ ...fresh, lastQuery: NODE_GOOD_MS }, NODE_GOOD_MS + 1), "good");
  // Never answered: questionable even if it queries us.
  strictEqual(nodeState({ lastResponse: undefined, lastQuery: 5, failures: 0 }, 6), "questionable");
  strictEqual(nodeState({ ...fresh, failures: 1 }, 1), "questionable");
  strictEqual(nodeState({ ...fresh, failures: MAX_NODE_FAILURES }, 1), "bad");
});

Deno.test("RoutingTable splits only the bucket our id falls in", () => {
  const table = new RoutingTable(own);
  // Fill the far half (first bit 1): 8 nodes fit in the single bucket.
  for (let i = 0; i < BUCKET_SIZE; i++) {
    strictEqual(table.heardResponse(contact(idAtBit(0, i)), 0), "added");
  }
  strictEqual(table.bucketCount, 1);
  // A ninth far node splits the only bucket (it holds our id), but the far nodes all land in
  // bucket 0, which can no longer split: the ninth goes to the replacement cache.
  strictEqual(table.heardResponse(contact(idAtBit(0, 99)), 0), "replacement");
  strictEqual(table.bucketCount, 2);
  strictEqual(table.size, BUCKET_SIZE);
  // Near nodes go to the new last bucket, which splits again as it fills.
  for (let bit = 1; bit <= 12; bit++) {
    for (let i = 0; i < 3; i++) {
      strictEqual(table.heardResponse(contact(idAtBit(bit, i)), 0), "added");
    }
  }
  strictEqual(table.size, BUCKET_SIZE + 36);
  ok(table.bucketCount >= 10, `buckets: ${table.bucketCount}`);
  // Every node sits in the bucket of its prefix length (or the last one).
  for (const node of table.nodes()) {
    const cpl = commonPrefixBits(node.id, own);
    strictEqual(table.bucketIndex(node.id), Math.min(cpl, table.bucketCount - 1));
  }
  // No bucket other than the last could ever exceed K: far nodes beyond 8 never got in.
  strictEqual(table.nodes().filter((n) => commonPrefixBits(n.id, own) === 0).length, BUCKET_SIZE);
});

Deno.test("RoutingTable keeps one node per address and refuses our own id", () => {
  const table = new RoutingTable(own);
  const a = contact(idAtBit(3));
  strictEqual(table.heardResponse(a, 0), "added");
  strictEqual(table.heardResponse({ ...a, id: idAtBit(5) }, 0), "ignored");
  strictEqual(table.heardResponse({ id: own, host: "10.9.9.9", port: 1 }, 0), "ignored");
  // The same id from another address does not move a healthy node.
  strictEqual(table.heardResponse({ ...a, port: 1 }, 0), "ignored");
  strictEqual(table.find(a.id)?.port, a.port);
  strictEqual(table.size, 1);
});

Deno.test("RoutingTable moves nodes good -> questionable -> bad and replaces bad ones", () => {
  const table = new RoutingTable(own);
  const far = Array.from({ length: BUCKET_SIZE }, (_, i) => contact(idAtBit(0, i)));
  for (const c of far) table.heardResponse(c, 0);
  table.heardResponse(contact(idAtBit(1)), 0); // split: far nodes now in a full bucket 0
  deepStrictEqual(table.counts(1).good, BUCKET_SIZE + 1);
  // A 15-minute silence makes them questionable; nodesToPing lists them oldest first.
  table.heardResponse(far[3], 60_000);
  const later = NODE_GOOD_MS + 1;
  strictEqual(nodeState(table.find(far[0].id)!, later), "questionable");
  strictEqual(nodeState(table.find(far[3].id)!, later), "good");
  const toPing = table.nodesToPing(later, 100);
  ok(!toPing.some((n) => n.port === far[3].port));
  strictEqual(toPing.length, BUCKET_SIZE);
  // A spare waits in the replacement cache while the bucket is full of non-bad nodes.
  const spare = contact(idAtBit(0, 200));
  strictEqual(table.heardResponse(spare, later), "replacement");
  strictEqual(table.counts(later).replacements, 1);
  ok(table.wouldAccept(idAtBit(0, 201), later), "questionable nodes make room worth a ping");
  // Failures in a row make far[0] bad; the spare takes its place.
  for (let i = 0; i < MAX_NODE_FAILURES - 1; i++) {
    strictEqual(table.failed(far[0].id, later), "questionable");
  }
  strictEqual(table.failed(far[0].id, later), "bad");
  strictEqual(table.find(far[0].id), undefined);
  ok(table.find(spare.id));
  strictEqual(table.counts(later).replacements, 0);
  // Without spares, a bad node stays (counted bad) until a new node answers, which replaces it.
  for (let i = 0; i < MAX_NODE_FAILURES; i++) table.failed(far[1].id, later);
  strictEqual(table.counts(later).bad, 1);
  ok(
    !table.closest(far[1].id, 20, later).some((n) => n.port === far[1].port),
    "bad nodes are not handed out",
  );
  const newcomer = contact(idAtBit(0, 202));
  strictEqual(table.heardResponse(newcomer, later), "added");
  strictEqual(table.find(far[1].id), undefined);
  strictEqual(table.counts(later).bad, 0);
  // An answer resets failures.
  table.failed(far[2].id, later);
  table.heardResponse(far[2], later);
  strictEqual(nodeState(table.find(far[2].id)!, later), "good");
});

Deno.test("RoutingTable bounds the replacement cache", () => {
  const table = new RoutingTable(own);
  for (let i = 0; i < BUCKET_SIZE; i++) table.heardResponse(contact(idAtBit(0, i)), 0);
  table.heardResponse(contact(idAtBit(1)), 0);
  for (let i = 0; i < 50; i++) table.heardResponse(contact(idAtBit(0, 100 + i)), 0);
  strictEqual(table.counts(0).replacements, REPLACEMENTS_PER_BUCKET);
  ok(!table.wouldAccept(idAtBit(0, 250), 0), "a bucket of good nodes takes nobody");
});

Deno.test("RoutingTable.addUnverified() only fills room and never evicts", () => {
  const table = new RoutingTable(own);
  for (let i = 0; i < BUCKET_SIZE; i++) table.heardResponse(contact(idAtBit(0, i)), 0);
  table.heardResponse(contact(idAtBit(1)), 0);
  strictEqual(table.addUnverified(contact(idAtBit(0, 50)), 0), "ignored");
  strictEqual(table.addUnverified(contact(idAtBit(4)), 0), "added");
  strictEqual(table.counts(0).questionable, 1);
});

Deno.test("RoutingTable.heardQuery() updates known nodes only", () => {
  const table = new RoutingTable(own);
  const a = contact(idAtBit(2));
  ok(!table.heardQuery(a, 0), "an unknown querier is not added");
  strictEqual(table.size, 0);
  table.heardResponse(a, 0);
  ok(table.heardQuery(a, NODE_GOOD_MS + 5));
  strictEqual(nodeState(table.find(a.id)!, NODE_GOOD_MS + 6), "good");
  ok(!table.heardQuery({ ...a, port: 9 }, 0), "same id from another address");
});

Deno.test("RoutingTable.closest() sorts by XOR distance to the target", () => {
  const table = new RoutingTable(own);
  for (let bit = 0; bit < 30; bit++) table.heardResponse(contact(idAtBit(bit)), 0);
  const target = idAtBit(7);
  const closest = table.closest(target, 8, 0);
  strictEqual(closest.length, 8);
  for (let i = 1; i < closest.length; i++) {
    ok(commonPrefixBits(closest[i - 1].id, target) >= commonPrefixBits(closest[i].id, target));
  }
  strictEqual(commonPrefixBits(closest[0].id, target) > 7, true);
});

Deno.test("RoutingTable.takeStaleBuckets() returns a target in each bucket left alone for 15 minutes", () => {
  const table = new RoutingTable(own, 0);
  for (let i = 0; i < BUCKET_SIZE; i++) table.heardResponse(contact(idAtBit(0, i)), 0);
  table.heardResponse(contact(idAtBit(1)), 0); // 2 buckets
  deepStrictEqual(table.takeStaleBuckets(BUCKET_REFRESH_MS - 1), []);
  table.heardResponse(contact(idAtBit(3)), BUCKET_REFRESH_MS - 1); // touches the last bucket
  const stale = table.takeStaleBuckets(BUCKET_REFRESH_MS);
  strictEqual(stale.length, 1);
  strictEqual(commonPrefixBits(stale[0], own), 0, "a target inside bucket 0");
  deepStrictEqual(table.takeStaleBuckets(BUCKET_REFRESH_MS + 1), [], "refreshed from now on");
  strictEqual(table.takeStaleBuckets(3 * BUCKET_REFRESH_MS, 1).length, 1, "at most max");
  const both = table.takeStaleBuckets(5 * BUCKET_REFRESH_MS);
  strictEqual(both.length, 2);
  ok(commonPrefixBits(both[1], own) >= 1, "the last bucket's target shares our prefix");
});

Deno.test("RoutingTable.withOwnId() re-places every node under a new id", () => {
  const table = new RoutingTable(own);
  const nodes = Array.from({ length: 30 }, (_, i) => contact(idAtBit(i % 20, i)));
  for (const c of nodes) table.heardResponse(c, 0);
  strictEqual(table.size, 30);
  // A nearby id (only the last bit differs) keeps the same buckets: every node fits.
  const near = own.slice();
  near[19] = 1;
  const moved = table.withOwnId(near, 1);
  strictEqual(moved.size, 30);
  // A far id puts all these nodes (first bit 0) in its bucket 0: K stay, K wait as spares.
  const far = new Uint8Array(20).fill(0xff);
  const crowded = table.withOwnId(far, 1);
  strictEqual(
    crowded.size,
    BUCKET_SIZE + 2,
    "K in bucket 0, plus the two nodes whose first bit is 1",
  );
  strictEqual(crowded.counts(1).replacements, REPLACEMENTS_PER_BUCKET);
  for (const node of crowded.nodes()) {
    ok(table.find(node.id), "only nodes of the old table");
    strictEqual(
      crowded.bucketIndex(node.id),
      Math.min(commonPrefixBits(node.id, far), crowded.bucketCount - 1),
    );
  }
});
