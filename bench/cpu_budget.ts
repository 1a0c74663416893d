// Turns `perf script` output (samples with call stacks, every thread of one process) into a CPU
// budget by stage of the download or upload hot path. Used by bench/profile.ts.
//
// Each sample is charged to one stage. Hash worker threads are hashing; kernel frames name the
// system calls (socket reads and writes, disk writes, reads and flushes); on the main thread the
// first frame of our own code from the leaf up decides, by file and function. Samples with no
// frame of ours are the runtime: the event loop, promise machinery, garbage collection, V8's
// compiler threads and start-up.

/** The stages of the budget, in the order they are printed. */
export const STAGES = [
  "socket reads",
  "frame parsing",
  "block copies",
  "hashing",
  "disk writes",
  "flushes",
  "disk reads",
  "other file ops",
  "sends",
  "bookkeeping",
  "events",
  "runtime",
  "gc & compiler threads",
] as const;

/** One stage of {@linkcode STAGES}. */
export type Stage = typeof STAGES[number];

/** One sample: the thread's name and its frames' symbols, leaf first. */
export interface Sample {
  /** The thread's name (`deno`, `worker-1`, `tokio-runtime-w`, `V8 DefaultWorke`, ...). */
  thread: string;
  /** Symbols, leaf first (`JS:*'name file:///...:line:col` for JavaScript frames). */
  frames: string[];
}

/**
 * Parses `perf script -F comm,ip,sym,dso` output.
 * @param text The output.
 * @returns The samples.
 */
export function parsePerfScript(text: string): Sample[] {
  const samples: Sample[] = [];
  let current: Sample | undefined;
  for (const line of text.split("\n")) {
    if (line.length === 0) {
      current = undefined;
      continue;
    }
    if (line[0] !== " " && line[0] !== "\t") {
      // "comm tid" or "comm" (a thread name may contain spaces: keep all but a trailing number)
      const thread = line.trim().replace(/\s+\d+$/, "");
      current = { thread, frames: [] };
      samples.push(current);
      continue;
    }
    if (!current) continue;
    const match = /^\s*[0-9a-f]+\s+(.*?)(?:\s+\(([^)]*)\))?$/.exec(line);
    if (!match) continue;
    const dso = match[2] ?? "";
    // Native libraries without symbols are named by their file (libcrypto's SHA-1, libtorrent).
    current.frames.push(match[1] === "[unknown]" && dso ? `[${dso.split("/").at(-1)}]` : match[1]);
  }
  return samples;
}

const KERNEL_RULES: [RegExp, Stage][] = [
  [/^(ext4_sync_file|file_write_and_wait_range|__x64_sys_fdatasync|__x64_sys_fsync)$/, "flushes"],
  [/^(ext4_file_write_iter|ext4_buffered_write_iter|generic_perform_write)$/, "disk writes"],
  [/^(ext4_file_read_iter|filemap_read|generic_file_read_iter)$/, "disk reads"],
  [/^(tcp_recvmsg|tcp_recvmsg_locked|__x64_sys_recvfrom)$/, "socket reads"],
  [/^(tcp_sendmsg|tcp_sendmsg_locked|__x64_sys_sendto)$/, "sends"],
  // Through a memory map (libtorrent): faults that fill or dirty file pages.
  [/^(do_shared_fault|do_page_mkwrite|ext4_page_mkwrite)$/, "disk writes"],
  [/^(filemap_fault|do_read_fault|filemap_map_pages)$/, "disk reads"],
];

