// The HTTP API of an in-process daemon, on loopback, with torrents whose data is already in
// the download root (so they check and seed without any peer): adding, the 4xx answers that
// change nothing, settings kept in the state folder, removal, the event stream, the page.
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { join } from "node:path";
import { parseTorrent } from "../../src/metainfo/parse_torrent.ts";
import { within } from "../test_util.ts";
import { call } from "./api_client.ts";
import { EventReader, makeLocalTorrent, startTestDaemon } from "./daemon_fixture.ts";

const FILES = [
  { path: "a.bin", size: 100_000 },
  { path: "sub/b.bin", size: 50_001 },
  { path: "c.webm", size: 70_000 },
];

async function stateList(state: string): Promise<{ torrents: Record<string, unknown>[] }> {
  return JSON.parse(await Deno.readTextFile(join(state, "torrents.json")));
}

Deno.test("POST a .torrent answers 201 with the torrent, then 200 for the same one; it checks the data already there and seeds", async () => {
  await using t = await startTestDaemon();
  const base = t.daemon.url;
  const bytes = await makeLocalTorrent(t.data, "pack", FILES);
  const hash = parseTorrent(bytes).infoHashHex;
  await using events = await EventReader.open(base);
  await events.next((e) => e.event === "torrents");
  const first = await call(base, "POST", "/torrents", { body: bytes });
  strictEqual(first.status, 201);
  strictEqual(first.body.infoHash, hash);
  strictEqual(first.body.name, "pack");
  strictEqual(first.body.size, 220_001);
  strictEqual(first.headers.get("location"), `/api/v1/torrents/${hash}`);
  const again = await call(base, "POST", "/torrents", { body: bytes });
  strictEqual(again.status, 200);
  strictEqual(again.body.infoHash, hash);
  const added = await within(events.next((e) => e.event === "added"), 5_000, "added event");
  strictEqual(added.data.torrent.infoHash, hash);
  await within(
    events.next((e) => e.event === "state" && e.data.state === "seeding"),
    20_000,
    "seeding",
  );
  const list = await call(base, "GET", "/torrents");
  strictEqual(list.status, 200);
  strictEqual(list.body.length, 1);
  const [summary] = list.body;
  for (
    const key of [
      "infoHash",
      "name",
      "state",
      "progress",
      "downloadRate",
      "uploadRate",
      "peers",
      "etaSeconds",
      "ratio",
      "size",
      "selectedSize",
      "error",
    ]
  ) ok(key in summary, `summary has ${key}`);
  strictEqual(summary.progress, 1);
  strictEqual(summary.error, null);
  const detail = await call(base, "GET", `/torrents/${hash.toUpperCase()}`);
  strictEqual(detail.status, 200);
  deepStrictEqual(detail.body.files.map((f: { path: string }) => f.path), [
    "pack/a.bin",
    "pack/c.webm",
    "pack/sub/b.bin",
  ]);
  deepStrictEqual(
    Object.keys(detail.body.files[0]).sort(),
    ["bytesDone", "index", "length", "mediaType", "path", "priority"],
  );
  strictEqual(detail.body.files[1].mediaType, "video/webm");
  strictEqual(detail.body.pieces.have, detail.body.pieces.count);
  deepStrictEqual(detail.body.trackers, []);
  deepStrictEqual(detail.body.peerList, []);
  const stored = await Deno.readFile(join(t.state, "torrents", `${hash}.torrent`));
  deepStrictEqual(stored, bytes, "the .torrent bytes are kept in the state folder");
});

