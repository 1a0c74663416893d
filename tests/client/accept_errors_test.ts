// A seeder that runs out of file descriptors under a connection flood (EMFILE on accept) goes
// on seeding once the flood is gone: accept errors are transient, not the end of the client.
import { ok, strictEqual } from "node:assert/strict";
import { join } from "node:path";
import { parseTorrent } from "../../src/metainfo/parse_torrent.ts";
import { TorrentSession } from "../../src/session/torrent_session.ts";
import { createTorrent } from "../../src/storage/create_torrent.ts";
import { CLI, testArgs } from "../cli_util.ts";
import { assertSameBytes, randomBytes, within } from "../test_util.ts";

/** Few enough descriptors that a flood of a dozen sockets exhausts them (Deno needs ~28). */
const FD_LIMIT = 36;

async function hasPrlimit(): Promise<boolean> {
  try {
    const { success } = await new Deno.Command("prlimit", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).output();
    return success;
  } catch {
    return false;
  }
}

Deno.test({
  name: "a seeder out of file descriptors under a flood keeps accepting once the flood is gone",
  ignore: !(await hasPrlimit()) && Deno.env.get("CI") !== "true",
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "shoal-emfile-" });
    const data = randomBytes(700_000, 41);
    await Deno.mkdir(join(root, "seed"));
    await Deno.writeFile(join(root, "seed", "f.bin"), data);
    const bytes = await createTorrent(join(root, "seed", "f.bin"), { pieceLength: 32768 });
    await Deno.writeFile(join(root, "f.torrent"), bytes);
    const meta = parseTorrent(bytes);
    const args = testArgs([
      "seed",
      join(root, "f.torrent"),
      "-o",
      join(root, "seed"),
      "--port",
      "0",
      "--listen-host",
      "127.0.0.1",
      "--no-trackers",
      "--json",
    ]);
    const child = new Deno.Command("prlimit", {
      args: [`--nofile=${FD_LIMIT}:${FD_LIMIT}`, Deno.execPath(), "run", "-A", CLI, ...args],
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    const killer = setTimeout(() => child.kill("SIGKILL"), 90_000);
    const flood: Deno.Conn[] = [];
    const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let buffered = "";
    const nextEvent = async (type: string) => {
      while (true) {
        const newline = buffered.indexOf("\n");
        if (newline >= 0) {
          const event = JSON.parse(buffered.slice(0, newline));
          buffered = buffered.slice(newline + 1);
          if (event.type === type) return event;
          continue;
        }
        const { value, done } = await lines.read();
        if (done) throw new Error(`the seeder ended before a ${type} event`);
        buffered += value;
      }
    };
    try {
      const ready = await within(nextEvent("ready"), 30_000, "seeder ready");
      const port = ready.port as number;
      for (let i = 0; i < 24; i++) {
        try {
          flood.push(await Deno.connect({ hostname: "127.0.0.1", port }));
        } catch {
          break;
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 1500)); // the seeder meets EMFILE
      for (const conn of flood.splice(0)) conn.close();
      // The seeder is still there and serves a real leecher.
      const controller = new AbortController();
      const leecher = new TorrentSession(meta, {
        dir: join(root, "get"),
        peers: [{ host: "127.0.0.1", port }],
        listen: false,
        trackers: false,
        signal: controller.signal,
      });
      const done = (async () => {
        for await (const event of leecher.run()) if (event.type === "complete") return true;
        return false;
      })();
      const completed = await within(done, 60_000, "the download after the flood");
      ok(completed, "the leecher completed");
      assertSameBytes(await Deno.readFile(join(root, "get", "f.bin")), data, "leecher copy");
    } finally {
      for (const conn of flood) conn.close();
      child.kill("SIGTERM");
      const status = await child.status;
      clearTimeout(killer);
      await lines.cancel().catch(() => {});
      const stderr = await new Response(child.stderr).text();
      await Deno.remove(root, { recursive: true });
      // Stopped by our SIGTERM, not by the flood: a clean exit with code 130.
      strictEqual(status.code, 130, `seeder exit: ${status.code}; stderr: ${stderr}`);
    }
  },
});
