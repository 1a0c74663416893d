import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import { announceUdp } from "../../src/tracker/announce_udp.ts";
import { scrapeUdp } from "../../src/tracker/scrape_udp.ts";
import { TrackerError } from "../../src/tracker/tracker_error.ts";
import type { AnnounceRequest } from "../../src/tracker/types.ts";
import { openUdpSocket } from "../../src/tracker/udp_socket.ts";
import {
  announceReply,
  connectReply,
  errorReply,
  FAKE_CONNECTION_ID,
  type FakeUdpRequest,
  startFakeUdpTracker,
} from "./fake_udp_tracker.ts";

const request = (extra: Partial<AnnounceRequest> = {}): AnnounceRequest => ({
  infoHash: Uint8Array.from({ length: 20 }, (_, i) => 200 + i / 4),
  peerId: Uint8Array.from({ length: 20 }, (_, i) => i),
  port: 51413,
  uploaded: 2 ** 40,
  downloaded: 7,
  left: 8,
  event: "started",
  key: 0xcafebabe,
  numWant: 30,
  ...extra,
});

const PEERS = new Uint8Array([127, 0, 0, 1, 0x1a, 0xe1, 10, 0, 0, 2, 0, 80]);

/** A well-behaved tracker: connect, then announce with PEERS. */
function honest(request: FakeUdpRequest): Uint8Array[] {
  if (request.action === 0) return [connectReply(request.transactionId)];
  if (request.action === 1) return [announceReply(request.transactionId, 900, PEERS)];
  return [];
}

const FAST = { udpRetransmitBaseMs: 40, udpMaxRetransmits: 2 };

Deno.test("announceUdp() connects, announces with every field in place, and reads peers", async () => {
  await using tracker = await startFakeUdpTracker(honest);
  const response = await announceUdp(tracker.url, request(), FAST);
  deepStrictEqual(response, {
    peers: [{ host: "127.0.0.1", port: 6881 }, { host: "10.0.0.2", port: 80 }],
    intervalSeconds: 900,
    seeders: 2,
    leechers: 1,
  });
  const [connect, ann] = tracker.requests;
  strictEqual(connect.connectionId, 0x41727101980n);
  strictEqual(connect.action, 0);
  strictEqual(ann.action, 1);
  strictEqual(ann.connectionId, FAKE_CONNECTION_ID);
  strictEqual(ann.bytes.length, 98);
  const view = new DataView(ann.bytes.buffer);
  deepStrictEqual(ann.bytes.subarray(16, 36), request().infoHash);
  deepStrictEqual(ann.bytes.subarray(36, 56), request().peerId);
  strictEqual(view.getBigUint64(56), 7n);
  strictEqual(view.getBigUint64(64), 8n);
  strictEqual(view.getBigUint64(72), 2n ** 40n);
  strictEqual(view.getUint32(80), 2); // started
  strictEqual(view.getUint32(84), 0);
  strictEqual(view.getUint32(88), 0xcafebabe);
  strictEqual(view.getInt32(92), 30);
  strictEqual(view.getUint16(96), 51413);
});

Deno.test("announceUdp() reuses the connection id for the same tracker", async () => {
  await using tracker = await startFakeUdpTracker(honest);
  await announceUdp(tracker.url, request(), FAST);
  await announceUdp(tracker.url, request({ event: undefined }), FAST);
  deepStrictEqual(tracker.requests.map((r) => r.action), [0, 1, 1]);
  strictEqual(new DataView(tracker.requests[2].bytes.buffer).getUint32(80), 0);
});

Deno.test("announceUdp() ignores wrong transaction ids, short and malformed packets", async () => {
  await using tracker = await startFakeUdpTracker((r) => {
    if (r.action === 0) {
      return [
        connectReply(r.transactionId ^ 1, 99n), // someone else's transaction
        new Uint8Array([0, 0, 0]), // short
        new Uint8Array([0, 0, 0, 9, ...new Uint8Array(12)]), // unknown action
        connectReply(r.transactionId),
      ];
    }
    return [
      announceReply(r.transactionId ^ 0x80000000, 900, new Uint8Array([1, 1, 1, 1, 0, 1])),
      new Uint8Array(10),
      announceReply(r.transactionId, 900, PEERS),
    ];
  });
  const response = await announceUdp(tracker.url, request(), FAST);
  strictEqual(response.peers.length, 2);
  strictEqual(tracker.requests.length, 2);
  strictEqual(tracker.requests[1].connectionId, FAKE_CONNECTION_ID);
});

Deno.test("announceUdp() throws the tracker's error message (action 3)", async () => {
  await using tracker = await startFakeUdpTracker((r) =>
    r.action === 0
      ? [connectReply(r.transactionId)]
      : [errorReply(r.transactionId, "not authorized")]
  );
  await rejects(announceUdp(tracker.url, request(), FAST), (error: unknown) => {
    ok(error instanceof TrackerError);
    strictEqual(error.failureReason, "not authorized");
    strictEqual(error.url, tracker.url);
    return true;
  });
});

