import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import { concatBytes, utf8 } from "../../src/bytes/bytes.ts";
import { encodeBencode } from "../../src/bencode/encode.ts";
import { announceHttp } from "../../src/tracker/announce_http.ts";
import { TrackerError } from "../../src/tracker/tracker_error.ts";
import type { AnnounceRequest } from "../../src/tracker/types.ts";
import { startFakeHttpTracker } from "./fake_http_tracker.ts";

// Every byte value that needs escaping, plus unreserved ones, in the info hash.
const INFO_HASH = new Uint8Array([
  0x00,
  0x20,
  0x25,
  0x26,
  0x2b,
  0x2d,
  0x2e,
  0x2f,
  0x3d,
  0x3f,
  0x41,
  0x5f,
  0x61,
  0x7e,
  0x7f,
  0x80,
  0xc3,
  0xe9,
  0xfe,
  0xff,
]);
const EXPECTED_HASH = "%00%20%25%26%2B-.%2F%3D%3FA_a~%7F%80%C3%E9%FE%FF";

const request = (extra: Partial<AnnounceRequest> = {}): AnnounceRequest => ({
  infoHash: INFO_HASH,
  peerId: utf8("-SH0100-\u0001bcdefghijkl"),
  port: 51413,
  uploaded: 10,
  downloaded: 20,
  left: 30,
  event: "started",
  numWant: 25,
  key: 0x1234abcd,
  ...extra,
});

const bencoded = (value: Parameters<typeof encodeBencode>[0]): Response =>
  new Response(new Uint8Array(encodeBencode(value)));

Deno.test("announceHttp() sends info_hash and peer_id as raw percent-encoded bytes and every field", async () => {
  await using tracker = await startFakeHttpTracker(() =>
    bencoded({ interval: 900, peers: new Uint8Array([127, 0, 0, 1, 0x1a, 0xe1]) })
  );
  const response = await announceHttp(tracker.url + "?passkey=xyz", request());
  deepStrictEqual(response.peers, [{ host: "127.0.0.1", port: 6881 }]);
  strictEqual(tracker.requests.length, 1);
  const raw = tracker.requests[0];
  strictEqual(
    raw,
    `/announce?passkey=xyz&info_hash=${EXPECTED_HASH}&peer_id=-SH0100-%01bcdefghijkl` +
      "&port=51413&uploaded=10&downloaded=20&left=30&compact=1&numwant=25&key=1234ABCD" +
      "&event=started",
  );
});

Deno.test("announceHttp() reads peers6 and dictionary peers from a real HTTP response", async () => {
  const v6 = new Uint8Array(18);
  v6[15] = 1;
  v6[17] = 9;
  let call = 0;
  await using tracker = await startFakeHttpTracker(() =>
    call++ === 0
      ? bencoded({ interval: 900, peers: new Uint8Array(0), peers6: v6 })
      : bencoded({ interval: 900, peers: [{ ip: "10.9.9.9", port: 99 }] })
  );
  deepStrictEqual((await announceHttp(tracker.url, request())).peers, [{ host: "::1", port: 9 }]);
  deepStrictEqual((await announceHttp(tracker.url, request())).peers, [
    { host: "10.9.9.9", port: 99 },
  ]);
});

Deno.test("announceHttp() sends back the tracker id it is given", async () => {
  await using tracker = await startFakeHttpTracker(() => bencoded({ interval: 900, peers: "" }));
  await announceHttp(tracker.url, request({ trackerId: "t/1" }));
  ok(tracker.requests[0].endsWith("&trackerid=t%2F1"), tracker.requests[0]);
});

Deno.test("announceHttp() turns a failure reason into TrackerError, also with a 4xx status", async () => {
  let status = 200;
  await using tracker = await startFakeHttpTracker(() =>
    new Response(new Uint8Array(encodeBencode({ "failure reason": "go away" })), { status })
  );
  for (status of [200, 403]) {
    await rejects(announceHttp(tracker.url, request()), (error: unknown) => {
      ok(error instanceof TrackerError);
      strictEqual(error.failureReason, "go away");
      strictEqual(error.url, tracker.url);
      return true;
    });
  }
});

Deno.test("announceHttp() refuses an HTTP error status without a failure reason", async () => {
  await using tracker = await startFakeHttpTracker(() => new Response("nope", { status: 502 }));
  await rejects(announceHttp(tracker.url, request()), /HTTP status 502/);
});

Deno.test("announceHttp() passes on the tracker's warning message", async () => {
  await using tracker = await startFakeHttpTracker(() =>
    bencoded({ interval: 900, peers: "", "warning message": "slow down" })
  );
  strictEqual((await announceHttp(tracker.url, request())).warning, "slow down");
});

Deno.test("announceHttp() survives lies: malformed bencode, odd-length peers, interval 0", async () => {
  let answer: Uint8Array = utf8("d8:intervali60e5:peers");
  await using tracker = await startFakeHttpTracker(() => new Response(new Uint8Array(answer)));
  await rejects(announceHttp(tracker.url, request()), TrackerError);

  answer = concatBytes([
    utf8("d8:intervali0e5:peers9:"),
    new Uint8Array([127, 0, 0, 2, 0, 80, 1, 2, 3]),
    utf8("e"),
  ]);
  const response = await announceHttp(tracker.url, request());
  deepStrictEqual(response.peers, [{ host: "127.0.0.2", port: 80 }]);
  strictEqual(response.intervalSeconds, 1800);
  ok(response.warning?.includes("not a multiple of 6"));
});

Deno.test("announceHttp() stops reading an oversized body, declared or streamed", async () => {
  let declared = true;
  await using tracker = await startFakeHttpTracker(() => {
    if (declared) return new Response(new Uint8Array(2 * 1024 * 1024));
    const chunk = new Uint8Array(64 * 1024);
    return new Response(
      new ReadableStream<Uint8Array>({
        pull(controller) {
          controller.enqueue(chunk);
        },
      }),
    );
  });
  await rejects(announceHttp(tracker.url, request()), /cap/);
  declared = false;
  await rejects(announceHttp(tracker.url, request(), { maxResponseBytes: 100_000 }), /cap/);
});

Deno.test("announceHttp() times out on a tracker that never answers", async () => {
  await using tracker = await startFakeHttpTracker(async (_query, release) => {
    await release;
    return new Response("late");
  });
  const started = performance.now();
  await rejects(announceHttp(tracker.url, request(), { timeoutMs: 150 }), (error: unknown) => {
    ok(error instanceof TrackerError);
    ok(/no answer within 150 ms/.test(error.message), error.message);
    return true;
  });
  ok(performance.now() - started < 2_000);
});

Deno.test("announceHttp() rejects with the caller's abort reason, not a TrackerError", async () => {
  await using tracker = await startFakeHttpTracker(async (_query, release) => {
    await release;
    return new Response("late");
  });
  const controller = new AbortController();
  const pending = announceHttp(tracker.url, request(), { signal: controller.signal });
  setTimeout(() => controller.abort(new Error("user quit")), 50);
  await rejects(pending, /user quit/);
});

Deno.test("announceHttp() wraps a refused connection in TrackerError", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  await rejects(announceHttp(`http://127.0.0.1:${port}/announce`, request()), TrackerError);
});
