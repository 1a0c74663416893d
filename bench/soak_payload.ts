// Payload files for the soak and resume benchmarks: random bytes written fast, and a native
// SHA-1 of a whole file to verify what a downloader wrote.
import { createHash } from "node:crypto";

/** Bytes written per call; each 64 KiB block of it gets its own counter, so no two repeat. */
const WRITE_CHUNK_BYTES = 4 * 1024 * 1024;
/** The random buffer is refilled this often. */
const REFRESH_EVERY_BYTES = 64 * 1024 * 1024;
/** The most `crypto.getRandomValues` fills at once. */
const RANDOM_BLOCK_BYTES = 64 * 1024;

/**
 * Writes `size` bytes of random-looking data to `path` (created or truncated): one 4 MiB
 * random buffer, refreshed every 64 MiB, with a counter stamped into the first 8 bytes of every
 * 64 KiB block, so every block (and so every piece of 16 KiB or more) differs from the others.
 * @param path The file to write.
 * @param size Its size in bytes.
 * @returns When written and closed.
 */
export async function writeRandomFile(path: string, size: number): Promise<void> {
  const chunk = new Uint8Array(WRITE_CHUNK_BYTES);
  const view = new DataView(chunk.buffer);
  using file = await Deno.open(path, { write: true, create: true, truncate: true });
  let counter = 0;
  for (let written = 0; written < size;) {
    if (written % REFRESH_EVERY_BYTES === 0) {
      for (let at = 0; at < chunk.length; at += RANDOM_BLOCK_BYTES) {
        crypto.getRandomValues(chunk.subarray(at, at + RANDOM_BLOCK_BYTES));
      }
    }
    for (let at = 0; at < chunk.length; at += RANDOM_BLOCK_BYTES) {
      view.setBigUint64(at, BigInt(counter++));
    }
    const part = chunk.subarray(0, Math.min(chunk.length, size - written));
    for (let done = 0; done < part.length;) done += await file.write(part.subarray(done));
    written += part.length;
  }
}

/**
 * SHA-1 of a whole file with the runtime's native hash (node:crypto), read in 1 MiB parts.
 * @param path The file.
 * @returns 40 lowercase hex digits.
 * @throws {Deno.errors.NotFound} If the file is missing.
 */
export async function sha1File(path: string): Promise<string> {
  const hash = createHash("sha1");
  using file = await Deno.open(path, { read: true });
  const buffer = new Uint8Array(1024 * 1024);
  while (true) {
    const n = await file.read(buffer);
    if (n === null) break;
    hash.update(buffer.subarray(0, n));
  }
  return hash.digest("hex");
}

/**
 * VmHWM (peak resident set) and VmRSS of a process, from /proc/<pid>/status, in bytes.
 * @param pid The process.
 * @returns Both figures, or `undefined` once the process is gone.
 */
export function readRss(pid: number): { hwm: number; rss: number } | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(`/proc/${pid}/status`);
  } catch {
    return undefined;
  }
  const kib = (key: string): number => {
    const match = text.match(new RegExp(`^${key}:\\s+(\\d+) kB`, "m"));
    return match ? Number(match[1]) * 1024 : 0;
  };
  return { hwm: kib("VmHWM"), rss: kib("VmRSS") };
}

/**
 * Counts the TCP sockets a process has open (its /proc/<pid>/fd entries that are sockets;
 * the listener and any pipe-like sockets included).
 * @param pid The process.
 * @returns The count, or 0 once the process is gone.
 */
export function countSockets(pid: number): number {
  let count = 0;
  try {
    for (const entry of Deno.readDirSync(`/proc/${pid}/fd`)) {
      try {
        if (Deno.readLinkSync(`/proc/${pid}/fd/${entry.name}`).startsWith("socket:")) count++;
      } catch {
        // closed while we looked
      }
    }
  } catch {
    return 0;
  }
  return count;
}
