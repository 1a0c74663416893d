// The classic holes of torrent daemons, tried with curl against real daemons on loopback: a
// foreign Host (DNS rebinding, CVE-2018-5702), cross-site posts without a token, a non-loopback
// bind without credentials, credentials themselves, and a torrent's HTML file served as such.
import { ok, rejects, strictEqual } from "node:assert/strict";
import { join } from "node:path";
import { DaemonError } from "../../src/daemon/daemon_error.ts";
import { Daemon } from "../../src/daemon/daemon.ts";
import { parseTorrent } from "../../src/metainfo/parse_torrent.ts";
import { within } from "../test_util.ts";
import { curl, hasCurl } from "./curl.ts";
import { isCi } from "./cdp_browser.ts";
import { makeLocalTorrent, startTestDaemon } from "./daemon_fixture.ts";
import { DaemonProcess } from "./daemon_process.ts";

function curlTest(name: string, fn: () => Promise<void>): void {
  if (!hasCurl() && !isCi()) {
    Deno.test({ name: `${name} (SKIPPED: missing curl)`, ignore: true, fn: () => {} });
    return;
  }
  Deno.test(name, async () => {
    if (!hasCurl()) throw new Error("CI is set but curl is not installed");
    await fn();
  });
}

curlTest(
  "a request whose Host is not the bound address or localhost is refused with 421 (DNS rebinding)",
  async () => {
    await using t = await startTestDaemon();
    const url = t.daemon.url;
    const port = t.daemon.address.port;
    for (const path of ["/api/v1/torrents", "/api/v1/events", "/"]) {
      const refused = await curl(`${url}${path}`, ["-H", `Host: evil.example:${port}`]);
      strictEqual(refused.status, 421, path);
      strictEqual(refused.headers.get("x-shoal-csrf"), null, "a refused answer tells no token");
      ok(JSON.parse(refused.text()).error.includes("evil.example"));
    }
    strictEqual(
      (await curl(`${url}/api/v1/torrents`, ["-H", `Host: localhost:${port}`])).status,
      200,
    );
    strictEqual((await curl(`${url}/api/v1/torrents`)).status, 200);
    ok(t.logs.some((l) => l.event === "refused" && l.status === 421));
  },
);

curlTest(
  "a cross-site POST, DELETE or PATCH without the CSRF token is refused and changes nothing",
  async () => {
    await using t = await startTestDaemon();
    const url = t.daemon.url;
    const bytes = await makeLocalTorrent(t.data, "pack", [{ path: "a.bin", size: 40_000 }]);
    const hash = parseTorrent(bytes).infoHashHex;
    const file = join(t.root, "pack.torrent");
    await Deno.writeFile(file, bytes);
    // The way a page on another site would post a form (no token, its own Origin)...
    const form = await curl(`${url}/api/v1/torrents`, [
      "-X",
      "POST",
      "-H",
      "Origin: http://evil.example",
      "-H",
      "Content-Type: application/x-www-form-urlencoded",
      "--data",
      `magnet=magnet:?xt=urn:btih:${hash}`,
    ]);
    strictEqual(form.status, 403);
    // ...or send the bytes as a "simple" request, or omit Origin altogether.
    for (const extra of [["-H", "Origin: http://evil.example"], ["-H", "Origin: null"], []]) {
      const post = await curl(`${url}/api/v1/torrents`, [
        "-X",
        "POST",
        ...extra,
        "-H",
        "Content-Type: application/x-bittorrent",
        "--data-binary",
        `@${file}`,
      ]);
      strictEqual(post.status, 403, extra.join(" "));
    }
    strictEqual(
      JSON.parse((await curl(`${url}/api/v1/torrents`)).text()).length,
      0,
      "nothing added",
    );
    // With the token from any answer, the same request goes through.
    const token = (await curl(`${url}/api/v1/stats`)).headers.get("x-shoal-csrf")!;
    ok(token.length >= 32);
    const added = await curl(`${url}/api/v1/torrents`, [
      "-H",
      `X-Shoal-Csrf: ${token}`,
      "-H",
      "Content-Type: application/x-bittorrent",
      "--data-binary",
      `@${file}`,
    ]);
    strictEqual(added.status, 201);
    const remove = await curl(`${url}/api/v1/torrents/${hash}?deleteData=1`, [
      "-X",
      "DELETE",
      "-H",
      "Origin: http://evil.example",
      "-H",
      `X-Shoal-Csrf: ${token}`,
    ]);
    strictEqual(remove.status, 403, "a foreign Origin loses even with the token");
    const patch = await curl(`${url}/api/v1/torrents/${hash}/files`, [
      "-X",
      "PATCH",
      "-H",
      "Content-Type: application/json",
      "--data",
      '{"priorities":{"0":"skip"}}',
    ]);
    strictEqual(patch.status, 403);
    const detail = JSON.parse((await curl(`${url}/api/v1/torrents/${hash}`)).text());
    strictEqual(detail.files[0].priority, "normal");
    await Deno.stat(join(t.data, "pack", "a.bin"));
  },
);

