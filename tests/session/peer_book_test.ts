import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import {
  MAX_KNOWN_PEERS,
  PeerBook,
  RETRY_BASE_MS,
  RETRY_MAX_MS,
} from "../../src/session/peer_book.ts";
import type { PeerAddress } from "../../src/wire/peer_address.ts";

const T0 = 1_000_000;

function addr(port: number, host = "127.0.0.1"): PeerAddress {
  return { host, port };
}

/** Dials every due address at `nowMs` and returns them in the order `next` gave them. */
function drain(book: PeerBook, nowMs: number): PeerAddress[] {
  const out: PeerAddress[] = [];
  for (let a = book.next(nowMs); a; a = book.next(nowMs)) out.push(a);
  return out;
}

Deno.test("PeerBook starts empty and next() returns undefined", () => {
  const book = new PeerBook();
  strictEqual(book.size, 0);
  strictEqual(book.next(T0), undefined);
});

Deno.test("PeerBook.add() accepts new addresses and counts them in size", () => {
  const book = new PeerBook();
  strictEqual(book.add(addr(6881), T0), true);
  strictEqual(book.add(addr(6882), T0), true);
  strictEqual(book.add(addr(6881, "::1"), T0), true);
  strictEqual(book.size, 3);
});

Deno.test("PeerBook.add() rejects a duplicate address, even as a different object", () => {
  const book = new PeerBook();
  strictEqual(book.add(addr(6881), T0), true);
  strictEqual(book.add({ host: "127.0.0.1", port: 6881 }, T0 + 5), false);
  strictEqual(book.size, 1);
  // The same port on another host, or another port on the same host, is a different peer.
  strictEqual(book.add(addr(6881, "127.0.0.2"), T0), true);
  strictEqual(book.add(addr(6882), T0), true);
  strictEqual(book.size, 3);
});

Deno.test("PeerBook.add() rejects ports outside 1..65535 and non-integer ports", () => {
  const book = new PeerBook();
  for (const port of [0, -1, 65536, 1.5, NaN, Infinity]) {
    strictEqual(book.add(addr(port), T0), false, `port ${port}`);
  }
  strictEqual(book.size, 0);
  strictEqual(book.add(addr(1), T0), true);
  strictEqual(book.add(addr(65535), T0), true);
  strictEqual(book.size, 2);
});

Deno.test("PeerBook.next() returns each new address once, in the order added", () => {
  const book = new PeerBook();
  for (const port of [3, 1, 2]) book.add(addr(port), T0);
  deepStrictEqual(drain(book, T0).map((a) => a.port), [3, 1, 2]);
  // All are now "connecting": nothing more to dial until an outcome is marked.
  strictEqual(book.next(T0 + RETRY_MAX_MS * 10), undefined);
});

Deno.test("PeerBook.next() does not return an address added in the future", () => {
  const book = new PeerBook();
  book.add(addr(1), T0 + 100);
  strictEqual(book.next(T0 + 99), undefined);
  deepStrictEqual(book.next(T0 + 100), addr(1));
});

Deno.test("PeerBook.mark(failed) backs off exponentially, capped at RETRY_MAX_MS", () => {
  const book = new PeerBook();
  const a = addr(6881);
  book.add(a, T0);
  let now = T0;
  let expected = RETRY_BASE_MS;
  let sawCap = false;
  for (let failure = 1; failure <= 20; failure++) {
    deepStrictEqual(book.next(now), a, `dial ${failure}`);
    book.mark(a, "failed", now);
    const wait = Math.min(expected, RETRY_MAX_MS);
    strictEqual(book.next(now + wait - 1), undefined, `failure ${failure}: due too early`);
    now += wait;
    if (wait === RETRY_MAX_MS) sawCap = true;
    expected *= 2;
  }
  ok(sawCap, "20 failures reach the cap");
  deepStrictEqual(book.next(now), a);
});

Deno.test("PeerBook.mark(failed) waits RETRY_BASE_MS, then twice that, after the first failures", () => {
  const book = new PeerBook();
  const a = addr(6881);
  book.add(a, T0);
  book.next(T0);
  book.mark(a, "failed", T0);
  strictEqual(book.next(T0 + RETRY_BASE_MS - 1), undefined);
  deepStrictEqual(book.next(T0 + RETRY_BASE_MS), a);
  const t1 = T0 + RETRY_BASE_MS;
  book.mark(a, "failed", t1);
  strictEqual(book.next(t1 + 2 * RETRY_BASE_MS - 1), undefined);
  deepStrictEqual(book.next(t1 + 2 * RETRY_BASE_MS), a);
});

