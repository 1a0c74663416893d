import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import { announceEvent, announcePeers } from "../../src/tracker/announce_peers.ts";
import { TrackerError } from "../../src/tracker/tracker_error.ts";
import { type AnnounceFunction, TrackerTiers } from "../../src/tracker/tracker_tiers.ts";
import type { AnnounceRequest, AnnounceResponse } from "../../src/tracker/types.ts";
import { startFakeHttpTracker } from "./fake_http_tracker.ts";

const base: AnnounceRequest = {
  infoHash: new Uint8Array(20),
  peerId: new Uint8Array(20),
  port: 1,
  uploaded: 0,
  downloaded: 0,
  left: 100,
};

/** Records each announce; `script` decides success (a response) or failure (an Error). */
function scripted(
  sent: AnnounceRequest[],
  script: (index: number) => AnnounceResponse | Error,
): AnnounceFunction {
  return (_url, request) => {
    sent.push(request);
    const outcome = script(sent.length - 1);
    return outcome instanceof Error ? Promise.reject(outcome) : Promise.resolve(outcome);
  };
}

const ok1 = (port: number): AnnounceResponse => ({
  peers: [{ host: "10.0.0.1", port }],
  intervalSeconds: 60,
});

Deno.test("announcePeers() sends started first, yields each batch, then re-announces without event", async () => {
  const sent: AnnounceRequest[] = [];
  const tiers = new TrackerTiers([["t"]], { announce: scripted(sent, (i) => ok1(i + 1)) });
  const batches: number[] = [];
  for await (const peers of announcePeers(tiers, () => base, { maxIntervalMs: 5 })) {
    batches.push(peers[0].port);
    if (batches.length === 3) break;
  }
  deepStrictEqual(batches, [1, 2, 3]);
  deepStrictEqual(sent.map((r) => r.event), ["started", undefined, undefined]);
  ok(!("event" in sent[1]));
});

Deno.test("announcePeers() waits the tracker's interval (raised by minIntervalMs)", async () => {
  const sent: AnnounceRequest[] = [];
  const tiers = new TrackerTiers([["t"]], {
    announce: scripted(sent, () => ({ peers: [], intervalSeconds: 60, minIntervalSeconds: 1 })),
  });
  const times: number[] = [];
  for await (const _ of announcePeers(tiers, () => base, { maxIntervalMs: 120 })) {
    times.push(performance.now());
    if (times.length === 2) break;
  }
  ok(times[1] - times[0] >= 110, `re-announced after ${times[1] - times[0]} ms`);
});

Deno.test("announcePeers() retries failures with growing backoff, warns, and resends started", async () => {
  const sent: AnnounceRequest[] = [];
  const warnings: string[] = [];
  const tiers = new TrackerTiers([["t"]], {
    announce: scripted(sent, (i) => i < 3 ? new TrackerError("down", "t") : ok1(9)),
  });
  const times: number[] = [];
  const start = performance.now();
  for await (
    const peers of announcePeers(tiers, () => base, {
      retryInitialMs: 20,
      retryMaxMs: 50,
      onWarning: (m) => {
        warnings.push(m);
        times.push(performance.now() - start);
      },
    })
  ) {
    deepStrictEqual(peers, [{ host: "10.0.0.1", port: 9 }]);
    break;
  }
  deepStrictEqual(sent.map((r) => r.event), ["started", "started", "started", "started"]);
  strictEqual(warnings.length, 3);
  ok(warnings.every((w) => w.includes("down")));
  ok(performance.now() - start >= 20 + 40 + 50 - 5, `took ${performance.now() - start} ms`);
});

Deno.test("announcePeers() sends completed once when left drops to 0", async () => {
  const sent: AnnounceRequest[] = [];
  const tiers = new TrackerTiers([["t"]], { announce: scripted(sent, () => ok1(1)) });
  let left = 100;
  let count = 0;
  for await (const _ of announcePeers(tiers, () => ({ ...base, left }), { maxIntervalMs: 1 })) {
    if (++count === 2) left = 0;
    if (count === 4) break;
  }
  deepStrictEqual(sent.map((r) => r.event), ["started", undefined, "completed", undefined]);
  strictEqual(tiers.completedAnnounced, true);
});