curlTest(
  "binding anything but loopback without --auth or --token-file is refused at start",
  async () => {
    const root = await Deno.makeTempDir({ prefix: "shoal-daemon-" });
    try {
      await rejects(
        Daemon.start({
          dir: join(root, "data"),
          stateDir: join(root, "state"),
          http: { hostname: "0.0.0.0", port: 0 },
          client: { listen: false, dht: false },
        }),
        (error: unknown) => error instanceof DaemonError && /needs --auth/.test(error.message),
      );
      const output = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          "--config",
          new URL("../../deno.json", import.meta.url).pathname,
          new URL("../../cli/daemon_command.ts", import.meta.url).pathname,
          "--http",
          "0.0.0.0:0",
          "-o",
          join(root, "data"),
          "--state-dir",
          join(root, "state"),
          "--port",
          "0",
          "--listen-host",
          "127.0.0.1",
        ],
        stdout: "null",
        stderr: "piped",
      }).output();
      strictEqual(output.code, 2);
      const stderr = new TextDecoder().decode(output.stderr);
      ok(stderr.includes("needs --auth USER:PASS or --token-file"), stderr);
      ok(!stderr.includes("listening"), "it never listened");
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
);

curlTest("with --auth every request needs the credentials (checked after the Host)", async () => {
  const root = await Deno.makeTempDir({ prefix: "shoal-daemon-" });
  try {
    await using daemon = await DaemonProcess.start([
      "--http",
      "127.0.0.1:0",
      "-o",
      join(root, "data"),
      "--state-dir",
      join(root, "state"),
      "--port",
      "0",
      "--listen-host",
      "127.0.0.1",
      "--auth",
      "ann:s3cret pass",
    ]);
    const url = daemon.url;
    const none = await curl(`${url}/api/v1/torrents`);
    strictEqual(none.status, 401);
    ok(none.headers.get("www-authenticate")?.startsWith("Basic"));
    strictEqual((await curl(`${url}/`)).status, 401, "the page too");
    strictEqual((await curl(`${url}/api/v1/torrents`, ["-u", "ann:wrong"])).status, 401);
    strictEqual((await curl(`${url}/api/v1/torrents`, ["-u", "ann:s3cret pass"])).status, 200);
    strictEqual((await curl(`${url}/`, ["-u", "ann:s3cret pass"])).status, 200);
    const rebinding = await curl(`${url}/api/v1/torrents`, [
      "-u",
      "ann:s3cret pass",
      "-H",
      "Host: evil.example",
    ]);
    strictEqual(rebinding.status, 421);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

curlTest(
  "with --token-file the token works as Bearer or as the Basic password; a short token refuses to start",
  async () => {
    const root = await Deno.makeTempDir({ prefix: "shoal-daemon-" });
    try {
      const tokenFile = join(root, "token");
      const token = "tok-" + crypto.randomUUID();
      await Deno.writeTextFile(tokenFile, `${token}\n`);
      await using daemon = await DaemonProcess.start([
        "--http",
        "127.0.0.1:0",
        "-o",
        join(root, "data"),
        "--state-dir",
        join(root, "state"),
        "--port",
        "0",
        "--listen-host",
        "127.0.0.1",
        "--token-file",
        tokenFile,
      ]);
      const url = daemon.url;
      strictEqual((await curl(`${url}/api/v1/stats`)).status, 401);
      strictEqual(
        (await curl(`${url}/api/v1/stats`, ["-H", "Authorization: Bearer nope"])).status,
        401,
      );
      strictEqual(
        (await curl(`${url}/api/v1/stats`, ["-H", `Authorization: Bearer ${token}`])).status,
        200,
      );
      strictEqual((await curl(`${url}/api/v1/stats`, ["-u", `me:${token}`])).status, 200);
      await Deno.writeTextFile(join(root, "short"), "abc");
      const short = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          new URL("../../cli/daemon_command.ts", import.meta.url).pathname,
          "--token-file",
          join(root, "short"),
          "--state-dir",
          join(root, "state2"),
        ],
        stdout: "null",
        stderr: "piped",
      }).output();
      strictEqual(short.code, 2);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
);

curlTest(
  "a torrent's HTML or SVG file is streamed as octet-stream in a sandbox, never run on the daemon's origin",
  async () => {
    await using t = await startTestDaemon();
    const bytes = await makeLocalTorrent(t.data, "site", [
      { path: "index.html", size: 2_000 },
      { path: "logo.svg", size: 1_000 },
    ]);
    const hash = parseTorrent(bytes).infoHashHex;
    const token = t.daemon.csrfToken;
    const file = join(t.root, "site.torrent");
    await Deno.writeFile(file, bytes);
    const added = await curl(`${t.daemon.url}/api/v1/torrents`, [
      "-H",
      `X-Shoal-Csrf: ${token}`,
      "-H",
      "Content-Type: application/x-bittorrent",
      "--data-binary",
      `@${file}`,
    ]);
    strictEqual(added.status, 201);
    await within(
      t.waitForLog((l) => l.event === "state" && l.state === "seeding"),
      20_000,
      "seeding",
    );
    for (const index of [0, 1]) {
      const answer = await curl(`${t.daemon.url}/api/v1/torrents/${hash}/files/${index}/stream`);
      strictEqual(answer.status, 200);
      strictEqual(answer.headers.get("content-type"), "application/octet-stream");
      ok(answer.headers.get("content-security-policy")?.startsWith("sandbox"));
      strictEqual(answer.headers.get("x-content-type-options"), "nosniff");
    }
  },
);
