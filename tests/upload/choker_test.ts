import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import {
  type ChokerPeer,
  type ChokerView,
  chooseUnchoked,
  DEFAULT_UNCHOKE_SLOTS,
  NEW_PEER_WINDOW_MS,
  OPTIMISTIC_ROTATE_MS,
  RECHOKE_INTERVAL_MS,
} from "../../src/upload/choker.ts";

const NOW_MS = 1_000_000;

function peer(id: string, fields: Partial<ChokerPeer> = {}): ChokerPeer {
  return {
    id,
    interested: true,
    isSeed: false,
    downloadRate: 0,
    uploadRate: 0,
    connectedAtMs: 0, // long ago: not a new peer
    ...fields,
  };
}

function view(fields: Partial<ChokerView>): ChokerView {
  return { seeding: false, nowMs: NOW_MS, peers: [], random: () => 0, ...fields };
}

/** A small deterministic PRNG (mulberry32). */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function sorted(ids: Set<string>): string[] {
  return [...ids].sort();
}

Deno.test("choker constants follow BEP 3", () => {
  strictEqual(RECHOKE_INTERVAL_MS, 10_000);
  strictEqual(OPTIMISTIC_ROTATE_MS, 30_000);
  strictEqual(DEFAULT_UNCHOKE_SLOTS, 4);
});

Deno.test("chooseUnchoked() returns nothing for zero peers", () => {
  const decision = chooseUnchoked(view({ peers: [] }));
  strictEqual(decision.unchoke.size, 0);
  strictEqual(decision.optimistic, undefined);
  strictEqual(chooseUnchoked(view({ seeding: true })).unchoke.size, 0);
});

Deno.test("chooseUnchoked() unchokes the peers that send to us fastest while downloading", () => {
  const peers = [
    peer("slow", { downloadRate: 10 }),
    peer("a", { downloadRate: 500 }),
    peer("b", { downloadRate: 400 }),
    peer("c", { downloadRate: 300, uploadRate: 9_999 }),
    peer("d", { downloadRate: 200 }),
    peer("e", { downloadRate: 100 }),
  ];
  const decision = chooseUnchoked(view({ peers, random: () => 0.99 }));
  // 4 regular slots (a, b, c, d) plus an optimistic one among "slow" and "e".
  strictEqual(decision.unchoke.size, 5);
  for (const id of ["a", "b", "c", "d"]) ok(decision.unchoke.has(id), id);
  strictEqual(decision.optimistic?.id, "e");
  strictEqual(decision.optimistic?.sinceMs, NOW_MS);
  ok(decision.unchoke.has("e"));
  ok(!decision.unchoke.has("slow"));
});

Deno.test("chooseUnchoked() breaks download-rate ties by upload rate, then id", () => {
  const peers = [
    peer("z", { downloadRate: 100, uploadRate: 50 }),
    peer("y", { downloadRate: 100, uploadRate: 10 }),
    peer("x", { downloadRate: 100, uploadRate: 10 }),
  ];
  const decision = chooseUnchoked(view({ peers, slots: 2, random: () => 0 }));
  // Regular: z (best upload rate), then x (id before y); y becomes the optimistic one.
  deepStrictEqual(sorted(decision.unchoke), ["x", "y", "z"]);
  strictEqual(decision.optimistic?.id, "y");
  const regularOnly = chooseUnchoked(view({ peers: peers.slice(0, 2), slots: 1 }));
  strictEqual(regularOnly.optimistic?.id, "y");
});

Deno.test("chooseUnchoked() never unchokes uninterested peers", () => {
  const peers = [
    peer("fast-but-bored", { interested: false, downloadRate: 1e9 }),
    peer("keen", { downloadRate: 1 }),
    peer("also-bored", { interested: false }),
  ];
  for (const seeding of [false, true]) {
    const decision = chooseUnchoked(view({ peers, seeding }));
    deepStrictEqual(sorted(decision.unchoke), ["keen"]);
    strictEqual(decision.optimistic, undefined);
  }
});

