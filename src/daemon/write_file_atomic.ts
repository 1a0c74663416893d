import { basename, dirname, join } from "node:path";

/**
 * Replaces a file all at once: the bytes go to a temporary file beside it, are flushed to the
 * disk, and the temporary file is renamed over the target (then the folder is flushed too).
 * A crash or `kill -9` at any point leaves either the old file or the new one, never half.
 * @param path The file to write.
 * @param data Its new content (a string is written as UTF-8).
 * @returns When the new content is in place.
 * @throws {Deno.errors.NotFound} If the folder does not exist; other `Deno.errors` on a disk
 *   error (the temporary file is removed first).
 * @example
 * ```ts
 * import { writeFileAtomic } from "@shoal/shoal/daemon";
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
  const folder = dirname(path);
  const suffix = crypto.getRandomValues(new Uint32Array(1))[0].toString(36);
  const temp = join(folder, `.${basename(path)}.${suffix}.tmp`);
  try {
    const file = await Deno.open(temp, { write: true, createNew: true });
    try {
      let view = bytes;
      while (view.length > 0) view = view.subarray(await file.write(view));
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.rename(temp, path);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    throw error;
  }
  try {
    using dir = await Deno.open(folder, { read: true });
    await dir.sync();
  } catch {
    // Some systems cannot flush a folder; the rename is still atomic.
  }
}
