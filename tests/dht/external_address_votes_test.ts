import { strictEqual } from "node:assert/strict";
import { ExternalAddressVotes } from "../../src/dht/external_address_votes.ts";

Deno.test("ExternalAddressVotes never takes one source's word", () => {
  const votes = new ExternalAddressVotes(3);
  for (let i = 0; i < 10; i++) strictEqual(votes.vote("198.51.100.7", "dht:10.0.0.1"), undefined);
  strictEqual(votes.agreed, undefined);
  votes.vote("198.51.100.7", "tracker:http://t/announce");
  strictEqual(votes.vote("198.51.100.7", "peer:10.0.0.9"), "198.51.100.7");
  strictEqual(votes.vote("198.51.100.7", "peer:10.0.0.10"), undefined, "already agreed");
});

Deno.test("ExternalAddressVotes follows a new majority and ignores ties and non-addresses", () => {
  const votes = new ExternalAddressVotes(2);
  votes.vote("198.51.100.7", "a");
  strictEqual(votes.vote("198.51.100.7", "b"), "198.51.100.7");
  votes.vote("203.0.113.1", "c");
  strictEqual(votes.vote("203.0.113.1", "d"), undefined, "a 2-2 tie changes nothing");
  strictEqual(votes.vote("203.0.113.1", "a"), "203.0.113.1", "a changed its mind: 3-1");
  strictEqual(votes.vote("not an ip", "e"), undefined);
  strictEqual(votes.vote("::ffff:203.0.113.1", "f"), undefined, "mapped form is the same address");
  strictEqual(votes.agreed, "203.0.113.1");
});
