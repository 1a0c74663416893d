// The web page in a real browser: Debian's Chromium, headless, driven over the DevTools
// protocol (raw, over Deno's WebSocket). It adds a torrent through the file picker, plays a
// WebM from the stream route while the file is still downloading, watches the progress bar
// reach 100%, turns a file off with the keyboard, and saves screenshots at 360 and 1440 px
// (in tests/daemon/artifacts/, or $SHOAL_ARTIFACTS_DIR); a pasted magnet link and a dropped
// .torrent are added, and the magnet removed through the confirm dialog. A second test tries the holes from a
// browser: a cross-site page posting to the daemon, and DNS rebinding.
import { ok, strictEqual } from "node:assert/strict";
import { join } from "node:path";
import { parseTorrent } from "../../src/metainfo/parse_torrent.ts";
import { interopTest, libtorrentCreate, makePayload, startLibtorrent } from "../interop/harness.ts";
import { within } from "../test_util.ts";
import { call } from "./api_client.ts";
import { Browser, hasChromium, isCi, type Page } from "./cdp_browser.ts";
import { makeLocalTorrent, startTestDaemon } from "./daemon_fixture.ts";
import { FixedTracker } from "./fixed_tracker.ts";

const WEBM = new URL("./fixtures/clock.webm", import.meta.url);
const ARTIFACTS = Deno.env.get("SHOAL_ARTIFACTS_DIR") ??
  new URL("./artifacts/", import.meta.url).pathname;

/** A test that needs Chromium (and libtorrent): a visible skip without it, a failure in CI. */
function browserTest(name: string, fn: () => Promise<void>): void {
  if (!hasChromium() && !isCi()) {
    Deno.test({ name: `${name} (SKIPPED: missing chromium)`, ignore: true, fn: () => {} });
    return;
  }
  interopTest(name, ["libtorrent"], async () => {
    if (!hasChromium()) throw new Error("CI is set but /usr/bin/chromium is not installed");
    await fn();
  }, { timeoutMs: 120_000 });
}

async function press(page: Page, key: string, code: string, keyCode: number, text?: string) {
  await page.send("Input.dispatchKeyEvent", {
    type: "keyDown",
    key,
    code,
    windowsVirtualKeyCode: keyCode,
    text,
  });
  await page.send("Input.dispatchKeyEvent", {
    type: "keyUp",
    key,
    code,
    windowsVirtualKeyCode: keyCode,
  });
}

async function shoot(page: Page, name: string, width: number): Promise<string> {
  await page.setViewport(width, 900);
  // Let layout settle at the new width (two animation frames), end running transitions, and
  // clear the passing notices.
  await page.evaluate(
    "new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))" +
      ".then(() => document.getAnimations().forEach((a) => a.finish()))" +
      '.then(() => document.getElementById("toasts").replaceChildren())',
  );
  const path = join(ARTIFACTS, name);
  // A modal detail view covers the viewport: the page under it is not part of the picture.
  const modal = await page.evaluate<boolean>(`document.getElementById("detail").open`);
  await page.screenshot(path, { fullPage: !modal });
  return path;
}