Deno.test("chooseUnchoked() unchokes no seed while we seed", () => {
  const peers = [
    peer("seed", { isSeed: true, uploadRate: 1e9 }),
    peer("leech", { uploadRate: 10 }),
  ];
  const decision = chooseUnchoked(view({ peers, seeding: true }));
  deepStrictEqual(sorted(decision.unchoke), ["leech"]);
  strictEqual(decision.optimistic, undefined);
});

Deno.test("chooseUnchoked() unchokes the peers we send to fastest while seeding", () => {
  const peers = [
    peer("gives-us-a-lot", { downloadRate: 1e9, uploadRate: 1 }),
    peer("a", { uploadRate: 500 }),
    peer("b", { uploadRate: 400 }),
    peer("c", { uploadRate: 300 }),
    peer("d", { uploadRate: 200 }),
  ];
  const decision = chooseUnchoked(view({ peers, seeding: true, slots: 3 }));
  for (const id of ["a", "b", "c"]) ok(decision.unchoke.has(id), id);
  // The two others compete for the optimistic slot only.
  strictEqual(decision.unchoke.size, 4);
  ok(decision.optimistic !== undefined);
  ok(["gives-us-a-lot", "d"].includes(decision.optimistic.id));
});

Deno.test("chooseUnchoked() rotates equal seeding candidates, longest waiting first", () => {
  const peers = [
    peer("recent", { lastUnchokedAtMs: NOW_MS - 10_000 }),
    peer("older", { lastUnchokedAtMs: NOW_MS - 50_000 }),
    peer("never"),
    peer("oldest", { lastUnchokedAtMs: NOW_MS - 90_000 }),
  ];
  const decision = chooseUnchoked(view({ peers, seeding: true, slots: 3, random: () => 0 }));
  deepStrictEqual(sorted(decision.unchoke), ["never", "older", "oldest", "recent"]);
  strictEqual(decision.optimistic?.id, "recent");
  const two = chooseUnchoked(view({ peers, seeding: true, slots: 2, random: () => 0 }));
  ok(two.unchoke.has("never") && two.unchoke.has("oldest"));
});

Deno.test("chooseUnchoked() gives snubbed peers no regular slot while downloading", () => {
  const peers = [
    peer("snub", { downloadRate: 1e6, snubbed: true }),
    peer("ok", { downloadRate: 5 }),
  ];
  const decision = chooseUnchoked(view({ peers, slots: 1 }));
  // "ok" is regular; "snub" can only be the optimistic unchoke.
  deepStrictEqual(sorted(decision.unchoke), ["ok", "snub"]);
  strictEqual(decision.optimistic?.id, "snub");
  const noSlots = chooseUnchoked(view({ peers: [peers[0]], slots: 4 }));
  strictEqual(noSlots.optimistic?.id, "snub");
});

Deno.test("chooseUnchoked() unchokes everyone when there are fewer peers than slots", () => {
  const peers = [peer("a", { downloadRate: 5 }), peer("b"), peer("c", { interested: false })];
  const decision = chooseUnchoked(view({ peers }));
  deepStrictEqual(sorted(decision.unchoke), ["a", "b"]);
  strictEqual(decision.optimistic, undefined);
});

Deno.test("chooseUnchoked() keeps the optimistic unchoke for 30 s, then draws again", () => {
  const peers = [
    peer("top", { downloadRate: 100 }),
    peer("p"),
    peer("q"),
    peer("r"),
  ];
  const first = chooseUnchoked(view({ peers, slots: 1, random: () => 0.99 }));
  strictEqual(first.optimistic?.id, "r");
  // Later rechokes keep it whatever the random draw would say, until 30 s have gone by.
  for (const dt of [RECHOKE_INTERVAL_MS, 2 * RECHOKE_INTERVAL_MS, OPTIMISTIC_ROTATE_MS - 1]) {
    const kept = chooseUnchoked(
      view({ peers, slots: 1, nowMs: NOW_MS + dt, optimistic: first.optimistic, random: () => 0 }),
    );
    deepStrictEqual(kept.optimistic, { id: "r", sinceMs: NOW_MS });
    deepStrictEqual(sorted(kept.unchoke), ["r", "top"]);
  }
  const rotated = chooseUnchoked(
    view({
      peers,
      slots: 1,
      nowMs: NOW_MS + OPTIMISTIC_ROTATE_MS,
      optimistic: first.optimistic,
      random: () => 0,
    }),
  );
  deepStrictEqual(rotated.optimistic, { id: "p", sinceMs: NOW_MS + OPTIMISTIC_ROTATE_MS });
  deepStrictEqual(sorted(rotated.unchoke), ["p", "top"]);
});

