// A pool of module Web Workers running the hand-written SHA-1, so piece checks (BEP 3) do not
// block the event loop. Each worker hashes up to four jobs per message on the 4-lane SIMD
// kernel (Sha1Batch), so jobs are sent in batches of four; a batch that is not full waits at
// most BATCH_WAIT_MS (25 ms) for company. `deno compile` needs `--include src/sha1/hash_worker.ts` for
// the workers to load inside the compiled binary.

import { equalBytes } from "../bytes/bytes.ts";
import { sha1 } from "./sha1.ts";
import { SHA1_LANES, sha1Many } from "./sha1_batch.ts";
import type { HashItem, HashRequest, HashResponse, HashWorkerReady } from "./hash_worker.ts";

/** The most workers a pool starts when no `size` is given. */
export const MAX_DEFAULT_HASH_POOL_SIZE = 4;

/**
 * Batches sent to one worker before the first comes back: the second hides the message round
 * trip (10-15% faster than one at a time with one worker on 256 KiB pieces; measured).
 */
const BATCHES_PER_WORKER = 2;

/**
 * How long the oldest queued job may wait for others to fill a batch of four. A batch of one
 * or two runs on the JS SHA-1 at about half the speed per core of a full SIMD batch, so waiting
 * pays: a download at 500 MB/s completes a 1 MiB piece every 2 ms, and with a 2 ms wait most
 * batches went out with one or two pieces (measured: hashing took 1.4 CPU s per GiB instead of
 * 0.5). The wait only delays a piece's check, never the download (the pieces are in memory).
 */
const BATCH_WAIT_MS = 25;

/** Options for {@linkcode HashPool}. */
export interface HashPoolOptions {
  /**
   * Number of workers. `0` hashes on the main thread. Defaults to
   * `navigator.hardwareConcurrency`, at least 1 and at most {@linkcode MAX_DEFAULT_HASH_POOL_SIZE}.
   * Where `Worker` does not exist the pool always hashes on the main thread.
   */
  size?: number;
  /** URL of the worker module; defaults to `hash_worker.ts` beside this module. */
  workerUrl?: string | URL;
}

/** What {@linkcode HashPool.hash} resolves to. */
export interface HashResult {
  /** The 20-byte SHA-1 digest. */
  digest: Uint8Array;
  /**
   * The hashed bytes, to use from now on instead of the `data` passed in (which may have
   * been detached by the transfer): same length, same `byteOffset`.
   */
  data: Uint8Array;
}

/** What {@linkcode HashPool.verify} resolves to. */
export interface VerifyResult {
  /** Whether the digest equals the expected one. */
  ok: boolean;
  /** The checked bytes, to use from now on (see {@linkcode HashResult.data}). */
  data: Uint8Array;
}

interface Job {
  buffer: ArrayBuffer | SharedArrayBuffer;
  byteOffset: number;
  byteLength: number;
  /** Whether `buffer` goes to the worker by transfer (it then comes back by transfer too). */
  transfer: boolean;
  /** The caller's view, returned as is when the job did not take over the caller's buffer. */
  original: Uint8Array | undefined;
  /** `performance.now()` when queued. */
  queuedAt: number;
  resolve(result: HashResult): void;
  reject(error: Error): void;
}

interface Batch {
  id: number;
  jobs: Job[];
}

interface Slot {
  worker: Worker;
  /** Set once the worker's module has loaded; no job is sent before. */
  ready: boolean;
  /** Batches sent to this worker, oldest first; it answers in order. */
  batches: Batch[];
}

