// cli/daemon_command.ts in process: flags, exit codes, log lines, and a clean stop on abort.
import { ok, strictEqual } from "node:assert/strict";
import { join } from "node:path";
import { DAEMON_USAGE, runDaemon } from "../../cli/daemon_command.ts";
import { within } from "../test_util.ts";

async function run(args: string[], signal = AbortSignal.abort()) {
  const lines: string[] = [];
  const code = await runDaemon(args, { signal, stderr: (line) => lines.push(line) });
  return { code, lines };
}

Deno.test("runDaemon() prints its usage for --help and exits 2 on bad flags, naming the problem", async () => {
  const help = await run(["--help"]);
  strictEqual(help.code, 0);
  strictEqual(help.lines.at(-1), DAEMON_USAGE);
  for (
    const [args, words] of [
      [["--nope"], "nope"],
      [["--http", "here"], "HTTP address"],
      [["--http", "127.0.0.1:70000"], "HTTP address"],
      [["--auth", "nocolon"], "USER:PASS"],
      [["--port", "x"], "--port"],
      [["--max-peers", "0"], "--max-peers"],
      [["--token-file", "/nonexistent/token"], "--token-file"],
      [["--http", "0.0.0.0:0"], "needs --auth"],
    ] as const
  ) {
    const { code, lines } = await run([...args, "--state-dir", "/nonexistent/state"]);
    strictEqual(code, 2, args.join(" "));
    ok(lines.some((l) => l.includes(words)), `${args.join(" ")}: ${lines.join("\n")}`);
  }
});

Deno.test("runDaemon() runs until its signal aborts, then stops cleanly and exits 0; --json gives JSON lines", async () => {
  const root = await Deno.makeTempDir({ prefix: "shoal-daemon-cli-" });
  try {
    const controller = new AbortController();
    const lines: string[] = [];
    const listening = Promise.withResolvers<string>();
    const running = runDaemon(
      [
        "--json",
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
        "--max-up",
        "1m",
        "--no-dht",
      ],
      {
        signal: controller.signal,
        stderr: (line) => {
          lines.push(line);
          const entry = JSON.parse(line);
          if (entry.event === "listening") listening.resolve(entry.url);
        },
      },
    );
    const url = await within(listening.promise, 20_000, "listening");
    const stats = await (await fetch(`${url}/api/v1/stats`)).json();
    strictEqual(stats.torrents, 0);
    controller.abort();
    strictEqual(await running, 0);
    const events = lines.map((l) => JSON.parse(l).event);
    ok(events.includes("stopping") && events.at(-1) === "stopped", events.join(","));
    for (const line of lines) ok(typeof JSON.parse(line).time === "string");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("runDaemon() exits 1 with one line when its HTTP port is taken", async () => {
  const root = await Deno.makeTempDir({ prefix: "shoal-daemon-cli-" });
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const { code, lines } = await run([
      "--http",
      `127.0.0.1:${(taken.addr as Deno.NetAddr).port}`,
      "-o",
      join(root, "data"),
      "--state-dir",
      join(root, "state"),
      "--port",
      "0",
      "--listen-host",
      "127.0.0.1",
      "--no-dht",
    ], new AbortController().signal);
    strictEqual(code, 1);
    strictEqual(lines.length, 1, lines.join("\n"));
    ok(lines[0].includes("Cannot listen on 127.0.0.1:"), lines[0]);
  } finally {
    taken.close();
    await Deno.remove(root, { recursive: true });
  }
});
