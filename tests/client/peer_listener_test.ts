// The client's listener under a flood: pending handshakes are capped, and a peer that does
// shake hands still reaches its torrent.
import { ok, strictEqual } from "node:assert/strict";
import {
  HANDSHAKE_GRACE_MS,
  MAX_PENDING_HANDSHAKES,
  PeerListener,
} from "../../src/client/peer_listener.ts";
import { CONNECT_TIMEOUT_MS } from "../../src/peer/connection.ts";
import { connectPeer, type PeerConnection } from "../../src/peer/connection.ts";
import { generatePeerId } from "../../src/wire/peer_id.ts";
import { within } from "../test_util.ts";

Deno.test("PeerListener keeps at most MAX_PENDING_HANDSHAKES handshakes in progress under a flood of idle sockets", async () => {
  await using listener = PeerListener.listen({
    hostname: "127.0.0.1",
    port: 0,
    peerId: generatePeerId(),
  });
  const infoHash = crypto.getRandomValues(new Uint8Array(20));
  const accepted: PeerConnection[] = [];
  const unregister = listener.register({
    infoHash,
    pieceCount: 4,
    wantsPeers: () => true,
    accept: (conn) => accepted.push(conn),
  });
  const idle: Deno.Conn[] = [];
  try {
    for (let i = 0; i < MAX_PENDING_HANDSHAKES * 3; i++) {
      idle.push(await Deno.connect({ hostname: "127.0.0.1", port: listener.port }));
    }
    // Give the accept loop time to take what it will.
    for (let i = 0; i < 50 && listener.pendingHandshakes < MAX_PENDING_HANDSHAKES; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    strictEqual(listener.pendingHandshakes, MAX_PENDING_HANDSHAKES, "capped, not one per socket");
    // The idle ones go away; a real peer then gets through.
    for (const conn of idle) conn.close();
    const real = await within(
      connectPeer({ host: "127.0.0.1", port: listener.port }, {
        infoHash,
        peerId: generatePeerId(),
      }),
      15_000,
      "a real handshake after the flood",
    );
    for (let i = 0; i < 100 && accepted.length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    strictEqual(accepted.length, 1, "the torrent got the real peer");
    await real.close();
  } finally {
    for (const conn of idle) {
      try {
        conn.close();
      } catch {
        // closed above
      }
    }
    for (const conn of accepted) await conn.close();
    unregister();
  }
});

Deno.test("PeerListener: sockets that never send a byte hold the handshake slots only briefly, not for the whole handshake timeout", async () => {
  await using listener = PeerListener.listen({
    hostname: "127.0.0.1",
    port: 0,
    peerId: generatePeerId(),
  });
  const infoHash = crypto.getRandomValues(new Uint8Array(20));
  const accepted: PeerConnection[] = [];
  const unregister = listener.register({
    infoHash,
    pieceCount: 4,
    wantsPeers: () => true,
    accept: (conn) => accepted.push(conn),
  });
  const silent: Deno.Conn[] = [];
  try {
    // Every slot taken by a socket that stays open and silent.
    for (let i = 0; i < MAX_PENDING_HANDSHAKES * 2; i++) {
      silent.push(await Deno.connect({ hostname: "127.0.0.1", port: listener.port }));
    }
    const started = performance.now();
    const real = await within(
      connectPeer({ host: "127.0.0.1", port: listener.port }, {
        infoHash,
        peerId: generatePeerId(),
      }),
      CONNECT_TIMEOUT_MS,
      "a real handshake while silent sockets hold the slots",
    );
    const waited = performance.now() - started;
    // The silent sockets ahead of it in the backlog are closed HANDSHAKE_GRACE_MS after they
    // took a slot, 32 at a time: two rounds, far less than one handshake timeout.
    ok(waited < CONNECT_TIMEOUT_MS / 2, `the real peer waited ${waited.toFixed(0)} ms`);
    ok(waited >= HANDSHAKE_GRACE_MS * 0.9, `it did wait for the grace (${waited.toFixed(0)} ms)`);
    for (let i = 0; i < 100 && accepted.length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    strictEqual(accepted.length, 1, "the torrent got the real peer");
    await real.close();
  } finally {
    for (const conn of silent) conn.close();
    for (const conn of accepted) await conn.close();
    unregister();
  }
});