/**
 * Hashes byte strings (e.g. BitTorrent pieces, BEP 3) with SHA-1 on a pool of module Web
 * Workers. Jobs are queued first in, first out and handed to idle workers in batches of up to
 * four, which a worker hashes at once on its SIMD kernel (best when they have one length, like
 * the pieces of one torrent; {@linkcode HashPool.hashMany} queues several together). A job that
 * finds no company waits at most 25 ms before it is sent alone. Workers are
 * started on demand. Without `Worker`, or with `size: 0`, it hashes on the main thread; it
 * also falls back to the main thread when a worker cannot start (e.g. `deno run` without read
 * permission for `hash_worker.ts`, or a `deno compile` binary built without
 * `--include src/sha1/hash_worker.ts`): no job is lost, `size` then reads `0` and
 * `startError` says why. A worker that fails while hashing rejects that job with an `Error`
 * (and any other job that worker held) and is replaced.
 *
 * Memory: to avoid copies, when `data` spans its whole `ArrayBuffer` (`byteOffset` 0 and
 * `byteLength === data.buffer.byteLength`) the buffer is *transferred*: the caller's `data`
 * is detached at once and the bytes come back as `result.data`. Any other `ArrayBuffer`
 * view is copied when `hash` is called, so the caller may reuse it at once, and
 * `result.data` is the caller's own view. A `SharedArrayBuffer` is shared, not copied: do
 * not write to those bytes until the job settles. Either way, use `result.data` afterwards.
 *
 * Call `close()` (or `await using`) when done: live workers keep a program running.
 * @example
 * ```ts
 * import { encodeHex } from "@shoal/shoal/bytes";
 * import { HashPool } from "@shoal/shoal";
 * import { strictEqual } from "node:assert/strict";
 * await using pool = new HashPool({ size: 2 });
 * const piece = new TextEncoder().encode("abc");
 * const { digest, data } = await pool.hash(piece); // `piece` was transferred: use `data`
 * strictEqual(encodeHex(digest), "a9993e364706816aba3e25717850c26c9cd0d89d");
 * strictEqual(new TextDecoder().decode(data), "abc");
 * ```
 */