Deno.test("PeerBook.mark(connected) resets the failure count", () => {
  const book = new PeerBook();
  const a = addr(6881);
  book.add(a, T0);
  let now = T0;
  for (let i = 0; i < 4; i++) {
    book.next(now);
    book.mark(a, "failed", now);
    now += RETRY_MAX_MS;
  }
  book.next(now);
  book.mark(a, "connected", now);
  // While connected it is never offered.
  strictEqual(book.next(now + RETRY_MAX_MS * 2), undefined);
  now += 1000;
  book.mark(a, "failed", now);
  // One failure after a good connection: the base wait again, not 2^4 times it.
  deepStrictEqual(book.next(now + RETRY_BASE_MS), a);
});

Deno.test("PeerBook.mark(closed) makes the address due again after RETRY_BASE_MS", () => {
  const book = new PeerBook();
  const a = addr(6881);
  book.add(a, T0);
  book.next(T0);
  book.mark(a, "connected", T0);
  strictEqual(book.next(T0 + 1), undefined);
  book.mark(a, "closed", T0 + 10);
  strictEqual(book.next(T0 + 10 + RETRY_BASE_MS - 1), undefined);
  deepStrictEqual(book.next(T0 + 10 + RETRY_BASE_MS), a);
});

Deno.test("PeerBook.mark(closed) does not add to the failures of an address", () => {
  const book = new PeerBook();
  const a = addr(6881);
  book.add(a, T0);
  let now = T0;
  for (let i = 0; i < 5; i++) {
    deepStrictEqual(book.next(now), a);
    book.mark(a, "closed", now);
    now += RETRY_BASE_MS;
  }
  // After five closes the wait is still RETRY_BASE_MS (checked by the loop), and a first
  // failure backs off by RETRY_BASE_MS only.
  deepStrictEqual(book.next(now), a);
  book.mark(a, "failed", now);
  deepStrictEqual(book.next(now + RETRY_BASE_MS), a);
});

Deno.test("PeerBook.mark(closed) after failures waits RETRY_BASE_MS but keeps the count", () => {
  const book = new PeerBook();
  const a = addr(6881);
  book.add(a, T0);
  book.next(T0);
  book.mark(a, "failed", T0); // 1 failure: due at +1x
  let now = T0 + RETRY_BASE_MS;
  deepStrictEqual(book.next(now), a);
  book.mark(a, "failed", now); // 2 failures: due at +2x
  now += 2 * RETRY_BASE_MS;
  deepStrictEqual(book.next(now), a);
  book.mark(a, "closed", now); // closed, not failed: the short wait
  now += RETRY_BASE_MS;
  deepStrictEqual(book.next(now), a);
  book.mark(a, "failed", now); // 3 failures: due at +4x
  strictEqual(book.next(now + 4 * RETRY_BASE_MS - 1), undefined);
  deepStrictEqual(book.next(now + 4 * RETRY_BASE_MS), a);
});

Deno.test("PeerBook.next() prefers addresses with fewer failures", () => {
  const book = new PeerBook();
  const flaky = addr(1), worse = addr(2), fresh = addr(3);
  book.add(flaky, T0);
  book.add(worse, T0);
  book.next(T0);
  book.next(T0);
  book.mark(flaky, "failed", T0);
  book.mark(worse, "failed", T0);
  const t1 = T0 + RETRY_BASE_MS;
  deepStrictEqual(book.next(t1), flaky);
  book.mark(flaky, "connected", t1);
  deepStrictEqual(book.next(t1), worse);
  book.mark(worse, "failed", t1);
  book.mark(flaky, "failed", t1); // flaky: 1 failure (reset by connected); worse: 2
  const later = t1 + RETRY_MAX_MS;
  book.add(fresh, later);
  deepStrictEqual(drain(book, later), [fresh, flaky, worse]);
});

Deno.test("PeerBook.mark() for an unknown address adds it only when connected", () => {
  const book = new PeerBook();
  book.mark(addr(1), "failed", T0);
  book.mark(addr(2), "closed", T0);
  strictEqual(book.size, 0);
  book.mark(addr(3), "connected", T0); // an incoming connection
  strictEqual(book.size, 1);
  strictEqual(book.next(T0), undefined, "a connected address is not dialled");
  book.mark(addr(3), "closed", T0);
  deepStrictEqual(book.next(T0 + RETRY_BASE_MS), addr(3));
});

Deno.test("PeerBook.mark(connected) marks an address that was never dialled", () => {
  const book = new PeerBook();
  book.add(addr(1), T0);
  book.mark(addr(1), "connected", T0); // it connected to us first
  strictEqual(book.next(T0), undefined);
});

Deno.test("PeerBook.ban() stops an address from being dialled, for good", () => {
  const book = new PeerBook();
  const bad = addr(1), good = addr(2);
  book.add(bad, T0);
  book.add(good, T0);
  strictEqual(book.isBanned(bad), false);
  book.ban(bad);
  strictEqual(book.isBanned(bad), true);
  strictEqual(book.isBanned(good), false);
  deepStrictEqual(drain(book, T0), [good]);
  book.mark(bad, "closed", T0);
  book.mark(bad, "connected", T0);
  book.mark(bad, "closed", T0);
  strictEqual(book.isBanned(bad), true);
  strictEqual(book.add(bad, T0), false, "re-adding a banned address does nothing");
  strictEqual(book.next(T0 + RETRY_MAX_MS * 10), undefined);
});

