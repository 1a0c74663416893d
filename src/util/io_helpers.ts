/**
 * Small I/O helpers shared by the socket, storage and session layers: waiting with a signal,
 * running an operation under a deadline, writing a whole buffer, and closing a resource that
 * may already be closed.
 * @module
 */

/**
 * Waits `ms` milliseconds, or rejects with `signal.reason` as soon as `signal` aborts (the
 * timer is cleared either way, so no timer outlives the wait).
 * @param ms How long to wait.
 * @param signal Aborts the wait.
 * @returns When the time has passed.
 * @throws The signal's reason when it aborts first.
 * @example
 * ```ts
 * import { sleep } from "@shoal/shoal/util";
 * import { rejects } from "node:assert/strict";
 * await sleep(1);
 * await rejects(sleep(10_000, AbortSignal.abort(new Error("stop"))), /stop/);
 * ```
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, Math.max(0, ms));
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Runs `body` with a signal that aborts when the caller's `signal` does or after `timeoutMs`,
 * and calls `onAbort` (typically closing a socket so its pending reads and writes end) when
 * that happens. Whatever aborted is what the call rejects with; the timer is always cleared.
 * @param timeoutMs The time limit.
 * @param signal The caller's signal, if any.
 * @param timeoutError Makes the error a timeout rejects with.
 * @param body The operation, given the combined signal.
 * @param onAbort Called once if the combined signal aborts while `body` runs.
 * @returns What `body` returns.
 * @throws The caller's abort reason, `timeoutError()`, or what `body` throws.
 * @example
 * ```ts
 * import { sleep, withDeadline } from "@shoal/shoal/util";
 * import { rejects, strictEqual } from "node:assert/strict";
 * strictEqual(await withDeadline(1000, undefined, () => new Error("late"), async () => 7), 7);
 * await rejects(
 *   withDeadline(5, undefined, () => new Error("too slow"), (signal) => sleep(10_000, signal)),
 *   /too slow/,
 * );
 * ```
 */
export async function withDeadline<T>(
  timeoutMs: number,
  signal: AbortSignal | undefined,
  timeoutError: () => Error,
  body: (signal: AbortSignal) => Promise<T>,
  onAbort?: () => void,
): Promise<T> {
  signal?.throwIfAborted();
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(timeoutError()), timeoutMs);
  const forward = (): void => controller.abort(signal?.reason);
  signal?.addEventListener("abort", forward, { once: true });
  const aborted = (): void => onAbort?.();
  controller.signal.addEventListener("abort", aborted, { once: true });
  try {
    const result = await body(controller.signal);
    if (controller.signal.aborted) throw controller.signal.reason;
    return result;
  } catch (error) {
    if (controller.signal.aborted) throw controller.signal.reason;
    throw error;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", forward);
    controller.signal.removeEventListener("abort", aborted);
  }
}

/**
 * Writes every byte of `bytes` to `writer`, however many calls to `write` it takes.
 * @param writer A socket, file or anything with `write`.
 * @param bytes The bytes.
 * @returns When the last byte is handed over.
 * @throws What `write` throws; an `Error` if a write makes no progress.
 * @example
 * ```ts
 * import { writeAll } from "@shoal/shoal/util";
 * import { strictEqual } from "node:assert/strict";
 * const path = await Deno.makeTempFile();
 * {
 *   using file = await Deno.open(path, { write: true });
 *   await writeAll(file, new Uint8Array(100_000));
 * }
 * strictEqual((await Deno.stat(path)).size, 100_000);
 * await Deno.remove(path);
 * ```
 */
export async function writeAll(
  writer: { write(p: Uint8Array): Promise<number> },
  bytes: Uint8Array,
): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) {
    const n = await writer.write(bytes.subarray(offset));
    if (!(n > 0)) throw new Error("Cannot write: write() made no progress");
    offset += n;
  }
}

/**
 * Closes a socket, file or listener, ignoring "already closed" and any other close error.
 * @param resource What to close.
 * @example
 * ```ts
 * import { closeQuietly } from "@shoal/shoal/util";
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * closeQuietly(listener);
 * closeQuietly(listener); // a second close is harmless
 * ```
 */
export function closeQuietly(resource: { close(): void } | undefined): void {
  try {
    resource?.close();
  } catch {
    // already closed
  }
}
