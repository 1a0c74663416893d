import { deepStrictEqual, match, ok, strictEqual, throws } from "node:assert/strict";
import { sha1 } from "../../src/sha1/sha1.ts";
import {
  MAX_METADATA_BYTES,
  METADATA_HASH_FAIL_BACKOFF_MS,
  METADATA_MAX_REJECTS,
  METADATA_REJECT_BACKOFF_MS,
  METADATA_REQUEST_TIMEOUT_MS,
  METADATA_RETRY_AFTER_MS,
  MetadataFetcher,
} from "../../src/scheduler/metadata_fetcher.ts";
import { METADATA_PIECE_SIZE } from "../../src/wire/metadata.ts";
import { randomBytes } from "../test_util.ts";

const P = METADATA_PIECE_SIZE;

function piece(info: Uint8Array, index: number): Uint8Array {
  return info.subarray(index * P, Math.min((index + 1) * P, info.length));
}

/** Answers every piece the fetcher asks `peer` for, honestly, until done; returns the rounds. */
function fetchFrom(fetcher: MetadataFetcher, peer: string, info: Uint8Array, now = 0): number {
  let rounds = 0;
  while (!fetcher.done) {
    const asked = fetcher.nextRequests(peer, now);
    ok(asked.length > 0, `round ${rounds}: nothing asked`);
    ok(asked.length <= 2, `round ${rounds}: ${asked.length} requests in flight`);
    for (const index of asked) {
      const outcome = fetcher.onData(peer, index, info.length, piece(info, index), now);
      strictEqual(outcome.drop, undefined);
      strictEqual(outcome.hashFailed, undefined);
    }
    rounds++;
    now += 10;
  }
  return rounds;
}

Deno.test("MetadataFetcher fetches a 150,000-byte dictionary, two requests at a time", () => {
  const info = randomBytes(150_000, 1);
  const fetcher = new MetadataFetcher(sha1(info));
  deepStrictEqual(fetcher.addPeer("a", info.length, 0), {});
  deepStrictEqual(fetcher.progress, { received: 0, total: 150_000, peers: 1 });
  deepStrictEqual(fetcher.nextRequests("a", 0), [0, 1]);
  deepStrictEqual(fetcher.nextRequests("a", 0), [], "both slots are taken");
  strictEqual(fetcher.onData("a", 1, info.length, piece(info, 1), 5).done, undefined);
  deepStrictEqual(fetcher.progress.received, P);
  deepStrictEqual(fetcher.nextRequests("a", 5), [2], "one slot freed");
  let done: Uint8Array | undefined;
  let now = 10;
  for (const index of [0, 2]) fetcher.onData("a", index, info.length, piece(info, index), now);
  while (!done) {
    const asked = fetcher.nextRequests("a", now);
    ok(asked.length > 0 && asked.length <= 2);
    for (const index of asked) {
      done ??= fetcher.onData("a", index, info.length, piece(info, index), now).done;
    }
    now += 10;
  }
  deepStrictEqual(done, info);
  strictEqual(fetcher.done, true);
  deepStrictEqual(fetcher.progress, { received: 150_000, total: 150_000, peers: 1 });
  deepStrictEqual(fetcher.nextRequests("a", now), [], "nothing is asked once done");
  strictEqual(fetcher.nextWakeMs(now), undefined);
});

Deno.test("MetadataFetcher spreads pieces over the peers", () => {
  const info = randomBytes(5 * P, 2);
  const fetcher = new MetadataFetcher(sha1(info));
  for (const peer of ["a", "b", "c"]) fetcher.addPeer(peer, info.length, 0);
  deepStrictEqual(fetcher.nextRequests("a", 0), [0, 1]);
  deepStrictEqual(fetcher.nextRequests("b", 0), [2, 3]);
  deepStrictEqual(fetcher.nextRequests("c", 0), [4]);
  let done: Uint8Array | undefined;
  for (const [peer, index] of [["c", 4], ["b", 3], ["a", 0], ["b", 2], ["a", 1]] as const) {
    done = fetcher.onData(peer, index, info.length, piece(info, index), 100).done ?? done;
  }
  deepStrictEqual(done, info);
});

