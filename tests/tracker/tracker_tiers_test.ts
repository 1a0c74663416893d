import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import { TrackerError } from "../../src/tracker/tracker_error.ts";
import { type AnnounceFunction, TrackerTiers } from "../../src/tracker/tracker_tiers.ts";
import type { AnnounceRequest } from "../../src/tracker/types.ts";
import { encodeBencode } from "../../src/bencode/encode.ts";
import { startFakeHttpTracker } from "./fake_http_tracker.ts";

const request: AnnounceRequest = {
  infoHash: new Uint8Array(20),
  peerId: new Uint8Array(20),
  port: 1,
  uploaded: 0,
  downloaded: 0,
  left: 0,
};

/** A fake network: URLs in `down` fail, the others answer with one peer named by the URL. */
function fakeNetwork(down: Set<string>, calls: string[]): AnnounceFunction {
  return (url) => {
    calls.push(url);
    if (down.has(url)) return Promise.reject(new TrackerError(`${url} is down`, url));
    return Promise.resolve({ peers: [{ host: url, port: 1 }], intervalSeconds: 1800 });
  };
}

const noShuffle = (): number => 0.999999;

Deno.test("TrackerTiers keeps order with a no-op shuffle and drops empty tiers and repeats", () => {
  const tiers = new TrackerTiers([["a", "b", "c"], [], ["a", " d "]], { random: noShuffle });
  deepStrictEqual(tiers.tiers, [["a", "b", "c"], ["d"]]);
  strictEqual(tiers.size, 4);
});

Deno.test("TrackerTiers shuffles each tier once at construction", async () => {
  const urls = Array.from({ length: 8 }, (_, i) => `u${i}`);
  let seed = 1;
  let draws = 0;
  const random = (): number => {
    draws++;
    return (seed = (seed * 16807) % 2147483647) / 2147483647;
  };
  const tiers = new TrackerTiers([urls, ["solo"]], {
    random,
    announce: fakeNetwork(new Set(), []),
  });
  const shuffled = tiers.tiers;
  deepStrictEqual([...shuffled[0]].sort(), urls);
  ok(shuffled[0].join() !== urls.join(), "the tier was not shuffled");
  strictEqual(draws, urls.length - 1, "one Fisher-Yates pass: n - 1 draws, none for one URL");
  // Reading the tiers again, or announcing, never reshuffles them.
  deepStrictEqual(tiers.tiers, shuffled);
  strictEqual((await tiers.announce(request)).url, shuffled[0][0]);
  deepStrictEqual(tiers.tiers, shuffled);
  strictEqual(draws, urls.length - 1);
  // The getter hands out a copy: changing it does not reorder the tiers.
  tiers.tiers[0].reverse();
  deepStrictEqual(tiers.tiers, shuffled);
});

Deno.test("TrackerTiers: first fails, second answers and moves to the front of its tier", async () => {
  const calls: string[] = [];
  const tiers = new TrackerTiers([["a", "b", "c"]], {
    random: noShuffle,
    announce: fakeNetwork(new Set(["a"]), calls),
  });
  const response = await tiers.announce(request);
  strictEqual(response.url, "b");
  deepStrictEqual(response.skipped.map((e) => e.message), ["a is down"], "a's failure is kept");
  deepStrictEqual(calls, ["a", "b"]);
  deepStrictEqual(tiers.tiers, [["b", "a", "c"]]);
  calls.length = 0;
  await tiers.announce(request);
  deepStrictEqual(calls, ["b"]);
});

Deno.test("TrackerTiers: a whole failing tier falls through to the next tier", async () => {
  const calls: string[] = [];
  const tiers = new TrackerTiers([["a", "b"], ["c", "d"]], {
    random: noShuffle,
    announce: fakeNetwork(new Set(["a", "b", "c"]), calls),
  });
  strictEqual((await tiers.announce(request)).url, "d");
  deepStrictEqual(calls, ["a", "b", "c", "d"]);
  deepStrictEqual(tiers.tiers, [["a", "b"], ["d", "c"]]);
});

Deno.test("TrackerTiers throws one TrackerError listing every tracker when all fail", async () => {
  const tiers = new TrackerTiers([["a"], ["b"]], {
    announce: fakeNetwork(new Set(["a", "b"]), []),
  });
  await rejects(tiers.announce(request), (error: unknown) => {
    ok(error instanceof TrackerError);
    deepStrictEqual(error.errors.map((e) => (e as TrackerError).url), ["a", "b"]);
    ok(error.message.includes("all 2 trackers failed"));
    ok(error.message.includes("a is down") && error.message.includes("b is down"));
    return true;
  });
  await rejects(new TrackerTiers([]).announce(request), /no trackers/);
});

Deno.test("TrackerTiers stops at once when the signal aborts", async () => {
  const controller = new AbortController();
  const calls: string[] = [];
  const tiers = new TrackerTiers([["a", "b"]], {
    random: noShuffle,
    announce: (url) => {
      calls.push(url);
      controller.abort(new Error("quit"));
      return Promise.reject(new Error("aborted"));
    },
  });
  await rejects(tiers.announce(request, { signal: controller.signal }), /quit/);
  deepStrictEqual(calls, ["a"]);
});

Deno.test("TrackerTiers sends each tracker back its own tracker id and notes completion", async () => {
  const seen: (string | undefined)[] = [];
  const tiers = new TrackerTiers([["a"]], {
    announce: (_url, sent) => {
      seen.push(sent.trackerId);
      return Promise.resolve({ peers: [], intervalSeconds: 1800, trackerId: "id-a" });
    },
  });
  await tiers.announce(request);
  strictEqual(tiers.completedAnnounced, false);
  await tiers.announce({ ...request, event: "completed" });
  deepStrictEqual(seen, [undefined, "id-a"]);
  strictEqual(tiers.completedAnnounced, true);
});

Deno.test("TrackerTiers over real HTTP: a dead tracker, then a live one, unknown scheme skipped", async () => {
  await using live = await startFakeHttpTracker(() =>
    new Response(
      new Uint8Array(encodeBencode({ interval: 900, peers: new Uint8Array([10, 0, 0, 1, 0, 1]) })),
    )
  );
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const deadPort = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const tiers = new TrackerTiers([
    [`http://127.0.0.1:${deadPort}/announce`, "wss://tracker.example/"],
    [live.url],
  ], { random: noShuffle });
  const response = await tiers.announce(request, { timeoutMs: 2_000 });
  strictEqual(response.url, live.url);
  deepStrictEqual(response.peers, [{ host: "10.0.0.1", port: 1 }]);
});

Deno.test("TrackerTiers sends completed and stopped first to the tracker that answered last", async () => {
  const calls: string[] = [];
  const tiers = new TrackerTiers([["a"], ["b"]], {
    random: noShuffle,
    announce: fakeNetwork(new Set(["a"]), calls),
  });
  await tiers.announce(request);
  deepStrictEqual(calls, ["a", "b"]);
  strictEqual(tiers.lastUrl, "b");
  calls.length = 0;
  await tiers.announce({ ...request, event: "completed" });
  deepStrictEqual(calls, ["b"], "the dead tier-1 tracker is not tried first");
  calls.length = 0;
  await tiers.announce(request);
  deepStrictEqual(calls, ["a", "b"], "regular announces keep the BEP 12 tier order");
});