export class HashPool implements AsyncDisposable {
  #size: number;
  #startError: string | undefined;
  #workerUrl: string;
  #slots: Slot[] = [];
  #queue: (Job | undefined)[] = [];
  #queueHead = 0;
  #nextId = 1;
  #closed = false;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /**
   * Creates a pool. No worker starts until the first job.
   * @param options Pool size and worker URL.
   * @throws {RangeError} If `size` is not a non-negative integer.
   * @example
   * ```ts
   * import { HashPool } from "@shoal/shoal";
   * import { strictEqual } from "node:assert/strict";
   * const pool = new HashPool({ size: 0 }); // hashes on the main thread
   * strictEqual(pool.size, 0);
   * pool.close();
   * ```
   */
  constructor(options: HashPoolOptions = {}) {
    const { size } = options;
    if (size !== undefined && (!Number.isSafeInteger(size) || size < 0)) {
      throw new RangeError(`Cannot create HashPool: size ${size} is not a non-negative integer`);
    }
    const hasWorker = typeof Worker === "function";
    const cores = typeof navigator === "object" ? navigator.hardwareConcurrency : 1;
    const fallback = Math.min(MAX_DEFAULT_HASH_POOL_SIZE, Math.max(1, cores || 1));
    this.#size = hasWorker ? size ?? fallback : 0;
    this.#workerUrl = String(options.workerUrl ?? new URL("./hash_worker.ts", import.meta.url));
    if (this.#size > 0) {
      // Deno prints a loud "Uncaught" line when a worker module cannot be read, even though
      // the pool recovers; ask first and go straight to the main thread instead.
      const denied = describeMissingReadPermission(this.#workerUrl);
      if (denied !== undefined) {
        this.#size = 0;
        this.#startError = denied;
      }
    }
  }

  /**
   * Number of workers the pool may run; `0` means it hashes on the main thread (because it
   * was asked to, `Worker` is missing, or a worker could not start: see `startError`).
   */
  get size(): number {
    return this.#size;
  }

  /** Why a worker could not start, once one failed to; the pool then shrank to the workers that did. */
  get startError(): string | undefined {
    return this.#startError;
  }

  /** Number of workers started so far (loading or ready); they start on demand, or `warm()`. */
  get workers(): number {
    return this.#slots.length;
  }

  /** Number of jobs waiting for a worker (not counting those being hashed). */
  get queued(): number {
    return this.#queue.length - this.#queueHead;
  }

  /**
   * Hashes `data` on an idle worker (or queues it until one is idle).
   * @param data The bytes. If they span their whole `ArrayBuffer` that buffer is transferred
   *   and `data` is detached at once; use `result.data` afterwards (see the class docs).
   * @returns The digest and the bytes (as `data`: same length and offset).
   * @throws {TypeError} If `data` is detached (e.g. already handed to the pool).
   * @throws {Error} (rejection) If the pool is or gets closed, or the worker fails.
   * @example
   * ```ts
   * import { encodeHex } from "@shoal/shoal/bytes";
   * import { HashPool } from "@shoal/shoal";
   * import { strictEqual } from "node:assert/strict";
   * await using pool = new HashPool({ size: 1 });
   * const buffer = new Uint8Array(10);
   * const part = buffer.subarray(2, 5); // not the whole buffer: copied, `part` stays usable
   * const result = await pool.hash(part);
   * strictEqual(result.data, part);
   * strictEqual(encodeHex(result.digest), "29e2dcfbb16f63bb0254df7585a15bb6fb5e927d");
   * ```
   */
  hash(data: Uint8Array): Promise<HashResult> {
    const refusal = this.#refuse([data]);
    if (refusal !== undefined) return Promise.reject(refusal);
    if (this.#size === 0) return Promise.resolve({ digest: sha1(data), data });
    const result = this.#enqueue(data);
    this.#dispatch();
    return result;
  }

  /**
   * Hashes several byte strings, e.g. consecutive pieces of one torrent: they are queued
   * together, so a worker hashes them four at a time on its SIMD kernel without waiting.
   * @param data The byte strings, each handed over as in {@linkcode HashPool.hash}.
   * @returns A result per input, in the same order.
   * @throws {TypeError} (rejection) If any input is detached; then none is queued.
   * @throws {Error} (rejection) As {@linkcode HashPool.hash}.
   * @example
   * ```ts
   * import { encodeHex } from "@shoal/shoal/bytes";
   * import { HashPool } from "@shoal/shoal";
   * import { deepStrictEqual } from "node:assert/strict";
   * await using pool = new HashPool({ size: 1 });
   * const pieces = ["abc", "abc", "abc", "abc"].map((s) => new TextEncoder().encode(s));
   * const results = await pool.hashMany(pieces);
   * deepStrictEqual(
   *   results.map((r) => encodeHex(r.digest)),
   *   Array(4).fill("a9993e364706816aba3e25717850c26c9cd0d89d"),
   * );
   * ```
   */
  hashMany(data: readonly Uint8Array[]): Promise<HashResult[]> {
    const refusal = this.#refuse(data);
    if (refusal !== undefined) return Promise.reject(refusal);
    if (this.#size === 0) {
      const digests = sha1Many(data);
      return Promise.resolve(data.map((bytes, i) => ({ digest: digests[i], data: bytes })));
    }
    const results = Promise.all(data.map((bytes) => this.#enqueue(bytes)));
    this.#dispatch();
    return results;
  }

  /** Why the pool cannot take `data` now, if it cannot. */
  #refuse(data: readonly Uint8Array[]): Error | undefined {
    if (this.#closed) return new Error("Cannot hash: the HashPool is closed");
    for (const bytes of data) {
      const buffer = bytes.buffer;
      if (buffer instanceof ArrayBuffer && buffer.detached) {
        return new TypeError(
          "Cannot hash: the bytes' ArrayBuffer is detached (already transferred?)",
        );
      }
    }
    return undefined;
  }

  /** Queues one job (taking over or copying its bytes now); the caller dispatches. */
  #enqueue(data: Uint8Array): Promise<HashResult> {
    const buffer = data.buffer;
    const queuedAt = performance.now();
    return new Promise<HashResult>((resolve, reject) => {
      let job: Job;
      if (!(buffer instanceof ArrayBuffer)) {
        job = {
          buffer,
          byteOffset: data.byteOffset,
          byteLength: data.byteLength,
          transfer: false,
          original: data,
          queuedAt,
          resolve,
          reject,
        };
      } else if (data.byteOffset === 0 && data.byteLength === buffer.byteLength) {
        // Detach the caller's view now (no copy), so queued bytes cannot change under us.
        const owned = buffer.transfer();
        job = {
          buffer: owned,
          byteOffset: 0,
          byteLength: owned.byteLength,
          transfer: true,
          original: undefined,
          queuedAt,
          resolve,
          reject,
        };
      } else {
        const copy = new Uint8Array(data.byteLength);
        copy.set(data);
        job = {
          buffer: copy.buffer,
          byteOffset: 0,
          byteLength: copy.byteLength,
          transfer: true,
          original: data,
          queuedAt,
          resolve,
          reject,
        };
      }
      this.#queue.push(job);
    });
  }

  /**
   * Hashes `data` and compares the digest with `expected`, e.g. a piece hash from a torrent.
   * @param data The bytes, handed over as in {@linkcode HashPool.hash}.
   * @param expected The expected 20-byte digest.
   * @returns Whether the digest matches, and the bytes to use from now on.
   * @throws {Error} (rejection) As {@linkcode HashPool.hash}.
   * @example
   * ```ts
   * import { decodeHex } from "@shoal/shoal/bytes";
   * import { HashPool } from "@shoal/shoal";
   * import { strictEqual } from "node:assert/strict";
   * await using pool = new HashPool({ size: 1 });
   * const expected = decodeHex("a9993e364706816aba3e25717850c26c9cd0d89d");
   * strictEqual((await pool.verify(new TextEncoder().encode("abc"), expected)).ok, true);
   * strictEqual((await pool.verify(new TextEncoder().encode("abd"), expected)).ok, false);
   * ```
   */
  async verify(data: Uint8Array, expected: Uint8Array): Promise<VerifyResult> {
    const result = await this.hash(data);
    return { ok: equalBytes(result.digest, expected), data: result.data };
  }

  /**
   * Starts one worker now if none runs, so the first piece to hash does not wait for a
   * worker to load (tens of milliseconds); a client calls it when a torrent is added.
   * @example
   * ```ts
   * import { HashPool } from "@shoal/shoal";
   * import { strictEqual } from "node:assert/strict";
   * await using pool = new HashPool({ size: 2 });
   * strictEqual(pool.workers, 0);
   * pool.warm();
   * pool.warm(); // one is enough to start with
   * strictEqual(pool.workers, 1);
   * ```
   */
  warm(): void {
    if (this.#closed || this.#size === 0 || this.#slots.length > 0) return;
    this.#spawn();
  }

  /**
   * Terminates all workers and rejects every queued or running job. Safe to call again.
   * @example
   * ```ts
   * import { HashPool } from "@shoal/shoal";
   * import { rejects } from "node:assert/strict";
   * const pool = new HashPool({ size: 1 });
   * pool.close();
   * pool.close(); // no effect
   * await rejects(pool.hash(new Uint8Array(8)), /closed/);
   * ```
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const slots = this.#slots;
    const queue = this.#queue.slice(this.#queueHead);
    this.#slots = [];
    this.#queue = [];
    this.#queueHead = 0;
    for (const slot of slots) {
      slot.worker.terminate();
      for (const batch of slot.batches.splice(0)) {
        for (const job of batch.jobs) {
          job.reject(new Error("Cannot hash: the HashPool was closed while hashing"));
        }
      }
    }
    for (const job of queue) {
      job?.reject(new Error("Cannot hash: the HashPool was closed before the job started"));
    }
  }

  /**
   * Same as {@linkcode HashPool.close}, for `await using`.
   * @returns A promise that resolves once the workers are terminated.
   * @example
   * ```ts
   * import { HashPool } from "@shoal/shoal";
   * const pool = new HashPool();
   * await pool[Symbol.asyncDispose]();
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }

  #dispatch(): void {
    if (this.#size === 0) {
      // Workers could not start: finish the queue here, in order, four at a time.
      clearTimeout(this.#timer);
      this.#timer = undefined;
      while (this.queued > 0) {
        const jobs = this.#take(SHA1_LANES);
        const views = jobs.map((job) => new Uint8Array(job.buffer, job.byteOffset, job.byteLength));
        const digests = sha1Many(views);
        jobs.forEach((job, i) =>
          job.resolve({ digest: digests[i], data: job.original ?? views[i] })
        );
      }
      return;
    }
    // Fill idle workers first, then give each a second batch to hide the round trip. A batch
    // that is not full goes only once its oldest job has waited BATCH_WAIT_MS.
    const now = performance.now();
    const full = (): boolean =>
      this.queued >= SHA1_LANES ||
      (this.queued > 0 && now - this.#oldest().queuedAt >= BATCH_WAIT_MS);
    for (let depth = 1; depth <= BATCHES_PER_WORKER; depth++) {
      for (const slot of this.#slots) {
        while (slot.ready && slot.batches.length < depth && full()) {
          this.#start(slot, this.#take(SHA1_LANES));
        }
      }
    }
    if (this.queued === 0) {
      // Nothing waits any more: no timer may outlive the jobs (nor keep a program running).
      clearTimeout(this.#timer);
      this.#timer = undefined;
    } else if (this.#timer === undefined) {
      const wait = Math.max(0, this.#oldest().queuedAt + BATCH_WAIT_MS - now);
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#dispatch();
      }, wait);
    }
    let starting = this.#slots.filter((s) => !s.ready).length;
    while (this.#slots.length < this.#size && starting * SHA1_LANES < this.queued) {
      this.#spawn();
      starting++;
    }
  }

  #oldest(): Job {
    return this.#queue[this.#queueHead] as Job;
  }

  /** Takes up to `count` jobs from the front of the queue. */
  #take(count: number): Job[] {
    const jobs: Job[] = [];
    while (jobs.length < count && this.queued > 0) jobs.push(this.#shift());
    return jobs;
  }

  #shift(): Job {
    const job = this.#queue[this.#queueHead] as Job;
    this.#queue[this.#queueHead++] = undefined;
    if (this.#queueHead > 1024 && this.#queueHead * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#queueHead);
      this.#queueHead = 0;
    }
    return job;
  }

  #spawn(): Slot {
    const worker = new Worker(this.#workerUrl, { type: "module" });
    const slot: Slot = { worker, ready: false, batches: [] };
    worker.onmessage = (event: MessageEvent<HashResponse | HashWorkerReady>) => {
      if (!slot.ready) {
        if (!(event.data as HashWorkerReady)?.ready) {
          this.#failStart(slot, "sent a message before it was ready");
          return;
        }
        slot.ready = true;
        this.#dispatch();
        return;
      }
      const batch = slot.batches[0];
      const reply = (event.data ?? {}) as Partial<HashResponse>;
      const { digests, buffers } = reply;
      if (
        batch === undefined || reply.id !== batch.id || !Array.isArray(digests) ||
        !Array.isArray(buffers) || digests.length !== batch.jobs.length ||
        buffers.length !== batch.jobs.length
      ) {
        this.#fail(slot, "sent an unexpected message");
        return;
      }
      slot.batches.shift();
      batch.jobs.forEach((job, i) => {
        job.resolve({
          digest: digests[i],
          data: job.original ?? new Uint8Array(buffers[i], job.byteOffset, job.byteLength),
        });
      });
      this.#dispatch();
    };
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      if (slot.ready) this.#fail(slot, `failed: ${event.message}`);
      else this.#failStart(slot, event.message);
    };
    worker.onmessageerror = () => this.#fail(slot, "sent a message that cannot be read");
    this.#slots.push(slot);
    return slot;
  }

  #start(slot: Slot, jobs: Job[]): void {
    const batch: Batch = { id: this.#nextId++, jobs };
    slot.batches.push(batch);
    const items: HashItem[] = jobs.map(({ buffer, byteOffset, byteLength }) => ({
      buffer,
      byteOffset,
      byteLength,
    }));
    const transfer = jobs.filter((job) => job.transfer).map((job) => job.buffer as ArrayBuffer);
    try {
      slot.worker.postMessage({ id: batch.id, items } satisfies HashRequest, transfer);
    } catch (cause) {
      slot.batches.pop();
      for (const job of jobs) {
        job.reject(new Error("Cannot hash: sending the bytes to a worker failed", { cause }));
      }
    }
  }

  /**
   * A worker that never became ready holds no jobs: drop it and shrink the pool to the workers
   * that did start (no retry loop); with none, the queue is hashed on the main thread.
   */
  #failStart(slot: Slot, reason: string): void {
    const index = this.#slots.indexOf(slot);
    if (index === -1) return;
    this.#slots.splice(index, 1);
    slot.worker.terminate();
    this.#startError ??= reason;
    this.#size = this.#slots.filter((s) => s.ready).length;
    for (const other of this.#slots.filter((s) => !s.ready)) {
      this.#slots.splice(this.#slots.indexOf(other), 1);
      other.worker.terminate();
    }
    this.#dispatch();
  }

  /** Drops a broken worker, rejects its jobs and lets a fresh worker take the queue. */
  #fail(slot: Slot, what: string): void {
    const index = this.#slots.indexOf(slot);
    if (index === -1) return;
    this.#slots.splice(index, 1);
    slot.worker.terminate();
    for (const batch of slot.batches.splice(0)) {
      for (const job of batch.jobs) job.reject(new Error(`Cannot hash: the hash worker ${what}`));
    }
    this.#dispatch();
  }
}

interface DenoPermissionsLike {
  permissions?: {
    querySync?(descriptor: { name: "read"; path: string }): { state: string };
  };
}

/** Under Deno, says why a `file:` worker module could not be read, or `undefined` if it can. */
function describeMissingReadPermission(workerUrl: string): string | undefined {
  const deno = (globalThis as { Deno?: DenoPermissionsLike }).Deno;
  const url = new URL(workerUrl);
  if (url.protocol !== "file:" || typeof deno?.permissions?.querySync !== "function") {
    return undefined;
  }
  let path = decodeURIComponent(url.pathname);
  if (/^\/[A-Za-z]:\//.test(path)) path = path.slice(1);
  const { state } = deno.permissions.querySync({ name: "read", path });
  return state === "granted"
    ? undefined
    : `Cannot start hash workers: no read permission for ${path} (hashing on the main thread)`;
}
