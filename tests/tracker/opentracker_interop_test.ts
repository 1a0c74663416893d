import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import { interopTest, startOpentracker } from "../interop/harness.ts";
import { encodeHex } from "../../src/bytes/hex.ts";
import { announce } from "../../src/tracker/announce.ts";
import { TrackerError } from "../../src/tracker/tracker_error.ts";
import type { AnnounceRequest } from "../../src/tracker/types.ts";

function randomBytes(n: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(n));
}

function peer(infoHash: Uint8Array, port: number): AnnounceRequest {
  return {
    infoHash,
    peerId: randomBytes(20),
    port,
    uploaded: 0,
    downloaded: 0,
    left: 1000,
    event: "started",
    numWant: 50,
    key: 0x12345678,
  };
}

const FAST_UDP = { udpRetransmitBaseMs: 500, udpMaxRetransmits: 2, timeoutMs: 10_000 };

for (const protocol of ["http", "udp"] as const) {
  interopTest(
    `announce() over ${protocol.toUpperCase()} to opentracker: the second peer gets the first`,
    ["opentracker"],
    async () => {
      // Info hashes full of bytes that need percent-encoding.
      const infoHash = randomBytes(20);
      infoHash[0] = 0x25;
      infoHash[1] = 0xff;
      await using tracker = await startOpentracker([encodeHex(infoHash)]);
      const url = protocol === "http" ? tracker.httpUrl : tracker.udpUrl;
      const first = await announce(url, peer(infoHash, 40001), FAST_UDP);
      ok(first.intervalSeconds >= 60);
      const second = await announce(url, peer(infoHash, 40002), FAST_UDP);
      ok(
        second.peers.some((p) => p.host === "127.0.0.1" && p.port === 40001),
        `peers: ${JSON.stringify(second.peers)}`,
      );
      deepStrictEqual([second.seeders, second.leechers], [0, 2]);
      // A stopped announce removes the first peer again.
      await announce(url, { ...peer(infoHash, 40001), event: "stopped" }, FAST_UDP);
    },
  );

  interopTest(
    `announce() over ${protocol.toUpperCase()} to opentracker: a hash not on the whitelist is refused`,
    ["opentracker"],
    async () => {
      const allowed = randomBytes(20);
      await using tracker = await startOpentracker([encodeHex(allowed)]);
      const url = protocol === "http" ? tracker.httpUrl : tracker.udpUrl;
      // opentracker answers HTTP with a failure reason but silently drops such UDP announces,
      // so over UDP the refusal shows as "no answer" after the (shortened) retransmits.
      const options = { udpRetransmitBaseMs: 200, udpMaxRetransmits: 1 };
      await rejects(announce(url, peer(randomBytes(20), 40003), options), (error: unknown) => {
        ok(error instanceof TrackerError, String(error));
        strictEqual(error.url, url);
        if (protocol === "http") {
          ok(/not authorized/.test(error.failureReason ?? ""), error.message);
        } else ok(/no answer/.test(error.message), error.message);
        return true;
      });
    },
  );
}
