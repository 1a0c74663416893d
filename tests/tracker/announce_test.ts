import { ok, rejects, strictEqual } from "node:assert/strict";
import { encodeBencode } from "../../src/bencode/encode.ts";
import { announce } from "../../src/tracker/announce.ts";
import { TrackerError } from "../../src/tracker/tracker_error.ts";
import { startFakeHttpTracker } from "./fake_http_tracker.ts";
import { announceReply, connectReply, startFakeUdpTracker } from "./fake_udp_tracker.ts";

const request = {
  infoHash: new Uint8Array(20),
  peerId: new Uint8Array(20),
  port: 1,
  uploaded: 0,
  downloaded: 0,
  left: 0,
};

Deno.test("announce() dispatches http: and udp: URLs to their protocols", async () => {
  await using http = await startFakeHttpTracker(() =>
    new Response(new Uint8Array(encodeBencode({ interval: 111, peers: "" })))
  );
  await using udp = await startFakeUdpTracker((r) =>
    r.action === 0
      ? [connectReply(r.transactionId)]
      : [announceReply(r.transactionId, 222, new Uint8Array())]
  );
  strictEqual((await announce(http.url, request)).intervalSeconds, 111);
  strictEqual(http.requests.length, 1);
  strictEqual((await announce(udp.url.replace("udp:", "UDP:"), request)).intervalSeconds, 222);
  strictEqual(udp.requests.length, 2);
});

Deno.test("announce() refuses unknown schemes and scheme-less text with TrackerError", async () => {
  for (const url of ["wss://t.example/announce", "ftp://x/", "not a url", ""]) {
    await rejects(announce(url, request), (error: unknown) => {
      ok(error instanceof TrackerError);
      strictEqual(error.url, url);
      ok(error.message.includes("unsupported scheme"));
      return true;
    });
  }
});