Deno.test("bad requests get a 4xx with an { error } body and change nothing", async () => {
  await using t = await startTestDaemon();
  const base = t.daemon.url;
  const bytes = await makeLocalTorrent(t.data, "pack", FILES);
  const hash = parseTorrent(bytes).infoHashHex;
  strictEqual((await call(base, "POST", "/torrents", { body: bytes })).status, 201);
  const before = await Deno.readTextFile(join(t.state, "torrents.json"));
  await Deno.symlink("/tmp", join(t.data, "escape"));
  const cases: [string, Promise<Awaited<ReturnType<typeof call>>>, number][] = [
    [
      "bad JSON",
      call(base, "POST", "/torrents", {
        body: new TextEncoder().encode("{bad"),
        type: "application/json",
      }),
      400,
    ],
    ["JSON not an object", call(base, "POST", "/torrents", { json: [1] }), 400],
    ["unknown field", call(base, "POST", "/torrents", { json: { magnet: "x", pause: true } }), 400],
    ["neither magnet nor torrent", call(base, "POST", "/torrents", { json: { dir: "x" } }), 400],
    ["bad magnet", call(base, "POST", "/torrents", { json: { magnet: "magnet:?dn=nohash" } }), 400],
    [
      "torrent that fails to parse",
      call(base, "POST", "/torrents", { body: new TextEncoder().encode("d4:infoi3ee") }),
      400,
    ],
    ["bad base64 torrent", call(base, "POST", "/torrents", { json: { torrent: "@@@" } }), 400],
    [
      "body over the cap",
      call(base, "POST", "/torrents", { body: new Uint8Array(16 * 1024 * 1024 + 1) }),
      413,
    ],
    [
      "unknown content type",
      call(base, "POST", "/torrents", { body: bytes, type: "text/plain" }),
      415,
    ],
    [
      "dir leaving the root",
      call(base, "POST", "/torrents", {
        json: { torrent: btoa(String.fromCharCode(...bytes)), dir: "../out" },
      }),
      403,
    ],
    [
      "absolute dir elsewhere",
      call(base, "POST", "/torrents", {
        json: { torrent: btoa(String.fromCharCode(...bytes)), dir: "/etc" },
      }),
      403,
    ],
    [
      "dir through a symlink out",
      call(base, "POST", "/torrents", {
        json: { torrent: btoa(String.fromCharCode(...bytes)), dir: "escape/x" },
      }),
      403,
    ],
    [
      "file index out of range",
      call(base, "POST", "/torrents", {
        json: { torrent: btoa(String.fromCharCode(...bytes)), files: [7] },
      }),
      400,
    ],
    [
      "bad paused",
      call(base, "POST", "/torrents", {
        json: { torrent: btoa(String.fromCharCode(...bytes)), paused: "yes" },
      }),
      400,
    ],
    ["unknown info hash", call(base, "GET", `/torrents/${"0".repeat(40)}`), 404],
    ["malformed info hash", call(base, "GET", "/torrents/xyz"), 404],
    ["pause unknown", call(base, "POST", `/torrents/${"1".repeat(40)}/pause`), 404],
    ["delete unknown", call(base, "DELETE", `/torrents/${"2".repeat(40)}`), 404],
    [
      "bad priority",
      call(base, "PATCH", `/torrents/${hash}/files`, {
        json: { priorities: { "0": "skip", "1": "urgent" } },
      }),
      400,
    ],
    [
      "priority index out of range",
      call(base, "PATCH", `/torrents/${hash}/files`, {
        json: { priorities: { "0": "skip", "9": "high" } },
      }),
      400,
    ],
    [
      "priority index not a number",
      call(base, "PATCH", `/torrents/${hash}/files`, { json: { priorities: { "-1": "skip" } } }),
      400,
    ],
    [
      "priorities not an object",
      call(base, "PATCH", `/torrents/${hash}/files`, { json: { priorities: ["skip"] } }),
      400,
    ],
    [
      "patch without JSON",
      call(base, "PATCH", `/torrents/${hash}/files`, {
        body: new Uint8Array(2),
        type: "text/plain",
      }),
      415,
    ],
    ["wrong method", call(base, "PUT", "/torrents"), 405],
    ["unknown route", call(base, "GET", "/nothing"), 404],
    ["stream of no such file", call(base, "GET", `/torrents/${hash}/files/9/stream`), 404],
  ];
  for (const [what, answer, status] of cases) {
    const { status: got, body } = await answer;
    strictEqual(got, status, `${what}: ${JSON.stringify(body)}`);
    strictEqual(typeof body?.error, "string", `${what} has an error message`);
  }
  const list = await call(base, "GET", "/torrents");
  strictEqual(list.body.length, 1);
  const files = await call(base, "GET", `/torrents/${hash}/files`);
  deepStrictEqual(files.body.map((f: { priority: string }) => f.priority), [
    "normal",
    "normal",
    "normal",
  ], "a PATCH with one bad entry applies none");
  strictEqual(await Deno.readTextFile(join(t.state, "torrents.json")), before);
  strictEqual((await Array.fromAsync(Deno.readDir(join(t.state, "torrents")))).length, 1);
});