Deno.test("chooseUnchoked() replaces an optimistic peer that is no longer eligible", () => {
  const optimistic = { id: "r", sinceMs: NOW_MS - 1_000 };
  const base = [peer("top", { downloadRate: 100 }), peer("p")];
  const cases: ChokerPeer[][] = [
    [...base, peer("r", { interested: false })], // lost interest
    [...base, peer("r", { isSeed: true })], // became a seed
    base, // disconnected
    [peer("p"), peer("top", { downloadRate: 100 }), peer("r", { downloadRate: 1_000 })], // regular
  ];
  for (const peers of cases) {
    // random() = 0 draws the first eligible peer in the list: "p" every time.
    const decision = chooseUnchoked(view({ peers, slots: 1, optimistic, random: () => 0 }));
    ok(decision.optimistic !== undefined);
    strictEqual(decision.optimistic.sinceMs, NOW_MS);
    strictEqual(decision.optimistic.id, "p");
  }
});

Deno.test("chooseUnchoked() makes new peers three times as likely to be optimistic", () => {
  const random = seededRandom(0x5eed);
  const peers = [
    peer("regular", { downloadRate: 1_000 }),
    peer("old-1", { connectedAtMs: NOW_MS - 10 * NEW_PEER_WINDOW_MS }),
    peer("old-2", { connectedAtMs: NOW_MS - NEW_PEER_WINDOW_MS }), // just no longer new
    peer("new", { connectedAtMs: NOW_MS - NEW_PEER_WINDOW_MS + 1 }),
  ];
  const counts = new Map<string, number>();
  const runs = 10_000;
  for (let i = 0; i < runs; i++) {
    const id = chooseUnchoked(view({ peers, slots: 1, random })).optimistic?.id ?? "none";
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  // Weights 1 : 1 : 3, so expected shares 0.2, 0.2, 0.6.
  const share = (id: string) => (counts.get(id) ?? 0) / runs;
  strictEqual(counts.get("regular"), undefined);
  strictEqual(counts.get("none"), undefined);
  ok(Math.abs(share("new") - 0.6) < 0.03, `new share ${share("new")}`);
  ok(Math.abs(share("old-1") - 0.2) < 0.03, `old-1 share ${share("old-1")}`);
  ok(Math.abs(share("old-2") - 0.2) < 0.03, `old-2 share ${share("old-2")}`);
});

Deno.test("chooseUnchoked() survives a random function outside [0, 1)", () => {
  const peers = [peer("a"), peer("b")];
  for (const value of [1, 2, -1, Number.NaN]) {
    const decision = chooseUnchoked(view({ peers, slots: 0, random: () => value }));
    ok(decision.optimistic !== undefined && ["a", "b"].includes(decision.optimistic.id));
    strictEqual(decision.unchoke.size, 1);
  }
});

Deno.test("chooseUnchoked() rejects a bad slot count", () => {
  throws(() => chooseUnchoked(view({ slots: -1 })), RangeError);
  throws(() => chooseUnchoked(view({ slots: 1.5 })), RangeError);
});

Deno.test("chooseUnchoked() does not change its input", () => {
  const peers = Object.freeze([peer("b", { downloadRate: 1 }), peer("a", { downloadRate: 2 })]);
  const before = JSON.stringify(peers);
  chooseUnchoked(view({ peers, slots: 1 }));
  strictEqual(JSON.stringify(peers), before);
});
