import { dirname } from "node:path";
import { writeAll } from "./io_helpers.ts";

/**
 * Replaces a file all at once: the bytes go to `<path>.<random>.tmp` beside it, are flushed to
 * the disk, and the temporary file is renamed over the target (then the folder is flushed too,
 * where the system allows). A crash or `kill -9` at any point leaves the old file or the new
 * one, never half of either, and at most a stale temporary.
 * @param path The file to write (its folder must exist).
 * @param data Its new content (a string is written as UTF-8).
 * @returns When the new content is in place.
 * @throws {Deno.errors.NotFound} If the folder does not exist; another `Deno.errors` class on a
 *   disk error (the temporary file is removed first).
 * @example
 * ```ts
 * import { writeFileAtomic } from "@shoal/shoal/util";
 * import { strictEqual } from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * await writeFileAtomic(`${dir}/list.json`, "[1]");
 * await writeFileAtomic(`${dir}/list.json`, "[1,2]");
 * strictEqual(await Deno.readTextFile(`${dir}/list.json`), "[1,2]");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const temp = `${path}.${crypto.randomUUID()}.tmp`;
  try {
    const file = await Deno.open(temp, { write: true, createNew: true });
    try {
      await writeAll(file, bytes);
      await file.syncData();
    } finally {
      file.close();
    }
    await Deno.rename(temp, path);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    throw error;
  }
  try {
    using folder = await Deno.open(dirname(path), { read: true });
    await folder.sync();
  } catch {
    // Some systems cannot flush a folder; the rename is still atomic.
  }
}