browserTest(
  "the web page adds a torrent from the file picker, plays a WebM while it downloads, reaches 100%, turns a file off, at 360 and 1440 px",
  async () => {
    await Deno.mkdir(ARTIFACTS, { recursive: true });
    await using t = await startTestDaemon();
    await using tracker = new FixedTracker();
    const webm = await Deno.readFile(WEBM);
    await Deno.mkdir(join(t.root, "seed", "Clock film"), { recursive: true });
    await Deno.writeFile(join(t.root, "seed", "Clock film", "clock.webm"), webm);
    await makePayload(join(t.root, "seed", "Clock film"), [{ path: "notes.txt", size: 40_000 }]);
    const torrentPath = join(t.root, "clock.torrent");
    await libtorrentCreate(join(t.root, "seed", "Clock film"), torrentPath, {
      pieceLength: 16384,
      trackers: [tracker.url],
    });
    const meta = parseTorrent(await Deno.readFile(torrentPath));
    const hash = meta.infoHashHex;
    const files = meta.files.filter((f) => !f.padding).map((f) => f.path.join("/"));
    const webmIndex = files.indexOf("Clock film/clock.webm");
    const notesIndex = files.indexOf("Clock film/notes.txt");
    // Far slower than the clip's bitrate, so it plays while the file still downloads; a fast
    // seeder joins once that is seen.
    await using seeder = await startLibtorrent({
      torrent: torrentPath,
      dir: join(t.root, "seed"),
      seed: true,
      uploadLimit: 6 * 1024,
    });
    tracker.peers = [{ host: "127.0.0.1", port: seeder.port }];

    await using browser = await Browser.launch({ limitMs: 110_000 });
    const page = await browser.newPage();
    await page.setViewport(1440, 900);
    await page.navigate(`${t.daemon.url}/`);
    await page.waitFor(
      `document.getElementById("connection").dataset.state === "open"`,
      "live events",
    );
    ok(
      await page.evaluate<boolean>(`!document.getElementById("empty").hidden`),
      "empty list shown",
    );

    // The file picker.
    await page.setFileInput("#file-input", [torrentPath]);
    const row = `.torrent[data-hash="${hash}"]`;
    await page.waitFor(`document.querySelector('${row}')`, "the torrent in the list");

    // Keyboard: focus its name, Enter opens the detail view.
    await page.evaluate(`document.querySelector('${row} .t-name').focus()`);
    await press(page, "Enter", "Enter", 13, "\r");
    await page.waitFor(`document.getElementById("detail").open`, "the detail view");
    await page.waitFor(
      `document.querySelector('.file[data-index="${webmIndex}"] .play')`,
      "a Play button on the WebM",
    );
    await page.evaluate(`document.querySelector('.file[data-index="${webmIndex}"] .play').click()`);
    const played = await page.waitFor<number>(
      `(() => { const v = document.querySelector("#player-media video"); return v && v.currentTime >= 2 && v.currentTime; })()`,
      "two seconds of playback",
      60_000,
    );
    const fileNow = await page.evaluate<{ bytesDone: number; length: number }>(
      `fetch("/api/v1/torrents/${hash}/files").then((r) => r.json()).then((f) => f[${webmIndex}])`,
    );
    ok(
      fileNow.bytesDone < fileNow.length,
      `played ${played.toFixed(1)} s with ${fileNow.bytesDone} of ${fileNow.length} bytes here`,
    );
    const playing = await page.evaluate<{ paused: boolean; error: unknown }>(
      `(() => { const v = document.querySelector("#player-media video"); return { paused: v.paused, error: v.error && v.error.message }; })()`,
    );
    strictEqual(playing.error, null);
    await shoot(page, "daemon-1440-detail-playing.png", 1440);

    // The progress bar reaches 100% (a fast seeder dials the daemon to finish it).
    await page.evaluate(`document.getElementById("player-close").click()`);
    await using fast = await startLibtorrent({
      torrent: torrentPath,
      dir: join(t.root, "seed"),
      seed: true,
      peers: [{ host: "127.0.0.1", port: t.daemon.client.port! }],
    });
    ok(fast.port > 0);
    await page.waitFor(
      `document.querySelector('${row} .progress').getAttribute("aria-valuenow") === "100"`,
      "the progress bar at 100%",
      60_000,
    );

    // Keyboard: Space on the notes file's checkbox turns it off.
    const checkbox = `.file[data-index="${notesIndex}"] input.file-select`;
    await page.waitFor(`document.querySelector('${checkbox}').checked`, "notes selected");
    await page.evaluate(`document.querySelector('${checkbox}').focus()`);
    await press(page, " ", "Space", 32, " ");
    await page.waitFor(
      `document.querySelector('.file[data-index="${notesIndex}"]').classList.contains("skipped")`,
      "the file shown as skipped",
    );
    const after = await call(t.daemon.url, "GET", `/torrents/${hash}/files`);
    strictEqual(after.body[notesIndex].priority, "skip");
    strictEqual(after.body[webmIndex].priority, "normal");

    const shots = [await shoot(page, "daemon-1440-detail.png", 1440)];
    shots.push(await shoot(page, "daemon-360-detail.png", 360));
    // Escape closes the detail view and focus goes back to the torrent's name.
    await press(page, "Escape", "Escape", 27);
    await page.waitFor(`!document.getElementById("detail").open`, "the detail view closed");
    ok(
      await page.evaluate<boolean>(
        `document.activeElement === document.querySelector('${row} .t-name')`,
      ),
    );
    await page.waitFor(`document.getElementById("total-down").textContent !== ""`, "totals");

    // A pasted magnet link (of a torrent nobody has: it stays fetching its info).
    const magnetHash = "5a".repeat(20);
    await page.evaluate(`(() => {
      document.getElementById("magnet-input").value = "magnet:?xt=urn:btih:${magnetHash}&dn=Waiting";
      document.querySelector("#magnet-form button[type=submit]").click();
    })()`);
    const magnetRow = `.torrent[data-hash="${magnetHash}"]`;
    await page.waitFor(
      `document.querySelector('${magnetRow} .badge')?.textContent === "Fetching info"`,
      "the magnet in the list, fetching its info",
    );
    // A .torrent dropped on the page (its data is in the download folder already: it seeds).
    const dropped = await makeLocalTorrent(t.data, "Dropped album", [
      { path: "track 1.opus", size: 90_000 },
      { path: "cover.jpg", size: 20_000 },
    ]);
    const droppedHash = parseTorrent(dropped).infoHashHex;
    await page.evaluate(`(() => {
      const bytes = Uint8Array.from(atob("${
      btoa(String.fromCharCode(...dropped))
    }"), (c) => c.charCodeAt(0));
      const data = new DataTransfer();
      data.items.add(new File([bytes], "album.torrent", { type: "application/x-bittorrent" }));
      const target = document.querySelector("main");
      target.dispatchEvent(new DragEvent("dragenter", { dataTransfer: data, bubbles: true }));
      target.dispatchEvent(new DragEvent("dragover", { dataTransfer: data, bubbles: true, cancelable: true }));
      target.dispatchEvent(new DragEvent("drop", { dataTransfer: data, bubbles: true, cancelable: true }));
    })()`);
    await page.waitFor(
      `document.querySelector('.torrent[data-hash="${droppedHash}"] .badge')?.textContent === "Seeding"`,
      "the dropped torrent seeding",
    );
    shots.push(await shoot(page, "daemon-360.png", 360));
    shots.push(await shoot(page, "daemon-1440.png", 1440));

    // Remove, with a confirm: Cancel keeps it, Remove removes it.
    await page.evaluate(`document.querySelector('${magnetRow} .danger-outline').click()`);
    await page.waitFor(`document.getElementById("confirm-remove").open`, "the confirm dialog");
    shots.push(await shoot(page, "daemon-1440-confirm.png", 1440));
    await page.evaluate(`document.querySelector('#confirm-remove button[value=cancel]').click()`);
    await page.waitFor(`!document.getElementById("confirm-remove").open`, "cancelled");
    strictEqual((await call(t.daemon.url, "GET", "/torrents")).body.length, 3);
    await page.evaluate(`document.querySelector('${magnetRow} .danger-outline').click()`);
    await page.waitFor(`document.getElementById("confirm-remove").open`, "the confirm dialog");
    await page.evaluate(`document.querySelector('#confirm-remove button[value=remove]').click()`);
    await page.waitFor(`!document.querySelector('${magnetRow}')`, "the magnet removed");
    const left = await call(t.daemon.url, "GET", "/torrents");
    strictEqual(left.body.length, 2);
    strictEqual(left.body[0].infoHash, hash);
    strictEqual(left.body[1].infoHash, droppedHash);
    // Nothing overflows sideways at 360 px.
    await page.setViewport(360, 900);
    const overflow = await page.evaluate<number>(
      "document.documentElement.scrollWidth - document.documentElement.clientWidth",
    );
    strictEqual(overflow, 0, "no horizontal scrolling at 360 px");
    for (const path of shots) ok((await Deno.stat(path)).size > 10_000, path);
    const errors = page.console.filter((line) =>
      line.startsWith("exception") || line.startsWith("error")
    );
    strictEqual(errors.length, 0, errors.join("\n"));
  },
);

