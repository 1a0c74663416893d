import { ok, strictEqual } from "node:assert/strict";
import { DhtTokens, TOKEN_BYTES, TOKEN_ROTATE_MS } from "../../src/dht/dht_tokens.ts";

const MIN = 60_000;
const hashA = new Uint8Array(20).fill(1);
const hashB = new Uint8Array(20).fill(2);

Deno.test("DhtTokens binds a token to the IP address and the info hash", () => {
  const tokens = new DhtTokens(0);
  const token = tokens.issue("10.0.0.1", hashA, 0);
  strictEqual(token.length, TOKEN_BYTES);
  ok(tokens.check(token, "10.0.0.1", hashA, 1));
  ok(!tokens.check(token, "10.0.0.2", hashA, 1), "another address");
  ok(!tokens.check(token, "10.0.0.1", hashB, 1), "another info hash (bittorrent.org #47)");
  ok(tokens.check(token, "::ffff:10.0.0.1", hashA, 1), "the IPv4-mapped form is the same IP");
  ok(!tokens.check(token.subarray(0, 4), "10.0.0.1", hashA, 1));
  const forged = token.slice();
  forged[0] ^= 1;
  ok(!tokens.check(forged, "10.0.0.1", hashA, 1));
});

Deno.test("DhtTokens accepts tokens 5-10 minutes old and refuses older ones", () => {
  const tokens = new DhtTokens(0);
  // Issued right after a rotation: valid under the current secret, then under the previous one.
  const early = tokens.issue("10.0.0.1", hashA, 0);
  ok(tokens.check(early, "10.0.0.1", hashA, 4 * MIN));
  ok(tokens.check(early, "10.0.0.1", hashA, 5 * MIN), "5 minutes old: previous secret");
  ok(tokens.check(early, "10.0.0.1", hashA, 10 * MIN - 1), "just under 10 minutes old");
  ok(!tokens.check(early, "10.0.0.1", hashA, 10 * MIN), "10 minutes old: two rotations ago");
  // Issued just before a rotation: accepted for at least 5 minutes, never 10.
  const again = new DhtTokens(0);
  const late = again.issue("10.0.0.1", hashA, 5 * MIN - 1);
  ok(again.check(late, "10.0.0.1", hashA, 5 * MIN - 1 + 5 * MIN - 1), "under 5 minutes old");
  ok(!again.check(late, "10.0.0.1", hashA, 10 * MIN), "5 minutes old but two rotations ago");
  // After a long gap, both secrets are new.
  const old = tokens.issue("10.0.0.1", hashA, 20 * MIN);
  ok(!tokens.check(old, "10.0.0.1", hashA, 20 * MIN + 7 * TOKEN_ROTATE_MS));
});