Deno.test("a magnet link is added (201) and kept as a magnet until its info arrives, across a restart", async () => {
  await using t = await startTestDaemon();
  const hash = "ab".repeat(20);
  const magnet = `magnet:?xt=urn:btih:${hash}&dn=later`;
  const answer = await call(t.daemon.url, "POST", "/torrents", {
    json: { magnet, files: [0], sequential: true },
  });
  strictEqual(answer.status, 201, JSON.stringify(answer.body));
  strictEqual(answer.body.infoHash, hash);
  strictEqual(answer.body.name, "later");
  strictEqual(answer.body.hasMetadata, false);
  strictEqual(answer.body.state, "fetching-metadata");
  strictEqual((await call(t.daemon.url, "POST", "/torrents", { json: { magnet } })).status, 200);
  const detail = await call(t.daemon.url, "GET", `/torrents/${hash}`);
  deepStrictEqual(detail.body.files, []);
  strictEqual(detail.body.pieces.count, 0);
  let record = (await stateList(t.state)).torrents[0];
  strictEqual(record.source, "magnet");
  strictEqual(record.magnet, magnet);
  deepStrictEqual(record.files, [0]);
  strictEqual((await Array.fromAsync(Deno.readDir(join(t.state, "torrents")))).length, 0);
  await t.daemon.close();
  const daemon = await t.restart();
  const back = await call(daemon.url, "GET", `/torrents/${hash}`);
  strictEqual(back.body.state, "fetching-metadata");
  strictEqual(back.body.sequential, true);
  record = (await stateList(t.state)).torrents[0];
  strictEqual(record.source, "magnet");
  strictEqual((await call(daemon.url, "DELETE", `/torrents/${hash}?deleteData=1`)).status, 200);
  deepStrictEqual((await stateList(t.state)).torrents, []);
});

Deno.test("pause, resume, priorities and sequential are kept in the state folder and come back after a restart without hashing", async () => {
  await using t = await startTestDaemon();
  const base = t.daemon.url;
  const bytes = await makeLocalTorrent(t.data, "pack", FILES);
  const hash = parseTorrent(bytes).infoHashHex;
  await using events = await EventReader.open(base);
  strictEqual((await call(base, "POST", "/torrents", { body: bytes })).status, 201);
  await within(
    events.next((e) => e.event === "state" && e.data.state === "seeding"),
    20_000,
    "seeding",
  );
  const paused = await call(base, "POST", `/torrents/${hash}/pause`);
  strictEqual(paused.status, 200);
  strictEqual(paused.body.state, "paused");
  let record = (await stateList(t.state)).torrents[0];
  strictEqual(record.paused, true);
  const patched = await call(base, "PATCH", `/torrents/${hash}/files`, {
    json: { priorities: { "0": "skip", "2": "high" } },
  });
  strictEqual(patched.status, 200);
  deepStrictEqual(patched.body.map((f: { priority: string }) => f.priority), [
    "skip",
    "normal",
    "high",
  ]);
  const sequential = await call(base, "PATCH", `/torrents/${hash}`, { json: { sequential: true } });
  strictEqual(sequential.body.sequential, true);
  record = (await stateList(t.state)).torrents[0];
  deepStrictEqual(record.priorities, ["skip", "normal", "high"]);
  strictEqual(record.sequential, true);
  await events[Symbol.asyncDispose]();
  await t.daemon.close();
  ok(t.logs.some((l) => l.event === "checking"), "the first run hashed the data it found");
  const logsBefore = t.logs.length;

  const daemon = await t.restart();
  const detail = await call(daemon.url, "GET", `/torrents/${hash}`);
  strictEqual(detail.status, 200);
  deepStrictEqual(detail.body.files.map((f: { priority: string }) => f.priority), [
    "skip",
    "normal",
    "high",
  ]);
  strictEqual(detail.body.sequential, true);
  await using again = await EventReader.open(daemon.url);
  const ready = await within(
    again.next((e) => e.event === "state" && e.data.state === "paused"),
    20_000,
    "paused after the restart",
  );
  strictEqual(ready.data.infoHash, hash);
  deepStrictEqual(
    t.logs.slice(logsBefore).filter((l) => l.event === "checking"),
    [],
    "a clean restart hashes nothing",
  );
  const resumed = await call(daemon.url, "POST", `/torrents/${hash}/resume`);
  strictEqual(resumed.body.state, "seeding");
  strictEqual((await stateList(t.state)).torrents[0].paused, false);
  ok(t.logs.some((l) => l.event === "restored" && l.count === 1));
});

