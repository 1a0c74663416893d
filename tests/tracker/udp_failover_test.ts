import { deepStrictEqual, ok, rejects, strictEqual, throws } from "node:assert/strict";
import { DEFAULT_HTTP_TIMEOUT_MS } from "../../src/tracker/announce_http.ts";
import { announcePeers } from "../../src/tracker/announce_peers.ts";
import { announceUdp } from "../../src/tracker/announce_udp.ts";
import { DEFAULT_TRACKER_TIMEOUT_MS, trackerBudgetMs } from "../../src/tracker/deadline.ts";
import { scrapeUdp } from "../../src/tracker/scrape_udp.ts";
import { TrackerError } from "../../src/tracker/tracker_error.ts";
import { TrackerTiers } from "../../src/tracker/tracker_tiers.ts";
import type { AnnounceRequest, HostLookup } from "../../src/tracker/types.ts";
import {
  DEFAULT_UDP_RETRANSMIT_BASE_MS,
  udpRetransmitBaseMs,
} from "../../src/tracker/udp_tracker_transport.ts";
import {
  announceReply,
  connectReply,
  type FakeUdpRequest,
  startFakeUdpTracker,
} from "./fake_udp_tracker.ts";

const request: AnnounceRequest = {
  infoHash: new Uint8Array(20).fill(3),
  peerId: new Uint8Array(20).fill(4),
  port: 6881,
  uploaded: 0,
  downloaded: 0,
  left: 10,
};

const PEERS = new Uint8Array([10, 0, 0, 7, 0x1a, 0xe1]);
const BUDGET_MS = 400;
const keepOrder = (): number => 0.999999;

function honest(r: FakeUdpRequest): Uint8Array[] {
  if (r.action === 0) return [connectReply(r.transactionId)];
  if (r.action === 1) return [announceReply(r.transactionId, 900, PEERS)];
  return [];
}

/** A UDP tracker that receives everything and answers nothing. */
const dead = (): ReturnType<typeof startFakeUdpTracker> => startFakeUdpTracker(() => []);

Deno.test("a dead UDP tracker costs its budget, then the next UDP tracker answers", async () => {
  await using silent = await dead();
  await using alive = await startFakeUdpTracker(honest);
  const tiers = new TrackerTiers([[silent.url, alive.url]], { random: keepOrder });
  const response = await tiers.announce(request, { timeoutMs: BUDGET_MS });
  strictEqual(response.url, alive.url);
  deepStrictEqual(response.peers, [{ host: "10.0.0.7", port: 6881 }]);
  strictEqual(response.skipped.length, 1);
  const [skipped] = response.skipped;
  strictEqual(skipped.url, silent.url);
  strictEqual(
    skipped.message,
    `Cannot announce to ${silent.url}: no answer within ${BUDGET_MS} ms ` +
      "(while waiting for the connect reply)",
  );
  ok(silent.requests.length >= 2, "the connect was resent within the budget");
  ok(silent.requests.every((r) => r.action === 0), "it never got past connect");
  deepStrictEqual(alive.requests.map((r) => r.action), [0, 1]);
});

Deno.test("announcePeers() warns about the dead UDP tracker by URL and yields the live one's peers", async () => {
  await using silent = await dead();
  await using alive = await startFakeUdpTracker(honest);
  const tiers = new TrackerTiers([[silent.url], [alive.url]], { random: keepOrder });
  const warnings: string[] = [];
  const batches = announcePeers(tiers, () => request, {
    announce: { timeoutMs: BUDGET_MS },
    onWarning: (message) => warnings.push(message),
  });
  for await (const peers of batches) {
    deepStrictEqual(peers, [{ host: "10.0.0.7", port: 6881 }]);
    break;
  }
  deepStrictEqual(warnings, [
    `Cannot announce to ${silent.url}: no answer within ${BUDGET_MS} ms ` +
    "(while waiting for the connect reply)",
  ]);
});

Deno.test("a UDP tracker whose name never resolves costs its budget, no more", async () => {
  let lookupSignal: AbortSignal | undefined;
  const never: HostLookup = (_host, { signal }) => {
    lookupSignal = signal;
    return new Promise(() => {}); // ignores the signal, like node:dns
  };
  await rejects(
    announceUdp("udp://tracker.invalid:1337/announce", request, {
      timeoutMs: 100,
      lookupHost: never,
    }),
    (error: unknown) => {
      ok(error instanceof TrackerError);
      strictEqual(
        error.message,
        "Cannot announce to udp://tracker.invalid:1337/announce: no answer within 100 ms " +
          "(while resolving tracker.invalid)",
      );
      strictEqual(error.url, "udp://tracker.invalid:1337/announce");
      return true;
    },
  );
  strictEqual(lookupSignal?.aborted, true, "the look-up was told to stop");
});

