// The terminal display of `shoal download`, driven by a scripted torrent: what a person sees.
import { ok, strictEqual } from "node:assert/strict";
import { Display } from "../../cli/display.ts";
import type { Torrent, TorrentEvent } from "../../src/client/torrent.ts";

/** A torrent whose state, progress and events the test sets by hand. */
class ScriptedTorrent {
  readonly infoHash = "ab".repeat(20);
  readonly name = "album";
  state = "downloading";
  progress = 0;
  error: string | undefined;
  readonly #queue: (TorrentEvent | undefined)[] = [];
  #wake: (() => void) | undefined;

  stats() {
    return {
      downloadRate: 1_000_000,
      uploadRate: 0,
      peers: 1,
      knownPeers: 2,
      etaSeconds: 4,
      uploaded: 0,
      ratio: 0,
    };
  }

  push(event: TorrentEvent | undefined): void {
    this.#queue.push(event);
    this.#wake?.();
  }

  async *events(): AsyncGenerator<TorrentEvent> {
    while (true) {
      if (this.#queue.length === 0) await new Promise<void>((r) => this.#wake = r);
      const event = this.#queue.shift();
      if (event === undefined) return;
      yield event;
    }
  }
}

const ESCAPE = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*[A-Za-z]`, "g");
const strip = (text: string) => text.replace(ESCAPE, "");

Deno.test("Display: a bar with rates, ETA and peers; completed keeps the bar; nothing is drawn after finish()", async () => {
  const out: string[] = [];
  const display = new Display("bar", (text) => out.push(text));
  const torrent = new ScriptedTorrent();
  const seen: string[] = [];
  const watching = display.watch(torrent as unknown as Torrent, (e) => seen.push(e.type));
  torrent.progress = 0.5;
  torrent.push({ type: "state", state: "downloading" });
  await new Promise((r) => setTimeout(r, 0));
  const frame = strip(out.at(-1)!);
  ok(frame.includes(" 50.0%"), frame);
  ok(
    frame.includes("ETA 0:04") && frame.includes("peers 1/2") && frame.includes("1.0 MB/s"),
    frame,
  );
  torrent.progress = 1;
  torrent.state = "completed";
  torrent.push({ type: "state", state: "completed" });
  await new Promise((r) => setTimeout(r, 0));
  const done = strip(out.at(-1)!);
  ok(done.includes("100.0%") && done.includes("completed") && !done.includes("ETA"), done);
  display.finish();
  const before = out.length;
  torrent.state = "stopped";
  torrent.push({ type: "state", state: "stopped" });
  torrent.push(undefined);
  await watching;
  strictEqual(out.length, before, "the summary line is not overwritten by a late frame");
  strictEqual(seen.length, 3, "the command still hears every event");
});