Deno.test("MetadataFetcher asks nobody for a piece again within 3 s, then another peer", () => {
  const info = randomBytes(2 * P, 3);
  const fetcher = new MetadataFetcher(sha1(info));
  fetcher.addPeer("slow", info.length, 0);
  fetcher.addPeer("fast", info.length, 0);
  deepStrictEqual(fetcher.nextRequests("slow", 1000), [0, 1]);
  strictEqual(fetcher.nextWakeMs(1000), 1000 + METADATA_RETRY_AFTER_MS);
  for (let now = 1000; now < 1000 + METADATA_RETRY_AFTER_MS; now += 250) {
    deepStrictEqual(fetcher.nextRequests("fast", now), [], `asked again at ${now}`);
  }
  deepStrictEqual(fetcher.nextRequests("fast", 4000), [0, 1]);
  deepStrictEqual(fetcher.nextRequests("slow", 8000), [], "never twice of the same peer");
  // The slow peer's late answer was asked for: accepted, and the fast peer's copy is ignored.
  deepStrictEqual(fetcher.onData("slow", 0, info.length, piece(info, 0), 4100), {});
  deepStrictEqual(fetcher.onData("fast", 0, info.length, piece(info, 0), 4200), {});
  deepStrictEqual(fetcher.onData("fast", 1, info.length, piece(info, 1), 4300).done, info);
  deepStrictEqual(fetcher.onData("slow", 1, info.length, piece(info, 1), 4400), {});
});

Deno.test("MetadataFetcher frees a slot after the request timeout but never re-asks that peer", () => {
  const info = randomBytes(4 * P, 4);
  const fetcher = new MetadataFetcher(sha1(info));
  fetcher.addPeer("a", info.length, 0);
  deepStrictEqual(fetcher.nextRequests("a", 0), [0, 1]);
  deepStrictEqual(fetcher.nextRequests("a", METADATA_REQUEST_TIMEOUT_MS - 1), []);
  strictEqual(fetcher.nextWakeMs(METADATA_RETRY_AFTER_MS), METADATA_REQUEST_TIMEOUT_MS);
  deepStrictEqual(fetcher.nextRequests("a", METADATA_REQUEST_TIMEOUT_MS), [2, 3]);
  deepStrictEqual(fetcher.onData("a", 0, info.length, piece(info, 0), 20_000), {});
});

Deno.test("MetadataFetcher backs a rejecting peer off for 60 s and frees its piece at once", () => {
  const info = randomBytes(3 * P, 5);
  const fetcher = new MetadataFetcher(sha1(info));
  fetcher.addPeer("a", info.length, 0);
  fetcher.addPeer("b", info.length, 0);
  deepStrictEqual(fetcher.nextRequests("a", 0), [0, 1]);
  deepStrictEqual(fetcher.onReject("a", 0, 100), {});
  deepStrictEqual(fetcher.nextRequests("b", 100), [0, 2], "piece 0 is free at once");
  strictEqual(fetcher.nextWakeMs(100), 3000, "piece 1, asked of a at 0, is due at 3 s");
  deepStrictEqual(fetcher.nextRequests("a", 100 + METADATA_REJECT_BACKOFF_MS - 1), []);
  deepStrictEqual(
    fetcher.nextRequests("a", 100 + METADATA_REJECT_BACKOFF_MS),
    [0, 2],
    "b never answered: a is asked again once its back-off ends",
  );
  strictEqual(METADATA_REJECT_BACKOFF_MS, 60_000);
});

Deno.test("MetadataFetcher drops a peer after a reject storm", () => {
  const info = randomBytes(P, 6);
  const fetcher = new MetadataFetcher(sha1(info));
  fetcher.addPeer("storm", info.length, 0);
  fetcher.nextRequests("storm", 0);
  for (let i = 0; i < METADATA_MAX_REJECTS; i++) {
    deepStrictEqual(fetcher.onReject("storm", 0, i), {}, `reject ${i + 1}`);
  }
  match(fetcher.onReject("storm", 0, 10).drop ?? "", /reject storm: 9 rejects/);
  match(fetcher.onReject("stranger", 0, 10).drop ?? "", /before offering ut_metadata/);
});

