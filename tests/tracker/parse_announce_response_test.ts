import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { concatBytes, utf8 } from "../../src/bytes/bytes.ts";
import { encodeBencode } from "../../src/bencode/encode.ts";
import {
  clampAnnounceInterval,
  parseAnnounceResponse,
} from "../../src/tracker/parse_announce_response.ts";
import { TrackerError } from "../../src/tracker/tracker_error.ts";

const peer4 = (a: number, b: number, c: number, d: number, port: number): number[] => [
  a,
  b,
  c,
  d,
  port >> 8,
  port & 255,
];

Deno.test("parseAnnounceResponse() reads compact IPv4 peers, counts, tracker id, min interval", () => {
  const body = encodeBencode({
    interval: 900,
    "min interval": 300,
    "tracker id": "abc",
    complete: 5,
    incomplete: 7,
    peers: new Uint8Array([...peer4(10, 0, 0, 1, 6881), ...peer4(192, 168, 1, 2, 51413)]),
  });
  deepStrictEqual(parseAnnounceResponse(body), {
    peers: [{ host: "10.0.0.1", port: 6881 }, { host: "192.168.1.2", port: 51413 }],
    intervalSeconds: 900,
    minIntervalSeconds: 300,
    trackerId: "abc",
    seeders: 5,
    leechers: 7,
  });
});

Deno.test("parseAnnounceResponse() reads peers6 (BEP 7) next to IPv4 peers", () => {
  const v6 = new Uint8Array(18);
  v6[0] = 0x20;
  v6[1] = 0x01;
  v6[15] = 1;
  v6[16] = 0x1a;
  v6[17] = 0xe1;
  const body = encodeBencode({
    interval: 1800,
    peers: new Uint8Array(peer4(1, 2, 3, 4, 80)),
    peers6: v6,
  });
  const response = parseAnnounceResponse(body);
  strictEqual(response.peers.length, 2);
  deepStrictEqual(response.peers[0], { host: "1.2.3.4", port: 80 });
  strictEqual(response.peers[1].port, 6881);
  ok(!response.peers[1].host.startsWith("["));
  ok(response.peers[1].host.startsWith("2001:"), response.peers[1].host);
  strictEqual(response.warning, undefined);
});

Deno.test("parseAnnounceResponse() reads a non-compact list of peer dictionaries", () => {
  const body = encodeBencode({
    interval: 1800,
    peers: [
      { ip: "10.1.1.1", port: 1000, "peer id": new Uint8Array(20) },
      { ip: "[::1]", port: 2000 },
      { ip: "peer.example", port: 3000 },
      { ip: "10.1.1.2", port: 0 },
      { port: 5 },
      "junk",
    ],
  });
  const response = parseAnnounceResponse(body);
  deepStrictEqual(response.peers, [
    { host: "10.1.1.1", port: 1000 },
    { host: "::1", port: 2000 },
    { host: "peer.example", port: 3000 },
  ]);
  ok(response.warning?.includes("dropped 3 malformed peer entries"), response.warning);
});

Deno.test("parseAnnounceResponse() throws TrackerError with the failure reason", () => {
  const body = encodeBencode({ "failure reason": "Requested download is not authorized" });
  throws(() => parseAnnounceResponse(body, "http://t.example/a"), (error: unknown) => {
    ok(error instanceof TrackerError);
    strictEqual(error.failureReason, "Requested download is not authorized");
    strictEqual(error.url, "http://t.example/a");
    ok(error.message.includes("not authorized"));
    return true;
  });
});

Deno.test("parseAnnounceResponse() turns malformed bencode and non-dictionaries into TrackerError", () => {
  for (const text of ["", "d8:interval", "i3e", "<html>oops</html>", "d5:peers6:abcdefee"]) {
    throws(() => parseAnnounceResponse(utf8(text)), TrackerError, text);
  }
});

Deno.test("parseAnnounceResponse() keeps good peers of an odd-length compact string and warns", () => {
  const body = concatBytes([
    utf8("d8:intervali600e5:peers14:"),
    new Uint8Array([...peer4(10, 0, 0, 1, 1), ...peer4(10, 0, 0, 2, 2), 9, 9]),
    utf8("e"),
  ]);
  const response = parseAnnounceResponse(body);
  deepStrictEqual(response.peers, [{ host: "10.0.0.1", port: 1 }, { host: "10.0.0.2", port: 2 }]);
  ok(response.warning?.includes("not a multiple of 6"), response.warning);
});

Deno.test("parseAnnounceResponse() drops peers with port 0, says so, and joins the tracker's warning", () => {
  const body = encodeBencode({
    interval: 600,
    "warning message": "be nice",
    peers: new Uint8Array([...peer4(10, 0, 0, 1, 0), ...peer4(10, 0, 0, 2, 2)]),
  });
  const response = parseAnnounceResponse(body);
  deepStrictEqual(response.peers, [{ host: "10.0.0.2", port: 2 }]);
  ok(response.warning?.startsWith("be nice; "), response.warning);
});

Deno.test("parseAnnounceResponse() removes duplicate peers", () => {
  const body = encodeBencode({
    interval: 600,
    peers: new Uint8Array([...peer4(10, 0, 0, 1, 5), ...peer4(10, 0, 0, 1, 5)]),
  });
  deepStrictEqual(parseAnnounceResponse(body).peers, [{ host: "10.0.0.1", port: 5 }]);
});

Deno.test("parseAnnounceResponse() clamps a missing, zero, tiny or huge interval", () => {
  const interval = (value?: unknown): number =>
    parseAnnounceResponse(
      encodeBencode(
        value === undefined ? { peers: "" } : { peers: "", interval: value as number },
      ),
    ).intervalSeconds;
  strictEqual(interval(), 1800);
  strictEqual(interval(0), 1800);
  strictEqual(interval(-5), 1800);
  strictEqual(interval(1), 60);
  strictEqual(interval(3600), 3600);
  strictEqual(interval(10 ** 12), 7200);
  strictEqual(interval(2n ** 80n), 7200);
  strictEqual(interval("soon"), 1800);
});

Deno.test("clampAnnounceInterval() handles NaN and fractions", () => {
  strictEqual(clampAnnounceInterval(Number.NaN), 1800);
  strictEqual(clampAnnounceInterval(90.7), 90);
});

Deno.test("parseAnnounceResponse() ignores wrongly typed fields rather than crashing", () => {
  const body = encodeBencode({
    interval: 600,
    peers: 5,
    peers6: [1, 2],
    complete: -3,
    incomplete: "x",
    "tracker id": 9,
    "min interval": "x",
  });
  const response = parseAnnounceResponse(body);
  deepStrictEqual(response.peers, []);
  strictEqual(response.seeders, undefined);
  strictEqual(response.leechers, undefined);
  strictEqual(response.trackerId, undefined);
  strictEqual(response.minIntervalSeconds, undefined);
  ok(response.warning?.includes("wrong type"));
});

Deno.test("parseAnnounceResponse() notes an interval of 0 or none, and re-announces at the default", () => {
  for (const interval of [0, undefined]) {
    const response = parseAnnounceResponse(encodeBencode({ interval, peers: new Uint8Array(0) }));
    strictEqual(response.intervalSeconds, 1800);
    ok(response.warning?.includes("re-announcing every 1800 s"), response.warning);
  }
  const normal = parseAnnounceResponse(encodeBencode({ interval: 900, peers: new Uint8Array(0) }));
  strictEqual(normal.warning, undefined, "a usable interval is not worth a warning");
});
