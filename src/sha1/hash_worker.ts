// Module Web Worker for HashPool: hashes the batches of up to four byte strings it is sent on
// the 4-lane SIMD SHA-1 (Sha1Batch; the JS SHA-1 where WebAssembly SIMD is missing) and sends
// the digests back together with the bytes' buffers (transferred back when they were
// transferred in, so the caller gets its memory back without a copy).
//
// `deno compile` cannot see this file through static imports: compile with
// `--include src/sha1/hash_worker.ts`.

import { Sha1Batch } from "./sha1_batch.ts";

/** One byte string of a {@linkcode HashRequest}: `byteLength` bytes of `buffer` from `byteOffset`. */
export interface HashItem {
  /** The memory holding the bytes; an ArrayBuffer is transferred, a SharedArrayBuffer shared. */
  buffer: ArrayBuffer | SharedArrayBuffer;
  /** Where the bytes start in `buffer`. */
  byteOffset: number;
  /** How many bytes to hash. */
  byteLength: number;
}

/** A request from HashPool: hash each of `items` (one to four, ideally of one length). */
export interface HashRequest {
  /** Batch number, echoed in the reply. */
  id: number;
  /** The byte strings. */
  items: HashItem[];
}

/** The worker's first message, sent once its module has loaded (and its kernel warmed up). */
export interface HashWorkerReady {
  /** Always `true`. */
  ready: true;
}

/** The worker's reply: a digest per item and the buffers that came with the request. */
export interface HashResponse {
  /** The request's batch number. */
  id: number;
  /** The 20-byte SHA-1 digests, in item order. */
  digests: Uint8Array[];
  /** The items' buffers, handed back in item order. */
  buffers: (ArrayBuffer | SharedArrayBuffer)[];
}

interface WorkerScope {
  onmessage: ((event: MessageEvent<HashRequest>) => void) | null;
  postMessage(message: HashResponse | HashWorkerReady, transfer: Transferable[]): void;
}

const scope = globalThis as unknown as WorkerScope;
// Allocated (and warmed up) once, before the pool sends any bytes.
const batch = new Sha1Batch();

scope.onmessage = (event: MessageEvent<HashRequest>): void => {
  const { id, items } = event.data;
  const digests = batch.hashMany(
    items.map(({ buffer, byteOffset, byteLength }) =>
      new Uint8Array(buffer, byteOffset, byteLength)
    ),
  );
  const buffers = items.map((item) => item.buffer);
  const transfer = new Set<Transferable>(digests.map((digest) => digest.buffer as ArrayBuffer));
  for (const buffer of buffers) if (buffer instanceof ArrayBuffer) transfer.add(buffer);
  scope.postMessage({ id, digests, buffers }, [...transfer]);
};

// Tell the pool the module loaded: it sends no bytes before this, so none are lost if the
// worker cannot start (e.g. no read permission for this file).
scope.postMessage({ ready: true }, []);