Deno.test("a hanging DNS look-up fails over to the next tracker within the budget", async () => {
  await using alive = await startFakeUdpTracker(honest);
  const lookupHost: HostLookup = () => new Promise(() => {});
  const hung = "udp://hangs.invalid:6969/announce";
  const tiers = new TrackerTiers([[hung, alive.url]], { random: keepOrder });
  const response = await tiers.announce(request, { timeoutMs: BUDGET_MS, lookupHost });
  strictEqual(response.url, alive.url);
  strictEqual(response.skipped[0].url, hung);
  ok(response.skipped[0].message.endsWith("(while resolving hangs.invalid)"));
});

Deno.test("announceUdp() and scrapeUdp() say when a name does not resolve", async () => {
  const nothing: HostLookup = () => Promise.resolve([]);
  const failing: HostLookup = () => Promise.reject(new Error("ENOTFOUND"));
  for (const lookupHost of [nothing, failing]) {
    await rejects(
      announceUdp("udp://gone.invalid:1/announce", request, { lookupHost }),
      /Cannot announce to udp:\/\/gone\.invalid:1\/announce: cannot resolve gone\.invalid/,
    );
    await rejects(
      scrapeUdp("udp://gone.invalid:1/announce", [request.infoHash], { lookupHost }),
      /cannot resolve gone\.invalid/,
    );
  }
});

Deno.test("announceUdp() uses the address a custom look-up returns", async () => {
  await using alive = await startFakeUdpTracker(honest);
  const seen: string[] = [];
  const lookupHost: HostLookup = (host) => {
    seen.push(host);
    return Promise.resolve([{ address: "127.0.0.1", family: 4 }]);
  };
  const url = `udp://tracker.example:${alive.port}/announce`;
  const response = await announceUdp(url, request, { lookupHost, timeoutMs: BUDGET_MS });
  deepStrictEqual(response.peers, [{ host: "10.0.0.7", port: 6881 }]);
  deepStrictEqual(seen, ["tracker.example"]);
});

Deno.test("scrapeUdp() has the same budget as announces", async () => {
  await using silent = await dead();
  await rejects(
    scrapeUdp(silent.url, [request.infoHash], { timeoutMs: BUDGET_MS }),
    new RegExp(`no answer within ${BUDGET_MS} ms \\(while waiting for the connect reply\\)`),
  );
});

Deno.test("timeoutMs: Infinity lifts the budget and leaves the retransmit schedule in charge", async () => {
  await using silent = await dead();
  await rejects(
    announceUdp(silent.url, request, {
      timeoutMs: Infinity,
      udpRetransmitBaseMs: 20,
      udpMaxRetransmits: 1,
    }),
    /no answer after 2 tries/,
  );
});

Deno.test("the tracker budget is 15 s by default, for HTTP as for UDP, and must be positive", () => {
  strictEqual(DEFAULT_TRACKER_TIMEOUT_MS, 15_000);
  strictEqual(DEFAULT_HTTP_TIMEOUT_MS, DEFAULT_TRACKER_TIMEOUT_MS);
  strictEqual(trackerBudgetMs(undefined), DEFAULT_TRACKER_TIMEOUT_MS);
  strictEqual(trackerBudgetMs(250), 250);
  for (const bad of [0, -1, NaN]) {
    throws(() => trackerBudgetMs(bad), RangeError);
    throws(() => announceUdp("udp://127.0.0.1:1", request, { timeoutMs: bad }), RangeError);
  }
});

Deno.test("udpRetransmitBaseMs() fits three tries in a budget, BEP 15's 15 s at most", () => {
  strictEqual(udpRetransmitBaseMs(DEFAULT_TRACKER_TIMEOUT_MS, undefined), 3_750);
  strictEqual(udpRetransmitBaseMs(400, undefined), 100);
  strictEqual(udpRetransmitBaseMs(Infinity, undefined), DEFAULT_UDP_RETRANSMIT_BASE_MS);
  strictEqual(udpRetransmitBaseMs(120_000, undefined), DEFAULT_UDP_RETRANSMIT_BASE_MS);
  strictEqual(udpRetransmitBaseMs(400, 7), 7, "the caller's choice wins");
});