Deno.test("MetadataFetcher penalises every contributor of a bad dictionary and starts over", () => {
  const info = randomBytes(4 * P, 7);
  const bad = info.slice();
  bad[P + 7] ^= 1;
  const fetcher = new MetadataFetcher(sha1(info));
  for (const peer of ["liar", "honest", "late"]) fetcher.addPeer(peer, info.length, 0);
  deepStrictEqual(fetcher.nextRequests("liar", 0), [0, 1]);
  deepStrictEqual(fetcher.nextRequests("honest", 0), [2, 3]);
  fetcher.onData("liar", 0, info.length, piece(bad, 0), 10);
  fetcher.onData("liar", 1, info.length, piece(bad, 1), 10);
  fetcher.onData("honest", 2, info.length, piece(info, 2), 10);
  const outcome = fetcher.onData("honest", 3, info.length, piece(info, 3), 10);
  deepStrictEqual(outcome.hashFailed?.toSorted(), ["honest", "liar"]);
  strictEqual(outcome.done, undefined);
  strictEqual(fetcher.done, false);
  deepStrictEqual(fetcher.progress, { received: 0, total: info.length, peers: 1 });
  deepStrictEqual(fetcher.nextRequests("liar", 20), []);
  deepStrictEqual(fetcher.nextRequests("honest", 20), []);
  // A reconnect does not wash the penalty off.
  fetcher.removePeer("liar");
  fetcher.addPeer("liar", info.length, 30);
  deepStrictEqual(fetcher.nextRequests("liar", 30), []);
  strictEqual(fetcher.progress.peers, 1);
  strictEqual(fetcher.nextWakeMs(30), 10 + METADATA_HASH_FAIL_BACKOFF_MS);
  fetchFrom(fetcher, "late", info, 40);
  strictEqual(fetcher.done, true);
});

Deno.test("MetadataFetcher with hashFailBackoffMs Infinity never asks a failed peer again", () => {
  const info = randomBytes(100, 8);
  const fetcher = new MetadataFetcher(sha1(info), { hashFailBackoffMs: Infinity });
  fetcher.addPeer("liar", info.length, 0);
  deepStrictEqual(fetcher.nextRequests("liar", 0), [0]);
  deepStrictEqual(fetcher.onData("liar", 0, 100, new Uint8Array(100), 1).hashFailed, ["liar"]);
  deepStrictEqual(fetcher.nextRequests("liar", Number.MAX_SAFE_INTEGER), []);
  strictEqual(fetcher.nextWakeMs(2), undefined);
});

Deno.test("MetadataFetcher accepts the 14,292,960-byte dictionary of rqbit #332 and refuses 64 MiB + 1", () => {
  const size = 14_292_960;
  const info = randomBytes(size, 9);
  const fetcher = new MetadataFetcher(sha1(info));
  deepStrictEqual(fetcher.addPeer("big", size, 0), {});
  const rounds = fetchFrom(fetcher, "big", info);
  strictEqual(rounds, Math.ceil(Math.ceil(size / P) / 2));
  strictEqual(fetcher.progress.total, size);

  const capped = new MetadataFetcher(new Uint8Array(20));
  deepStrictEqual(capped.addPeer("max", MAX_METADATA_BYTES, 0), {});
  strictEqual(MAX_METADATA_BYTES, 64 * 1024 * 1024);
  match(
    capped.addPeer("over", MAX_METADATA_BYTES + 1, 0).drop ?? "",
    /metadata_size 67108865, over the 67108864-byte cap/,
  );
  for (const size of [0, -1, 1.5, NaN]) {
    match(capped.addPeer("odd", size, 0).drop ?? "", /not a positive integer/);
  }
  const small = new MetadataFetcher(new Uint8Array(20), { maxBytes: 1000 });
  deepStrictEqual(small.addPeer("ok", 1000, 0), {});
  ok(small.addPeer("over", 1001, 0).drop);
});