/** Our source files by stage; a function-level rule below may override. */
const FILE_RULES: [RegExp, Stage][] = [
  [/\/wire\/message\.ts/, "frame parsing"],
  [/\/sha1\/|\/session\/piece_verifier\.ts/, "hashing"],
  [/\/storage\/resume_writer\.ts|\/storage\/piece_journal\.ts/, "flushes"],
  [/\/storage\/|\/util\/io_helpers\.ts/, "disk writes"],
  [/\/upload\//, "disk reads"],
  [
    /\/scheduler\/|\/session\/(peer_handler|swarm_peer|stats|connector|peer_book)\.ts/,
    "bookkeeping",
  ],
  [/\/client\/|\/session\/|\/cli\/|\/cli\.ts/, "events"],
];

function stageOfJsFrame(frame: string, leaf: string): Stage | undefined {
  const file = /file:\/\/\S+/.exec(frame)?.[0];
  if (!file) return undefined;
  const name = /^JS:[*~+o^]*'?([^ ]*)/.exec(frame)?.[1] ?? "";
  if (file.includes("/peer/connection.ts")) {
    if (/^(send|sendPiece|#enqueue|#sendBufferOf|#flush\w*|#write\w*)$/.test(name)) return "sends";
    if (name === "#read") return "socket reads";
    return "frame parsing";
  }
  if (/^(receiveBlock|#onBlock|#copyBlock)$/.test(name) && /memmove|memcpy/.test(leaf)) {
    return "block copies";
  }
  if (/^(sync|syncData)$/.test(name) && file.includes("/storage/")) return "flushes";
  if (/^(read\w*|#read\w*)$/.test(name) && file.includes("/storage/")) return "disk reads";
  for (const [pattern, stage] of FILE_RULES) if (pattern.test(file)) return stage;
  return undefined;
}

/**
 * Charges one sample to a stage.
 * @param sample The sample.
 * @returns Its stage.
 */
export function classify(sample: Sample): Stage {
  if (sample.thread.startsWith("worker-")) return "hashing";
  if (sample.frames.some((f) => /sha1_block|SHA1_Update|sha1_update|libcrypto/i.test(f))) {
    return "hashing";
  }
  for (const frame of sample.frames) {
    for (const [pattern, stage] of KERNEL_RULES) if (pattern.test(frame)) return stage;
  }
  if (sample.thread.startsWith("tokio-runtime")) return "other file ops"; // seek, open, close
  const leaf = sample.frames[0] ?? "";
  for (const frame of sample.frames) {
    if (!frame.startsWith("JS:")) continue;
    const stage = stageOfJsFrame(frame, leaf);
    if (stage) return stage;
  }
  if (/^V8 |^DefaultWorker/.test(sample.thread)) return "gc & compiler threads";
  if (sample.frames[0]?.includes("libtorrent")) return "bookkeeping"; // libtorrent's own logic
  return "runtime";
}

/** Samples per stage. */
export type StageCounts = Record<Stage, number>;

/**
 * Counts samples per stage.
 * @param samples The samples.
 * @returns The counts.
 */
export function countStages(samples: readonly Sample[]): StageCounts {
  const counts = Object.fromEntries(STAGES.map((s) => [s, 0])) as StageCounts;
  for (const sample of samples) counts[classify(sample)]++;
  return counts;
}

/**
 * Formats budgets side by side: CPU seconds per GiB by stage, scaling each column's sample
 * counts to its measured CPU seconds.
 * @param columns Label, counts, measured CPU seconds and bytes moved, per column.
 * @returns The table, a line per stage plus the total.
 */
export function formatBudget(
  columns: readonly { label: string; counts: StageCounts; cpuSeconds: number; bytes: number }[],
): string {
  const gib = 1024 ** 3;
  const header = `${"stage (CPU s per GiB)".padEnd(24)}` +
    columns.map((c) => c.label.padStart(12)).join("");
  const lines = [header];
  const per = columns.map((c) => {
    const total = STAGES.reduce((sum, s) => sum + c.counts[s], 0) || 1;
    return (stage: Stage) => c.counts[stage] / total * c.cpuSeconds / (c.bytes / gib);
  });
  for (const stage of STAGES) {
    lines.push(stage.padEnd(24) + per.map((f) => f(stage).toFixed(2).padStart(12)).join(""));
  }
  lines.push(
    "total".padEnd(24) +
      columns.map((c) => (c.cpuSeconds / (c.bytes / gib)).toFixed(2).padStart(12)).join(""),
  );
  return lines.join("\n");
}