Deno.test("DELETE removes a torrent from the list and the state folder; deleteData=1 deletes its files too", async () => {
  await using t = await startTestDaemon();
  const base = t.daemon.url;
  const keep = await makeLocalTorrent(t.data, "keep", [{ path: "k.bin", size: 40_000 }]);
  const gone = await makeLocalTorrent(t.data, "gone", [{ path: "g.bin", size: 40_000 }], {
    seed: 2,
  });
  const keepHash = parseTorrent(keep).infoHashHex;
  const goneHash = parseTorrent(gone).infoHashHex;
  await using events = await EventReader.open(base);
  strictEqual((await call(base, "POST", "/torrents", { body: keep })).status, 201);
  strictEqual((await call(base, "POST", "/torrents", { body: gone })).status, 201);
  const a = await call(base, "DELETE", `/torrents/${keepHash}`);
  deepStrictEqual(a.body, { removed: keepHash, deletedData: false });
  const b = await call(base, "DELETE", `/torrents/${goneHash}?deleteData=1`);
  deepStrictEqual(b.body, { removed: goneHash, deletedData: true });
  await within(
    events.next((e) => e.event === "removed" && e.data.infoHash === goneHash),
    5_000,
    "removed event",
  );
  strictEqual((await call(base, "GET", "/torrents")).body.length, 0);
  deepStrictEqual((await stateList(t.state)).torrents, []);
  strictEqual((await Array.fromAsync(Deno.readDir(join(t.state, "torrents")))).length, 0);
  await Deno.stat(join(t.data, "keep", "k.bin"));
  let deleted = false;
  await Deno.stat(join(t.data, "gone", "g.bin")).catch(() => (deleted = true));
  ok(deleted, "deleteData removed the files");
});

Deno.test("the event stream starts with the rate history, every torrent and the totals, then sends progress at most twice a second per torrent", async () => {
  await using t = await startTestDaemon();
  const base = t.daemon.url;
  const bytes = await makeLocalTorrent(t.data, "pack", FILES);
  strictEqual((await call(base, "POST", "/torrents", { body: bytes })).status, 201);
  await using events = await EventReader.open(base);
  const history = await within(events.next(() => true), 5_000, "first event");
  strictEqual(history.event, "history");
  ok(Array.isArray(history.data));
  const snapshot = await within(events.next(() => true), 5_000, "second event");
  strictEqual(snapshot.event, "torrents");
  strictEqual(snapshot.data.length, 1);
  const stats = await within(events.next((e) => e.event === "stats"), 5_000, "stats");
  strictEqual(stats.data.torrents, 1);
  ok(stats.data.memory.limit > 0);
  strictEqual(stats.data.dhtNodes, null);
  // Four progress events take at least 1.5 s at no more than two a second.
  const first = await within(events.next((e) => e.event === "progress"), 10_000, "progress");
  const started = performance.now();
  for (let i = 0; i < 3; i++) {
    await within(events.next((e) => e.event === "progress"), 10_000, "progress");
  }
  ok(performance.now() - started >= 1400, `${performance.now() - started} ms for 3 more`);
  strictEqual(first.data.torrent.name, "pack");
});

Deno.test("the page and its files are served with a strict CSP; nothing else from disk", async () => {
  await using t = await startTestDaemon();
  const page = await fetch(`${t.daemon.url}/`);
  strictEqual(page.status, 200);
  ok((await page.text()).includes('<script type="module" src="app.js">'));
  ok(page.headers.get("content-security-policy")?.includes("script-src 'self'"));
  strictEqual(page.headers.get("x-frame-options"), "DENY");
  for (const name of ["app.js", "api.js", "style.css", "detail.js", "icon.svg"]) {
    const asset = await fetch(`${t.daemon.url}/${name}`);
    strictEqual(asset.status, 200, name);
    await asset.body?.cancel();
  }
  for (const path of ["/../deno.json", "/%2e%2e/deno.json", "/web/app.js", "/daemon.ts"]) {
    const miss = await fetch(`${t.daemon.url}${path}`);
    strictEqual(miss.status, 404, path);
    await miss.body?.cancel();
  }
});
