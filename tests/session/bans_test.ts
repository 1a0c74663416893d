// Bans are by IP address, and a peer id proves nothing: a banned peer that comes back with a new
// id is refused, and a peer claiming a connected peer's id from another address does not replace
// it. 127.0.0.1 and ::1 stand for two hosts (the sessions listen dual-stack on ::).
import { ok, strictEqual } from "node:assert/strict";
import { join } from "node:path";
import type { Metainfo } from "../../src/metainfo/types.ts";
import { parseTorrent } from "../../src/metainfo/parse_torrent.ts";
import { acceptPeer, connectPeer, type PeerConnection } from "../../src/peer/connection.ts";
import type { SessionEvent } from "../../src/session/events.ts";
import { TorrentSession } from "../../src/session/torrent_session.ts";
import { createTorrent } from "../../src/storage/create_torrent.ts";
import { generatePeerId } from "../../src/wire/peer_id.ts";
import { randomBytes, within } from "../test_util.ts";

async function payload(root: string, size: number, seed: number) {
  await Deno.mkdir(join(root, "seed"), { recursive: true });
  const data = randomBytes(size, seed);
  await Deno.writeFile(join(root, "seed", "p.bin"), data);
  const meta = parseTorrent(
    await createTorrent(join(root, "seed", "p.bin"), { pieceLength: 16384 }),
  );
  return { data, meta };
}

function start(meta: Metainfo, options: ConstructorParameters<typeof TorrentSession>[1]) {
  const controller = new AbortController();
  const session = new TorrentSession(meta, { ...options, signal: controller.signal });
  const events: SessionEvent[] = [];
  const ready = Promise.withResolvers<number>();
  const done = (async () => {
    for await (const event of session.run()) {
      events.push(event);
      if (event.type === "ready") ready.resolve(event.port!);
    }
  })();
  done.catch(ready.reject);
  return {
    session,
    events,
    ready: ready.promise,
    async [Symbol.asyncDispose]() {
      controller.abort();
      await done.catch(() => {});
    },
  };
}

/** Resolves `true` when the connection is closed by the other side within `ms`. */
async function closedWithin(conn: PeerConnection, ms: number): Promise<boolean> {
  const reading = (async () => {
    for await (const _ of conn.messages()) { /* drain */ }
    return true;
  })();
  const timeout = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms));
  const result = await Promise.race([reading, timeout]);
  if (!result) await conn.close();
  await reading.catch(() => {});
  return result;
}

Deno.test("a peer claiming a connected peer's id from another address does not replace it", async () => {
  const root = await Deno.makeTempDir({ prefix: "shoal-bans-" });
  const { meta } = await payload(root, 100_000, 3);
  // The lowest possible id: by the simultaneous-dial rule alone, an incoming connection with it
  // would win over the one the session dialled.
  const id = new Uint8Array(20);
  await using listener = Deno.listen({ hostname: "::1", port: 0 });
  try {
    await using leecher = start(meta, {
      dir: join(root, "get"),
      listenHost: "::",
      port: 0,
      trackers: false,
      peers: [{ host: "::1", port: listener.addr.port }],
    });
    const port = await leecher.ready;
    // The session dials our fake at ::1, which answers as peer `id` and stays quiet.
    const dialled = await within(
      listener.accept().then((tcp) =>
        acceptPeer(tcp, { peerId: id, lookup: () => ({ pieceCount: meta.pieceCount }) })
      ),
      10_000,
      "the session's dial",
    );
    await dialled.send({ type: "have-all" });
    // Another "peer" at 127.0.0.1 claims the same id.
    const impostor = await connectPeer({ host: "127.0.0.1", port }, {
      infoHash: meta.infoHash,
      peerId: id,
    });
    ok(await closedWithin(impostor, 5_000), "the impostor from another address is refused");
    // The dialled connection is still there: the session asks it for blocks.
    let requested = false;
    const reading = (async () => {
      for await (const message of dialled.messages()) {
        if (message.type === "interested") await dialled.send({ type: "unchoke" });
        if (message.type === "request") {
          requested = true;
          return;
        }
      }
    })();
    await within(reading, 15_000, "a request on the first connection");
    ok(requested);
    await dialled.close();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a peer banned for bad data is refused when it comes back with a new id", async () => {
  const root = await Deno.makeTempDir({ prefix: "shoal-bans-" });
  const { data, meta } = await payload(root, 600_000, 4);
  try {
    await using seeder = start(meta, {
      dir: join(root, "seed"),
      seed: true,
      requireComplete: true,
      maxUploadRate: 256 * 1024,
      listenHost: "127.0.0.1",
      port: 0,
      trackers: false,
    });
    const seederPort = await seeder.ready;
    await using leecher = start(meta, {
      dir: join(root, "get"),
      peers: [{ host: "127.0.0.1", port: seederPort }],
      listenHost: "::",
      port: 0,
      trackers: false,
    });
    const port = await leecher.ready;
    // The liar connects from ::1 and answers every request with junk until it is banned.
    const liar = await connectPeer({ host: "::1", port }, {
      infoHash: meta.infoHash,
      peerId: generatePeerId(),
    });
    await liar.send([{ type: "have-all" }, { type: "unchoke" }]);
    for await (const message of liar.messages()) {
      if (message.type !== "request") continue;
      await liar.send({
        type: "piece",
        index: message.index,
        begin: message.begin,
        block: randomBytes(message.length, message.index + 99),
      }).catch(() => {});
    }
    ok(
      leecher.events.some((e) => e.type === "warning" && /Banned peer \[::1\]/.test(e.message)),
      JSON.stringify(leecher.events.filter((e) => e.type === "warning")),
    );
    // Back with a new id, from the same address: refused at once.
    const again = await connectPeer({ host: "::1", port }, {
      infoHash: meta.infoHash,
      peerId: generatePeerId(),
    });
    ok(await closedWithin(again, 5_000), "the banned address is refused whatever its id");
    // Meanwhile the honest seeder (another address) is untouched.
    const done = leecher.events.some((e) => e.type === "complete") ||
      await within(
        (async () => {
          while (!leecher.events.some((e) => e.type === "complete")) {
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
          return true;
        })(),
        60_000,
        "the download",
      );
    ok(done);
    strictEqual((await Deno.readFile(join(root, "get", "p.bin"))).length, data.length);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
