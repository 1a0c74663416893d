/**
 * Interop: peer exchange (BEP 11) with libtorrent. shoal is told only of a libtorrent seeder;
 * a second libtorrent peer is connected to that seeder. The seeder's ut_pex message is the
 * only way shoal can learn the second peer's address, so a connection to it proves shoal
 * reads libtorrent's PEX.
 */

import { ok, strictEqual } from "node:assert/strict";
import { parseTorrent, type SessionEvent } from "../../mod.ts";
import { TorrentSession } from "../../src/session/torrent_session.ts";
import {
  interopTest,
  libtorrentCreate,
  makePayload,
  sameTree,
  startLibtorrent,
} from "./harness.ts";

interopTest(
  "shoal learns a peer from a libtorrent seeder's PEX message and connects to it",
  ["libtorrent"],
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "shoal-pex-interop-" });
    try {
      await makePayload(`${dir}/seed/pl`, [{ path: "a.bin", size: 6 * 1024 * 1024 + 7 }]);
      await libtorrentCreate(`${dir}/seed/pl`, `${dir}/t.torrent`, { pieceLength: 64 * 1024 });
      // The seeder is slow, so the download lasts long enough for PEX to arrive (libtorrent
      // sends it about once a minute, the first one soon after the extension handshake).
      await using seeder = await startLibtorrent({
        torrent: `${dir}/t.torrent`,
        dir: `${dir}/seed`,
        seed: true,
        uploadLimit: 1024 * 1024,
      });
      await using other = await startLibtorrent({
        torrent: `${dir}/t.torrent`,
        dir: `${dir}/other`,
        seed: false,
        peers: [{ host: "127.0.0.1", port: seeder.port }],
      });
      // The seeder sends its first PEX message right after the extension handshake: the other
      // peer must be connected to it by then.
      // ...and past its extension handshake, which tells the seeder its listen port. That
      // handshake comes before any request, so the seeder having uploaded to it proves it.
      const connectedBy = Date.now() + 30_000;
      while ((await seeder.status()).uploaded <= 0) {
        if (Date.now() > connectedBy) {
          throw new Error("the second peer never downloaded from the seeder");
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      // shoal does not listen, so nobody can reach it: a connection to the second peer can
      // only be one shoal dialled, with an address it read in the seeder's PEX message.
      const meta = parseTorrent(await Deno.readFile(`${dir}/t.torrent`));
      const events: SessionEvent[] = [];
      const session = new TorrentSession(meta, {
        dir: `${dir}/get`,
        peers: [{ host: "127.0.0.1", port: seeder.port }],
        listen: false,
        trackers: false,
        signal: AbortSignal.timeout(80_000),
      });
      for await (const event of session.run()) events.push(event);
      strictEqual(events.at(-1)?.type, "complete", "the download completed");
      ok(
        events.some((e) =>
          e.type === "peer" && e.change === "connected" && e.address === `127.0.0.1:${other.port}`
        ),
        `shoal never connected to the peer only PEX named (port ${other.port})`,
      );
      await sameTree(`${dir}/seed/pl`, `${dir}/get/pl`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
  { timeoutMs: 100_000 },
);