Deno.test("MetadataFetcher drops peers whose data is hostile", async (t) => {
  const info = randomBytes(3 * P + 100, 10);
  const size = info.length;
  function started(): MetadataFetcher {
    const fetcher = new MetadataFetcher(sha1(info));
    fetcher.addPeer("p", size, 0);
    deepStrictEqual(fetcher.nextRequests("p", 0), [0, 1]);
    return fetcher;
  }
  const cases: [string, (f: MetadataFetcher) => string | undefined, RegExp][] = [
    [
      "total_size over the cap",
      (f) => f.onData("p", 0, MAX_METADATA_BYTES + 1, piece(info, 0), 1).drop,
      /over the 67108864-byte cap/,
    ],
    [
      "total_size not what it advertised",
      (f) => f.onData("p", 0, size + 1, piece(info, 0), 1).drop,
      /total_size 49253 but advertised metadata_size 49252/,
    ],
    ["total_size changing between pieces", (f) => {
      strictEqual(f.onData("p", 0, size, piece(info, 0), 1).drop, undefined);
      return f.onData("p", 1, size - 1, piece(info, 1), 2).drop;
    }, /changed total_size from 49252 to 49251 between pieces/],
    [
      "a piece index past the end",
      (f) => f.onData("p", 4, size, new Uint8Array(P), 1).drop,
      /piece 4 of a 4-piece dictionary/,
    ],
    [
      "a negative piece index",
      (f) => f.onData("p", -1, size, new Uint8Array(P), 1).drop,
      /piece -1/,
    ],
    [
      "a short non-final piece",
      (f) => f.onData("p", 1, size, new Uint8Array(P - 1), 1).drop,
      /16383 bytes for non-final piece 1, expected 16384/,
    ],
    ["a long final piece", (f) => {
      f.onData("p", 0, size, piece(info, 0), 1);
      f.onData("p", 1, size, piece(info, 1), 1);
      deepStrictEqual(f.nextRequests("p", 2), [2, 3]);
      return f.onData("p", 3, size, new Uint8Array(101), 3).drop;
    }, /101 bytes for final piece 3, expected 100/],
    [
      "data for a piece never asked of it",
      (f) => f.onData("p", 2, size, piece(info, 2), 1).drop,
      /piece 2, never asked of it/,
    ],
    ["the same piece twice", (f) => {
      strictEqual(f.onData("p", 0, size, piece(info, 0), 1).drop, undefined);
      return f.onData("p", 0, size, piece(info, 0), 2).drop;
    }, /piece 0, never asked of it/],
    [
      "data from a peer never added",
      (f) => f.onData("q", 0, size, piece(info, 0), 1).drop,
      /before offering ut_metadata/,
    ],
    [
      "a bad total_size",
      (f) => f.onData("p", 0, 0, new Uint8Array(0), 1).drop,
      /total_size 0, not a positive integer/,
    ],
  ];
  for (const [name, act, reason] of cases) {
    await t.step(name, () => {
      const fetcher = started();
      match(act(fetcher) ?? "(not dropped)", reason);
      strictEqual(fetcher.done, false);
    });
  }
});

Deno.test("MetadataFetcher fetches the size most peers advertise, and only from them", () => {
  const info = randomBytes(2 * P, 11);
  const fetcher = new MetadataFetcher(sha1(info));
  fetcher.addPeer("odd1", 5000, 0);
  strictEqual(fetcher.progress.total, 5000);
  fetcher.addPeer("a", info.length, 0);
  strictEqual(fetcher.progress.total, 5000, "a tie keeps the size seen first");
  fetcher.addPeer("b", info.length, 0);
  strictEqual(fetcher.progress.total, info.length, "the majority wins while nothing is received");
  deepStrictEqual(fetcher.nextRequests("odd1", 0), []);
  deepStrictEqual(fetcher.nextRequests("a", 0), [0, 1]);
  fetcher.onData("a", 0, info.length, piece(info, 0), 1);
  // Three peers of another size arrive: the bytes received keep the fetch on its size.
  for (const peer of ["x", "y", "z"]) fetcher.addPeer(peer, 7000, 2);
  strictEqual(fetcher.progress.total, info.length);
  deepStrictEqual(fetcher.nextRequests("x", 3), []);
  deepStrictEqual(fetcher.onData("a", 1, info.length, piece(info, 1), 4).done, info);
});

Deno.test("MetadataFetcher moves to the next size when all peers of its size fail the hash", () => {
  const real = randomBytes(P + 10, 12);
  const fake = randomBytes(3 * P, 13);
  const fetcher = new MetadataFetcher(sha1(real));
  for (const peer of ["f1", "f2", "f3"]) fetcher.addPeer(peer, fake.length, 0);
  fetcher.addPeer("r", real.length, 0);
  deepStrictEqual(fetcher.nextRequests("r", 0), []);
  deepStrictEqual(fetcher.nextRequests("f1", 0), [0, 1]);
  deepStrictEqual(fetcher.nextRequests("f2", 0), [2]);
  fetcher.onData("f1", 0, fake.length, piece(fake, 0), 1);
  fetcher.onData("f2", 2, fake.length, piece(fake, 2), 1);
  deepStrictEqual(
    fetcher.onData("f1", 1, fake.length, piece(fake, 1), 2).hashFailed?.toSorted(),
    ["f1", "f2"],
  );
  strictEqual(fetcher.progress.total, fake.length, "f3 still advertises it");
  deepStrictEqual(fetcher.nextRequests("f3", 3), [0, 1]);
  fetcher.onData("f3", 0, fake.length, piece(fake, 0), 4);
  fetcher.nextRequests("f3", 4);
  fetcher.onData("f3", 1, fake.length, piece(fake, 1), 5);
  deepStrictEqual(fetcher.onData("f3", 2, fake.length, piece(fake, 2), 5).hashFailed, ["f3"]);
  strictEqual(fetcher.progress.total, real.length);
  fetchFrom(fetcher, "r", real, 6);
  strictEqual(fetcher.done, true);
});