Deno.test("announcePeers() sends no completed when seeding from the start or already announced", async () => {
  const sent: AnnounceRequest[] = [];
  const tiers = new TrackerTiers([["t"]], { announce: scripted(sent, () => ok1(1)) });
  let count = 0;
  for await (const _ of announcePeers(tiers, () => ({ ...base, left: 0 }), { maxIntervalMs: 1 })) {
    if (++count === 3) break;
  }
  deepStrictEqual(sent.map((r) => r.event), ["started", undefined, undefined]);

  sent.length = 0;
  let left = 5;
  count = 0;
  const tiers2 = new TrackerTiers([["t"]], { announce: scripted(sent, () => ok1(1)) });
  for await (const _ of announcePeers(tiers2, () => ({ ...base, left }), { maxIntervalMs: 1 })) {
    if (++count === 1) {
      left = 0;
      await announceEvent(tiers2, { ...base, left: 0, event: "completed" });
    }
    if (count === 3) break;
  }
  deepStrictEqual(sent.map((r) => r.event), ["started", "completed", undefined, undefined]);
});

Deno.test("announcePeers() throws the abort reason promptly while sleeping", async () => {
  const tiers = new TrackerTiers([["t"]], { announce: scripted([], () => ok1(1)) });
  const controller = new AbortController();
  const started = performance.now();
  await rejects(
    (async () => {
      for await (const _ of announcePeers(tiers, () => base, { signal: controller.signal })) {
        setTimeout(() => controller.abort(new Error("session over")), 20);
      }
    })(),
    /session over/,
  );
  ok(performance.now() - started < 1_000);
});

Deno.test("announcePeers() throws the abort reason while retrying, never a tracker error", async () => {
  const tiers = new TrackerTiers([["t"]], {
    announce: scripted([], () => new TrackerError("down", "t")),
  });
  const signal = AbortSignal.abort(new Error("gone"));
  await rejects(announcePeers(tiers, () => base, { signal }).next(), /gone/);
  const controller = new AbortController();
  const pending = announcePeers(tiers, () => base, {
    signal: controller.signal,
    retryInitialMs: 60_000,
  }).next();
  setTimeout(() => controller.abort(new Error("later")), 20);
  await rejects(pending, /later/);
});

Deno.test("announcePeers() announces at once on a wake event", async () => {
  const sent: AnnounceRequest[] = [];
  const tiers = new TrackerTiers([["t"]], { announce: scripted(sent, () => ok1(1)) });
  const wake = new EventTarget();
  const started = performance.now();
  let count = 0;
  for await (const _ of announcePeers(tiers, () => base, { wake })) {
    if (++count === 2) break;
    setTimeout(() => wake.dispatchEvent(new Event("announce")), 10);
  }
  ok(performance.now() - started < 1_000);
  strictEqual(sent.length, 2);
});

Deno.test("announceEvent() gives up fast on a hanging HTTP tracker and never throws", async () => {
  await using tracker = await startFakeHttpTracker(async (_q, release) => {
    await release;
    return new Response("late");
  });
  const tiers = new TrackerTiers([[tracker.url]]);
  const started = performance.now();
  const result = await announceEvent(tiers, { ...base, event: "stopped" }, { timeoutMs: 200 });
  strictEqual(result, undefined);
  ok(performance.now() - started < 1_500);
  ok(tracker.requests[0].includes("event=stopped"));
  const failing = new TrackerTiers([["t"]], {
    announce: scripted([], () => new TrackerError("no", "t")),
  });
  strictEqual(await announceEvent(failing, { ...base, event: "stopped" }), undefined);
});

Deno.test("announceEvent() returns the answer when a tracker accepts", async () => {
  const sent: AnnounceRequest[] = [];
  const tiers = new TrackerTiers([["t"]], { announce: scripted(sent, () => ok1(3)) });
  const result = await announceEvent(tiers, { ...base, left: 0, event: "completed" });
  strictEqual(result?.url, "t");
  strictEqual(sent[0].event, "completed");
});