Deno.test("announceUdp() retransmits after a dropped packet", async () => {
  await using tracker = await startFakeUdpTracker((r, index) => index === 0 ? [] : honest(r));
  const response = await announceUdp(tracker.url, request(), FAST);
  strictEqual(response.peers.length, 2);
  deepStrictEqual(tracker.requests.map((r) => r.action), [0, 0, 1]);
  strictEqual(tracker.requests[0].transactionId, tracker.requests[1].transactionId);
});

Deno.test("announceUdp() gives up after the last retransmit with a TrackerError", async () => {
  await using tracker = await startFakeUdpTracker(() => []);
  const started = performance.now();
  await rejects(
    announceUdp(tracker.url, request(), { udpRetransmitBaseMs: 20, udpMaxRetransmits: 2 }),
    /no answer after 3 tries/,
  );
  strictEqual(tracker.requests.length, 3);
  ok(performance.now() - started >= 20 + 40 + 80 - 5);
});

Deno.test("announceUdp() keeps good peers of a ragged peer list and warns", async () => {
  await using tracker = await startFakeUdpTracker((r) =>
    r.action === 0
      ? [connectReply(r.transactionId)]
      : [announceReply(r.transactionId, 0, new Uint8Array([...PEERS, 1, 2, 3]))]
  );
  const response = await announceUdp(tracker.url, request(), FAST);
  strictEqual(response.peers.length, 2);
  strictEqual(response.intervalSeconds, 1800);
  ok(response.warning?.includes("dropped 3 bytes"));
});

Deno.test("announceUdp() uses a caller's socket and leaves it open", async () => {
  await using tracker = await startFakeUdpTracker(honest);
  await using socket = await openUdpSocket({ host: "127.0.0.1" });
  const response = await announceUdp(tracker.url, request(), { ...FAST, socket });
  strictEqual(response.peers.length, 2);
  strictEqual(socket.closed, false);
});

Deno.test("announceUdp() stops on abort and on timeoutMs", async () => {
  await using tracker = await startFakeUdpTracker(() => []);
  const controller = new AbortController();
  setTimeout(() => controller.abort(new Error("stop")), 30);
  await rejects(
    announceUdp(tracker.url, request(), { signal: controller.signal }),
    /stop/,
  );
  await rejects(announceUdp(tracker.url, request(), { timeoutMs: 50 }), /no answer within 50 ms/);
});

Deno.test("announceUdp() refuses a URL without a port", async () => {
  await rejects(announceUdp("udp://127.0.0.1/announce", request()), TrackerError);
});

Deno.test("scrapeUdp() reads seeders, completed and leechers per hash", async () => {
  await using tracker = await startFakeUdpTracker((r) => {
    if (r.action === 0) return [connectReply(r.transactionId)];
    strictEqual(r.bytes.length, 16 + 40);
    const out = new Uint8Array(8 + 24);
    const view = new DataView(out.buffer);
    view.setUint32(0, 2);
    view.setUint32(4, r.transactionId);
    [5, 6, 7, 8, 9, 10].forEach((n, i) => view.setUint32(8 + 4 * i, n));
    return [out];
  });
  const entries = await scrapeUdp(tracker.url, [new Uint8Array(20), new Uint8Array(20)], FAST);
  deepStrictEqual(entries, [
    { seeders: 5, completed: 6, leechers: 7 },
    { seeders: 8, completed: 9, leechers: 10 },
  ]);
});

Deno.test("announceUdp() over IPv6 reads 18-byte peers (BEP 15)", async () => {
  let tracker;
  try {
    tracker = await startFakeUdpTracker((r) => {
      if (r.action === 0) return [connectReply(r.transactionId)];
      const peers = new Uint8Array(18 * 2);
      peers[15] = 1;
      peers[17] = 7;
      peers[18] = 0xfe;
      peers[19] = 0x80;
      peers[33] = 2;
      peers[35] = 8;
      return [announceReply(r.transactionId, 900, peers)];
    }, "::1");
  } catch {
    return; // no IPv6 loopback here
  }
  await using fake = tracker;
  const response = await announceUdp(fake.url, request(), FAST);
  deepStrictEqual(response.peers, [{ host: "::1", port: 7 }, { host: "fe80::2", port: 8 }]);
});

Deno.test("announceUdp() resolves a host name (localhost)", async () => {
  await using tracker = await startFakeUdpTracker(honest);
  const response = await announceUdp(`udp://localhost:${tracker.port}/announce`, request(), {
    udpRetransmitBaseMs: 100,
    udpMaxRetransmits: 1,
  });
  strictEqual(response.peers.length, 2);
});