Deno.test("MetadataFetcher discards a partial size when its last peer leaves", () => {
  const info = randomBytes(3 * P, 14);
  const fetcher = new MetadataFetcher(sha1(info));
  fetcher.addPeer("other", 999, 0);
  fetcher.addPeer("a", info.length, 0);
  fetcher.addPeer("b", info.length, 0);
  deepStrictEqual(fetcher.nextRequests("a", 0), [0, 1]);
  fetcher.onData("a", 0, info.length, piece(info, 0), 1);
  fetcher.removePeer("a");
  strictEqual(fetcher.progress.total, info.length, "b still has that size");
  deepStrictEqual(fetcher.nextRequests("b", 2), [1, 2], "a's piece 1 is free at once");
  fetcher.removePeer("b");
  strictEqual(fetcher.progress.total, 999);
  strictEqual(fetcher.progress.received, 0);
  deepStrictEqual(fetcher.nextRequests("other", 3), [0]);
});

Deno.test("MetadataFetcher ignores a late answer of another size without dropping the peer", () => {
  const info = randomBytes(P, 15);
  const fetcher = new MetadataFetcher(sha1(info));
  fetcher.addPeer("first", 500, 0);
  deepStrictEqual(fetcher.nextRequests("first", 0), [0]);
  fetcher.addPeer("a", info.length, 1);
  fetcher.addPeer("b", info.length, 1);
  strictEqual(fetcher.progress.total, info.length);
  deepStrictEqual(fetcher.onData("first", 0, 500, new Uint8Array(500), 2), {});
  strictEqual(fetcher.progress.received, 0);
});

Deno.test("MetadataFetcher.nextWakeMs() says when a back-off or re-ask is due, else undefined", () => {
  const info = randomBytes(P, 16);
  const fetcher = new MetadataFetcher(sha1(info), { retryAfterMs: 500, rejectBackoffMs: 2000 });
  strictEqual(fetcher.nextWakeMs(0), undefined);
  fetcher.addPeer("a", info.length, 0);
  strictEqual(fetcher.nextWakeMs(0), undefined, "nothing asked yet: the caller asks now");
  fetcher.nextRequests("a", 100);
  strictEqual(fetcher.nextWakeMs(100), 600);
  fetcher.onReject("a", 0, 200);
  strictEqual(fetcher.nextWakeMs(200), 2200);
  deepStrictEqual(fetcher.nextRequests("a", 2199), []);
  deepStrictEqual(fetcher.nextRequests("a", 2200), [0]);
});

Deno.test("MetadataFetcher refuses a bad info hash or option", () => {
  throws(() => new MetadataFetcher(new Uint8Array(19)), /info hash is 19 bytes, not 20/);
  for (const options of [{ maxBytes: 0 }, { retryAfterMs: -1 }, { maxInFlightPerPeer: 1.5 }]) {
    throws(() => new MetadataFetcher(new Uint8Array(20), options), RangeError);
  }
  throws(() => new MetadataFetcher(new Uint8Array(20), { retryAfterMs: Infinity }), RangeError);
});

Deno.test("MetadataFetcher honours maxInFlightPerPeer", () => {
  const info = randomBytes(6 * P, 17);
  const fetcher = new MetadataFetcher(sha1(info), { maxInFlightPerPeer: 4 });
  fetcher.addPeer("a", info.length, 0);
  deepStrictEqual(fetcher.nextRequests("a", 0), [0, 1, 2, 3]);
});

Deno.test("MetadataFetcher asks a penalised peer again once its hash-failure back-off ends", () => {
  const info = randomBytes(100, 18);
  const fetcher = new MetadataFetcher(sha1(info), { hashFailBackoffMs: 1000 });
  fetcher.addPeer("p", info.length, 0);
  deepStrictEqual(fetcher.nextRequests("p", 0), [0]);
  deepStrictEqual(fetcher.onData("p", 0, 100, new Uint8Array(100), 5).hashFailed, ["p"]);
  strictEqual(fetcher.progress.peers, 0);
  strictEqual(fetcher.nextWakeMs(5), 1005);
  deepStrictEqual(fetcher.nextRequests("p", 1004), []);
  deepStrictEqual(fetcher.nextRequests("p", 1005), [0]);
  strictEqual(fetcher.progress.peers, 1);
  deepStrictEqual(fetcher.onData("p", 0, 100, info, 1010).done, info);
});
