import { deepStrictEqual, ok, rejects, strictEqual, throws } from "node:assert/strict";
import { join } from "node:path";
import { FileHandleCache } from "../../src/storage/file_handles.ts";
import { StorageError } from "../../src/storage/storage_error.ts";
import { exists } from "./fixture.ts";

Deno.test("FileHandleCache keeps at most maxOpenFiles idle files open (LRU)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await using files = new FileHandleCache({ maxOpenFiles: 2 });
    const paths = [0, 1, 2, 3, 4].map((i) => join(dir, `f${i}.bin`));
    for (const [i, path] of paths.entries()) {
      await files.use(path, "write", async (file) => {
        await file.write(new Uint8Array([i]));
      });
      ok(files.openCount <= 2, `openCount ${files.openCount}`);
    }
    strictEqual(files.openCount, 2);
    // Every file is still reachable: evicted ones are reopened.
    for (const [i, path] of paths.entries()) {
      const byte = await files.use(path, "read", async (file) => {
        await file.seek(0, Deno.SeekMode.Start);
        const buf = new Uint8Array(1);
        await file.read(buf);
        return buf[0];
      });
      strictEqual(byte, i);
      ok(files.openCount <= 2);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("FileHandleCache runs operations on one path one at a time, in order", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await using files = new FileHandleCache({ maxOpenFiles: 1 });
    const path = join(dir, "a.bin");
    const log: string[] = [];
    let running = 0;
    await Promise.all([0, 1, 2, 3].map((i) =>
      files.use(path, "write", async () => {
        running++;
        ok(running === 1, "two operations overlapped on one path");
        log.push(`start ${i}`);
        await new Promise((resolve) => setTimeout(resolve, 2));
        log.push(`end ${i}`);
        running--;
      })
    ));
    deepStrictEqual(log, [0, 1, 2, 3].flatMap((i) => [`start ${i}`, `end ${i}`]));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("FileHandleCache never closes a file in use, even over the limit", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await using files = new FileHandleCache({ maxOpenFiles: 1 });
    const release = Promise.withResolvers<void>();
    const holding = files.use(join(dir, "a.bin"), "write", async (file) => {
      await release.promise;
      return await file.write(new Uint8Array([1, 2])); // fails if the handle was closed
    });
    await new Promise((resolve) => setTimeout(resolve, 5));
    await files.use(join(dir, "b.bin"), "write", async (file) => {
      strictEqual(files.openCount, 2);
      await file.write(new Uint8Array([3]));
    });
    release.resolve();
    strictEqual(await holding, 2);
    strictEqual(files.openCount, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("FileHandleCache: read never creates; write creates parents and does not truncate", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await using files = new FileHandleCache();
    const path = join(dir, "x", "y", "a.bin");
    await rejects(
      files.use(path, "read", () => Promise.resolve()),
      (e) => e instanceof StorageError && e.code === "EMISSING" && /does not exist/.test(e.message),
    );
    ok(!await exists(join(dir, "x")));
    await files.use(path, "write", async (file) => {
      await file.write(new Uint8Array([1, 2, 3, 4]));
    });
    await files.close();
    await using again = new FileHandleCache();
    await again.use(path, "write", async (file) => {
      await file.seek(1, Deno.SeekMode.Start);
      await file.write(new Uint8Array([9]));
    });
    deepStrictEqual(await Deno.readFile(path), new Uint8Array([1, 9, 3, 4]));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("FileHandleCache upgrades a read-only handle when a write comes", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "a.bin");
    await Deno.writeFile(path, new Uint8Array([1, 2, 3]));
    await using files = new FileHandleCache();
    await files.use(path, "read", async (file) => {
      await rejects(file.write(new Uint8Array([7]))); // opened read-only
    });
    await files.use(path, "write", async (file) => {
      await file.seek(2, Deno.SeekMode.Start);
      await file.write(new Uint8Array([7]));
    });
    strictEqual(files.openCount, 1);
    await files.sync();
    deepStrictEqual(await Deno.readFile(path), new Uint8Array([1, 2, 7]));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("FileHandleCache rejects a bad limit and use after close", async () => {
  throws(() => new FileHandleCache({ maxOpenFiles: 0 }), RangeError);
  throws(() => new FileHandleCache({ maxOpenFiles: 1.5 }), RangeError);
  const files = new FileHandleCache();
  await files.close();
  await files.close();
  await rejects(
    files.use("/nonexistent", "read", () => Promise.resolve()),
    (e) => e instanceof StorageError && e.code === "ECLOSED",
  );
});