browserTest(
  "from a browser, a cross-site page cannot change anything and a rebinding host name gets 421",
  async () => {
    await using t = await startTestDaemon();
    const bytes = await makeLocalTorrent(t.data, "victim", [{ path: "v.bin", size: 40_000 }]);
    const hash = parseTorrent(bytes).infoHashHex;
    strictEqual((await call(t.daemon.url, "POST", "/torrents", { body: bytes })).status, 201);
    const target = `${t.daemon.url}/api/v1/torrents/${hash}`;
    // The attacker's page, on another origin: a form post and no-cors fetches.
    const evil = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      () =>
        new Response(
          `<!doctype html><body><form id="f" method="POST" action="${target}?deleteData=1">
        <input name="x" value="1"></form><script>
        Promise.allSettled([
          fetch("${target}/pause", { method: "POST", mode: "no-cors" }),
          fetch("${target}", { method: "DELETE" }),
          fetch("${t.daemon.url}/api/v1/torrents", { method: "POST", mode: "no-cors",
            headers: { "content-type": "text/plain" }, body: "magnet:?xt=urn:btih:${
            "e".repeat(40)
          }" }),
        ]).then(() => { document.title = "sent"; document.getElementById("f").submit(); });
        </script></body>`,
          { headers: { "content-type": "text/html" } },
        ),
    );
    try {
      await using browser = await Browser.launch({ limitMs: 60_000 });
      const page = await browser.newPage();
      const refusals = t.logs.length;
      const posted = page.waitForEvent(
        "Page.frameNavigated",
        (p) => String((p.frame as { url: string }).url).startsWith(t.daemon.url),
      );
      await page.navigate(`http://127.0.0.1:${evil.addr.port}/`);
      await within(posted, 20_000, "the form post");
      const list = await call(t.daemon.url, "GET", "/torrents");
      strictEqual(list.body.length, 1, "nothing added, nothing removed");
      strictEqual(list.body[0].state === "paused", false, "not paused");
      const refused = t.logs.slice(refusals).filter((l) => l.event === "refused");
      const seen = refused.map((l) => `${l.method} ${l.path}`);
      for (
        const expected of [
          `POST /api/v1/torrents/${hash}/pause`,
          "POST /api/v1/torrents",
          `POST /api/v1/torrents/${hash}`, // the form
          `OPTIONS /api/v1/torrents/${hash}`, // the DELETE's preflight; the DELETE never came
        ]
      ) ok(seen.includes(expected), `${expected} refused: ${seen.join("; ")}`);
      ok(!seen.includes(`DELETE /api/v1/torrents/${hash}`));
      await Deno.stat(join(t.data, "victim", "v.bin"));
    } finally {
      await evil.shutdown();
    }
    // DNS rebinding: a name that resolves to 127.0.0.1 still is not the daemon's address.
    await using rebinder = await Browser.launch({
      limitMs: 60_000,
      args: ["--host-resolver-rules=MAP rebind.test 127.0.0.1"],
    });
    const page = await rebinder.newPage();
    await page.send("Network.enable");
    const url = `http://rebind.test:${t.daemon.address.port}/api/v1/torrents`;
    const answered = page.waitForEvent(
      "Network.responseReceived",
      (p) => (p.response as { url: string }).url === url,
    );
    await page.send("Page.navigate", { url });
    const { response } = await within(answered, 20_000, "the rebinding answer");
    strictEqual((response as { status: number }).status, 421);
    ok(
      t.logs.some((l) =>
        l.event === "refused" && l.status === 421 && l.path === "/api/v1/torrents"
      ),
    );
  },
);
