import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import {
  decodeUdpTrackerResponse,
  encodeUdpAnnounceRequest,
  encodeUdpConnectRequest,
  encodeUdpScrapeRequest,
} from "../../src/tracker/udp_tracker_packets.ts";

const request = {
  infoHash: new Uint8Array(20).fill(1),
  peerId: new Uint8Array(20).fill(2),
  port: 6881,
  uploaded: 3,
  downloaded: 4,
  left: 5,
};

Deno.test("encodeUdpConnectRequest() writes the protocol id, action 0 and the transaction id", () => {
  const view = new DataView(encodeUdpConnectRequest(0xfffffffe).buffer);
  strictEqual(view.byteLength, 16);
  strictEqual(view.getBigUint64(0), 0x41727101980n);
  strictEqual(view.getUint32(8), 0);
  strictEqual(view.getUint32(12), 0xfffffffe);
});

Deno.test("encodeUdpAnnounceRequest() maps events and defaults num_want to -1", () => {
  const codes = { none: 0, completed: 1, started: 2, stopped: 3 } as const;
  for (const [event, code] of Object.entries(codes)) {
    const packet = encodeUdpAnnounceRequest(5n, 6, {
      ...request,
      ...(event === "none" ? {} : { event: event as "started" }),
    });
    const view = new DataView(packet.buffer);
    strictEqual(view.getUint32(80), code);
    strictEqual(view.getInt32(92), -1);
    strictEqual(view.getBigUint64(0), 5n);
  }
  throws(() => encodeUdpAnnounceRequest(1n, 1, { ...request, port: -1 }), RangeError);
});

Deno.test("encodeUdpScrapeRequest() refuses 0 or 75 hashes and wrong-sized ones", () => {
  throws(() => encodeUdpScrapeRequest(1n, 1, []), RangeError);
  throws(() => encodeUdpScrapeRequest(1n, 1, Array(75).fill(new Uint8Array(20))), RangeError);
  throws(() => encodeUdpScrapeRequest(1n, 1, [new Uint8Array(19)]), RangeError);
  strictEqual(encodeUdpScrapeRequest(1n, 1, Array(74).fill(new Uint8Array(20))).length, 16 + 1480);
});

Deno.test("decodeUdpTrackerResponse() reads IPv6 peers as 18 bytes each", () => {
  const packet = new Uint8Array(20 + 18 + 5);
  const view = new DataView(packet.buffer);
  view.setUint32(0, 1);
  view.setUint32(4, 77);
  view.setUint32(8, 120);
  packet[20 + 15] = 1;
  packet[20 + 17] = 80;
  deepStrictEqual(decodeUdpTrackerResponse(packet, 6), {
    type: "announce",
    transactionId: 77,
    intervalSeconds: 120,
    leechers: 0,
    seeders: 0,
    peers: [{ host: "::1", port: 80 }],
    droppedBytes: 5,
  });
  const v4 = decodeUdpTrackerResponse(packet, 4);
  strictEqual(v4?.type === "announce" && v4.droppedBytes, 5);
});

Deno.test("decodeUdpTrackerResponse() returns undefined for short or unknown packets", () => {
  strictEqual(decodeUdpTrackerResponse(new Uint8Array(7), 4), undefined);
  strictEqual(decodeUdpTrackerResponse(new Uint8Array(12), 4), undefined); // short connect
  const announce = new Uint8Array(19);
  announce[3] = 1;
  strictEqual(decodeUdpTrackerResponse(announce, 4), undefined);
  const unknown = new Uint8Array(16);
  unknown[3] = 4;
  strictEqual(decodeUdpTrackerResponse(unknown, 4), undefined);
  const error = new Uint8Array([0, 0, 0, 3, 0, 0, 0, 1, 104, 105]);
  deepStrictEqual(decodeUdpTrackerResponse(error, 4), {
    type: "error",
    transactionId: 1,
    message: "hi",
  });
});
