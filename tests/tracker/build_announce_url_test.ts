import { ok, strictEqual, throws } from "node:assert/strict";
import { buildAnnounceUrl } from "../../src/tracker/build_announce_url.ts";
import { percentEncodeBytes } from "../../src/tracker/percent_encode_bytes.ts";
import type { AnnounceRequest } from "../../src/tracker/types.ts";

const request = (extra: Partial<AnnounceRequest> = {}): AnnounceRequest => ({
  infoHash: Uint8Array.from({ length: 20 }, (_, i) => i * 13),
  peerId: new TextEncoder().encode("-SH0100-123456789012"),
  port: 6881,
  uploaded: 1,
  downloaded: 2,
  left: 3,
  ...extra,
});

Deno.test("percentEncodeBytes() keeps only unreserved bytes and encodes all others as %XX", () => {
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  const text = percentEncodeBytes(all);
  const decoded: number[] = [];
  for (let i = 0; i < text.length;) {
    if (text[i] === "%") {
      decoded.push(parseInt(text.slice(i + 1, i + 3), 16));
      ok(/^[0-9A-F]{2}$/.test(text.slice(i + 1, i + 3)));
      i += 3;
    } else {
      ok(/[A-Za-z0-9\-._~]/.test(text[i]), `unexpected raw ${text[i]}`);
      decoded.push(text.charCodeAt(i));
      i++;
    }
  }
  strictEqual(decoded.length, 256);
  decoded.forEach((byte, i) => strictEqual(byte, i));
  strictEqual(text.length, 66 + 190 * 3);
});

Deno.test("buildAnnounceUrl() writes every field and appends to an existing query", () => {
  const url = buildAnnounceUrl(
    "http://t.example/ann?pk=1#frag",
    request({
      event: "completed",
      numWant: 50,
      key: 0xdeadbeef,
      trackerId: "a b",
    }),
  );
  strictEqual(
    url,
    "http://t.example/ann?pk=1&info_hash=" + percentEncodeBytes(request().infoHash) +
      "&peer_id=-SH0100-123456789012&port=6881&uploaded=1&downloaded=2&left=3&compact=1" +
      "&numwant=50&key=DEADBEEF&event=completed&trackerid=a%20b",
  );
  ok(buildAnnounceUrl("http://t.example/a", request()).startsWith("http://t.example/a?info_hash="));
  ok(
    buildAnnounceUrl("http://t.example/a?", request()).startsWith("http://t.example/a?info_hash="),
  );
  ok(buildAnnounceUrl("http://t.example/a?x=1&", request()).includes("?x=1&info_hash="));
});

Deno.test("buildAnnounceUrl() refuses bad hashes, ports and counts", () => {
  throws(
    () => buildAnnounceUrl("http://t/a", request({ infoHash: new Uint8Array(19) })),
    RangeError,
  );
  throws(() => buildAnnounceUrl("http://t/a", request({ peerId: new Uint8Array(21) })), RangeError);
  throws(() => buildAnnounceUrl("http://t/a", request({ port: 70000 })), RangeError);
  throws(() => buildAnnounceUrl("http://t/a", request({ left: -1 })), RangeError);
  throws(() => buildAnnounceUrl("http://t/a", request({ uploaded: 1.5 })), RangeError);
});
