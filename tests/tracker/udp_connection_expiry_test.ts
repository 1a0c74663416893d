import { ok, strictEqual } from "node:assert/strict";
import { encodeUdpAnnounceRequest } from "../../src/tracker/udp_tracker_packets.ts";
import {
  exchangeConnectedUdp,
  resolveUdpTracker,
  withUdpSocket,
} from "../../src/tracker/udp_tracker_transport.ts";
import { announceReply, connectReply, startFakeUdpTracker } from "./fake_udp_tracker.ts";

const request = {
  infoHash: new Uint8Array(20),
  peerId: new Uint8Array(20),
  port: 6881,
  uploaded: 0,
  downloaded: 0,
  left: 0,
};

Deno.test("a retransmitted announce never carries an expired connection id (BEP 15)", async () => {
  const FIRST = 0x1111n, SECOND = 0x2222n;
  let connects = 0;
  // The tracker ignores announces under the first id (as if they were lost) and answers the
  // second; the client must connect again once the first id is too old to send.
  await using tracker = await startFakeUdpTracker((req) => {
    if (req.action === 0) {
      return [connectReply(req.transactionId, ++connects === 1 ? FIRST : SECOND)];
    }
    if (req.connectionId === SECOND) {
      return [announceReply(req.transactionId, 900, new Uint8Array(0))];
    }
    return [];
  });
  const target = await resolveUdpTracker(tracker.url, undefined, AbortSignal.timeout(5000));
  const options = {
    signal: AbortSignal.timeout(10_000),
    retransmitBaseMs: 50,
    maxRetransmits: 4,
    connectionIdTtlMs: 120,
  };
  const reply = await withUdpSocket(undefined, target.family, (socket) =>
    exchangeConnectedUdp(
      socket,
      target,
      (id, tid) => encodeUdpAnnounceRequest(id, tid, request),
      "announce",
      options,
    ));
  strictEqual(reply.intervalSeconds, 900);
  strictEqual(connects, 2, "connected again after the first id expired");
  const sentUnderFirst = tracker.requests.filter((r) => r.action === 1 && r.connectionId === FIRST);
  // Without the expiry check all five tries (0, 50, 150, 350, 750 ms) would use the first id.
  ok(sentUnderFirst.length >= 1 && sentUnderFirst.length < 5, `${sentUnderFirst.length} sends`);
});
