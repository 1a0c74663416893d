// Fuzz target: HTTP tracker announce bodies (src/tracker/parse_announce_response.ts).
import { encodeBencode } from "../../src/bencode/encode.ts";
import {
  MAX_ANNOUNCE_INTERVAL_SECONDS,
  MIN_ANNOUNCE_INTERVAL_SECONDS,
  parseAnnounceResponse,
} from "../../src/tracker/parse_announce_response.ts";
import { TrackerError } from "../../src/tracker/tracker_error.ts";
import { encodeCompactPeers, type PeerAddress } from "../../src/wire/peer_address.ts";
import { type FuzzTarget, invariant, mustThrow } from "./fuzz_target.ts";

const v4 = (count: number): PeerAddress[] =>
  Array.from({ length: count }, (_, i) => ({
    host: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    port: 1 + (i % 65535),
  }));

function seeds(): Uint8Array[] {
  return [
    encodeBencode({ interval: 900, peers: encodeCompactPeers(v4(3), 4) }),
    encodeBencode({
      interval: 1800,
      "min interval": 60,
      complete: 5,
      incomplete: 7,
      "tracker id": "abc",
      "warning message": "be nice",
      peers: encodeCompactPeers(v4(200), 4),
      peers6: encodeCompactPeers(
        [{ host: "::1", port: 6881 }, { host: "2001:db8::7", port: 1 }],
        6,
      ),
    }),
    encodeBencode({
      interval: 30,
      peers: [
        { ip: "127.0.0.1", port: 6881, "peer id": "-SH0100-000000000000" },
        { ip: "[::1]", port: 51413 },
        { ip: "peer.example", port: 80 },
      ],
    }),
    encodeBencode({ "failure reason": "unregistered torrent" }),
  ];
}

const UNSAFE_HOST = /[\s/\\?#@]/;

/** Found by this target; src/tracker is another engineer's to fix. */

/** `parseAnnounceResponse`: clamped interval, real peers, no duplicates. */
export const trackerHttpTarget: FuzzTarget = {
  name: "tracker-http",
  description: "parseAnnounceResponse: only TrackerError escapes (a failure reason is a " +
    "TrackerError with failureReason); interval in 60..7200; peers have ports 1..65535, hosts " +
    "without spaces, slashes or @, no duplicates; counts are safe integers; prefixes refused",
  allowed: [TrackerError],
  profile: "bencode",
  dictionary: [
    "8:interval",
    "12:min interval",
    "5:peers",
    "6:peers6",
    "8:complete",
    "10:incomplete",
    "10:tracker id",
    "15:warning message",
    "14:failure reason",
    "2:ip",
    "4:port",
    "7:peer id",
  ],
  corpus: seeds,
  run(input, { rng }) {
    let response;
    try {
      response = parseAnnounceResponse(input, "http://127.0.0.1:1/announce");
    } catch (error) {
      if (error instanceof TrackerError && error.failureReason !== undefined) {
        invariant(typeof error.failureReason === "string", "failureReason is not text");
        return "accepted";
      }
      throw error;
    }
    const { intervalSeconds: interval, minIntervalSeconds: min } = response;
    invariant(
      Number.isInteger(interval) && interval >= MIN_ANNOUNCE_INTERVAL_SECONDS &&
        interval <= MAX_ANNOUNCE_INTERVAL_SECONDS,
      `interval ${interval}`,
    );
    invariant(
      min === undefined ||
        (Number.isInteger(min) && min >= 1 && min <= MAX_ANNOUNCE_INTERVAL_SECONDS),
      `min interval ${min}`,
    );
    for (const n of [response.seeders, response.leechers]) {
      invariant(n === undefined || (Number.isSafeInteger(n) && n >= 0), `count ${n}`);
    }
    invariant(response.trackerId !== "", "empty tracker id");
    const seen = new Set<string>();
    for (const { host, port } of response.peers) {
      invariant(Number.isInteger(port) && port >= 1 && port <= 65535, `port ${port}`);
      invariant(host !== "" && !UNSAFE_HOST.test(host), () => `host ${JSON.stringify(host)}`);
      const key = `${host.toLowerCase()}|${port}`;
      invariant(!seen.has(key), `peer ${key} twice`);
      seen.add(key);
    }
    const cut = rng.below(input.length);
    mustThrow(
      `parseAnnounceResponse(first ${cut} bytes)`,
      [TrackerError],
      () => parseAnnounceResponse(input.subarray(0, cut)),
    );
    return "accepted";
  },
};