Deno.test("PeerBook.ban() of an unknown address remembers it as banned", () => {
  const book = new PeerBook();
  const bad = addr(1);
  book.ban(bad);
  strictEqual(book.isBanned(bad), true);
  strictEqual(book.isBanned({ host: "127.0.0.1", port: 1 }), true);
  strictEqual(book.add(bad, T0), false);
  strictEqual(book.next(T0), undefined);
  strictEqual(book.size, 0, "a banned address is not a peer to dial");
});

Deno.test("PeerBook keeps bans and makes room when full of failing addresses", () => {
  const book = new PeerBook();
  for (let i = 0; i < MAX_KNOWN_PEERS; i++) book.add({ host: "10.0.0.1", port: i + 1 }, T0);
  const stranger = { host: "10.9.9.9", port: 9 };
  book.ban(stranger);
  strictEqual(book.isBanned(stranger), true, "a ban holds even when the book is full");
  const newcomer = { host: "10.1.1.1", port: 1 };
  strictEqual(book.add(newcomer, T0), false, "no room while every entry is untried");
  const dead = book.next(T0)!;
  book.mark(dead, "failed", T0);
  strictEqual(book.add(newcomer, T0), true, "the failing entry makes room");
  strictEqual(book.size, MAX_KNOWN_PEERS);
});

Deno.test("PeerBook.ban() of an address being dialled keeps it out after it closes", () => {
  const book = new PeerBook();
  const a = addr(1);
  book.add(a, T0);
  deepStrictEqual(book.next(T0), a);
  book.ban(a);
  book.mark(a, "failed", T0);
  strictEqual(book.next(T0 + RETRY_MAX_MS * 10), undefined);
});

Deno.test("PeerBook.isBanned() is false for an unknown address", () => {
  strictEqual(new PeerBook().isBanned(addr(1)), false);
});

Deno.test("PeerBook keeps IPv4 and IPv6 addresses with the same port apart", () => {
  const book = new PeerBook();
  book.add(addr(6881, "127.0.0.1"), T0);
  book.add(addr(6881, "::1"), T0);
  book.ban(addr(6881, "::1"));
  strictEqual(book.isBanned(addr(6881, "127.0.0.1")), false);
  deepStrictEqual(drain(book, T0), [addr(6881, "127.0.0.1")]);
});

Deno.test("PeerBook holds at most MAX_KNOWN_PEERS addresses", () => {
  const book = new PeerBook();
  let added = 0;
  for (let i = 0; i < MAX_KNOWN_PEERS + 50; i++) {
    const a = addr(1 + (i % 60000), `10.0.${i >> 8 & 0xff}.${i & 0xff}`);
    if (book.add(a, T0)) added++;
  }
  strictEqual(added, MAX_KNOWN_PEERS);
  strictEqual(book.size, MAX_KNOWN_PEERS);
  strictEqual(book.add(addr(9, "10.9.9.9"), T0), false);
  book.mark(addr(9, "10.9.9.9"), "connected", T0);
  strictEqual(book.size, MAX_KNOWN_PEERS);
  strictEqual(drain(book, T0).length, MAX_KNOWN_PEERS);
});

Deno.test("PeerBook.next() passes over seeds when asked to", () => {
  const book = new PeerBook();
  const seed = { host: "10.0.0.1", port: 1 };
  book.add(seed, 0);
  book.mark(book.next(0)!, "closed", 0);
  book.markSeed(seed);
  strictEqual(book.next(RETRY_MAX_MS, true), undefined, "a seed is no use to a seed");
  deepStrictEqual(book.next(RETRY_MAX_MS, false), seed, "a downloader still dials it");
});

Deno.test("PeerBook never takes addresses no peer can have, nor our own listening address", () => {
  const book = new PeerBook((address) => address.host === "127.0.0.1" && address.port === 6881);
  for (
    const host of [
      "0.0.0.0",
      "0.1.2.3",
      "255.255.255.255",
      "224.0.0.251",
      "239.1.1.1",
      "::",
      "ff02::1",
      "::ffff:0.0.0.0",
    ]
  ) {
    strictEqual(book.add({ host, port: 6881 }, 0), false, host);
  }
  strictEqual(book.add({ host: "127.0.0.1", port: 6881 }, 0), false, "our own address");
  strictEqual(book.add({ host: "127.0.0.1", port: 6882 }, 0), true, "another port is another peer");
  strictEqual(book.add({ host: "10.0.0.1", port: 0 }, 0), false, "port 0");
  strictEqual(book.add({ host: "::1", port: 6881 }, 0), true);
  strictEqual(book.size, 2);
});
