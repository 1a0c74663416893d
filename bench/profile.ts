// CPU budget per GiB by stage, from `perf record` call stacks of every thread (kernel included),
// for shoal downloading from a libtorrent seeder and shoal seeding to a libtorrent downloader;
// libtorrent's own download is profiled the same way for comparison.
//
// Run: deno task bench:profile [--size-mib 1024] [--only download|upload] [--dir D]
//      [--cli OTHER/cli.ts] [--freq 999] [--rounds 1]
// `--cli` profiles another checkout (e.g. /work/main/cli.ts, for a before/after table);
// `--keep DIR` keeps each run's `perf script` text there (N.perf.txt, in run order).
// Needs perf (linux-perf) and root (or perf_event_paranoid <= 1), and python3-libtorrent.

import { parseArgs } from "node:util";
import {
  CLI,
  LT_PEER,
  preparePayload,
  PYTHON,
  SHOAL_V8_FLAGS,
  shoalArgs,
  startLibtorrentSeeder,
  startShoalSeeder,
  sync,
} from "./bench_util.ts";
import { countStages, formatBudget, parsePerfScript, type StageCounts } from "./cpu_budget.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    "size-mib": { type: "string", default: "1024" },
    only: { type: "string" },
    dir: { type: "string" },
    cli: { type: "string", multiple: true },
    freq: { type: "string", default: "999" },
    rounds: { type: "string", default: "1" },
    keep: { type: "string" },
  },
});
const SIZE = Number(values["size-mib"]) * 1024 * 1024;
const FREQ = Number(values.freq);
const ROUNDS = Number(values.rounds);
const CLIS = values.cli?.length ? values.cli : [CLI];
let kept = 0;
if (values.keep) await Deno.mkdir(values.keep, { recursive: true });
const PROFILE_FLAGS = [`${SHOAL_V8_FLAGS[0]},--perf-basic-prof`];

interface Column {
  label: string;
  counts: StageCounts;
  cpuSeconds: number;
  bytes: number;
}

/** Profiles `cmd` (started by perf) or process `pid` (attached until `until` settles). */
async function perfRecord(
  out: string,
  target: { cmd: string[] } | { pid: number; until: Promise<unknown> },
): Promise<StageCounts & { samples: number }> {
  const base = ["record", "-F", `${FREQ}`, "-g", "-q", "-o", out];
  if ("cmd" in target) {
    const status = await new Deno.Command("timeout", {
      args: ["600", "perf", ...base, "--", ...target.cmd],
      cwd: work, // V8's perf flags write isolate logs into the working folder
      stdout: "null",
      stderr: "inherit",
    }).output();
    if (!status.success) throw new Error(`${target.cmd.join(" ")} failed under perf`);
  } else {
    const perf = new Deno.Command("timeout", {
      args: ["600", "perf", ...base, "-p", `${target.pid}`],
      stdout: "null",
      stderr: "inherit",
    }).spawn();
    try {
      await target.until;
    } finally {
      perf.kill("SIGINT");
      await perf.status;
    }
  }
  const script = await new Deno.Command("perf", {
    args: ["script", "-i", out, "-F", "comm,ip,sym,dso"],
    stdout: "piped",
    stderr: "null",
  }).output();
  const text = new TextDecoder().decode(script.stdout);
  if (values.keep) await Deno.writeTextFile(`${values.keep}/${++kept}.perf.txt`, text);
  const samples = parsePerfScript(text);
  await Deno.remove(out).catch(() => {});
  return { ...countStages(samples), samples: samples.length };
}

function add(into: Column | undefined, label: string, counts: StageCounts & { samples: number }) {
  const column = into ?? { label, counts: { ...counts }, cpuSeconds: 0, bytes: 0 };
  if (into) {
    for (const key of Object.keys(counts) as (keyof StageCounts)[]) {
      if (key in column.counts) column.counts[key] += counts[key];
    }
  }
  column.cpuSeconds += counts.samples / FREQ;
  column.bytes += SIZE;
  return column;
}

async function removePerfMaps(): Promise<void> {
  for await (const entry of Deno.readDir("/tmp")) {
    if (/^perf-\d+\.map$/.test(entry.name)) await Deno.remove(`/tmp/${entry.name}`).catch(() => {});
  }
}

const work = values.dir ?? await Deno.makeTempDir({ prefix: "shoal-profile-" });
const label = (cli: string) =>
  CLIS.length === 1 ? "shoal" : cli.replace(/\/cli\.ts$/, "").split("/").at(-1)!.slice(0, 11);
try {
  const { seedDir, torrent } = await preparePayload(work, SIZE);
  const getDir = `${work}/get`;
  const clean = () => Deno.remove(getDir, { recursive: true }).catch(() => {});
  console.log(`payload: ${SIZE / 1024 / 1024} MiB in ${work}; sampling at ${FREQ} Hz`);

  if (values.only !== "upload") {
    const columns: (Column | undefined)[] = [];
    let lt: Column | undefined;
    const seeder = await startLibtorrentSeeder(torrent, seedDir);
    try {
      for (let round = 0; round < ROUNDS; round++) {
        for (const [i, cli] of CLIS.entries()) {
          await clean();
          await sync();
          const counts = await perfRecord(`${work}/perf.data`, {
            cmd: [
              Deno.execPath(),
              ...shoalArgs(cli, PROFILE_FLAGS),
              "download",
              torrent,
              "-o",
              getDir,
              "--peer",
              `127.0.0.1:${seeder.port}`,
              "--no-trackers",
              "--no-dht",
              "--quiet",
              "--port",
              "0",
            ],
          });
          columns[i] = add(columns[i], label(cli), counts);
        }
        await clean();
        await sync();
        const counts = await perfRecord(`${work}/perf.data`, {
          cmd: [
            PYTHON,
            LT_PEER,
            "fetch",
            torrent,
            getDir,
            "127.0.0.1",
            `${seeder.port}`,
            "plaintext",
          ],
        });
        lt = add(lt, "libtorrent", counts);
      }
    } finally {
      await seeder.stop();
      await clean();
      await removePerfMaps();
    }
    console.log(`\n# download from a libtorrent seeder (${ROUNDS} round(s), per GiB)`);
    console.log(formatBudget([...columns as Column[], lt!]));
  }

  if (values.only !== "download") {
    const columns: Column[] = [];
    for (const [kind, cli] of [...CLIS.map((c) => ["shoal", c]), ["libtorrent", ""]]) {
      const seeder = kind === "shoal"
        ? await startShoalSeeder(torrent, seedDir, cli, ["--no-dht"], PROFILE_FLAGS)
        : await startLibtorrentSeeder(torrent, seedDir);
      let column: Column | undefined;
      try {
        for (let round = 0; round < ROUNDS; round++) {
          await clean();
          await sync();
          const fetch = new Deno.Command("timeout", {
            args: [
              "600",
              PYTHON,
              LT_PEER,
              "fetch",
              torrent,
              getDir,
              "127.0.0.1",
              `${seeder.port}`,
              "plaintext",
            ],
            stdout: "null",
          }).output();
          const counts = await perfRecord(`${work}/perf.data`, { pid: seeder.pid, until: fetch });
          column = add(column, kind === "shoal" ? label(cli) : "libtorrent", counts);
        }
      } finally {
        await seeder.stop();
        await clean();
        await removePerfMaps();
      }
      columns.push(column!);
    }
    console.log(`\n# seeding to a libtorrent downloader: the seeder's budget (per GiB)`);
    console.log(formatBudget(columns));
  }
} finally {
  if (!values.dir) await Deno.remove(work, { recursive: true }).catch(() => {});
}
