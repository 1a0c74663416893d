// Module Web Worker for HashPool: hashes the bytes it is sent with the hand-written SHA-1 and
// sends the digest back together with the bytes' buffer (transferred back when it was
// transferred in, so the caller gets its memory back without a copy).
//
// `deno compile` cannot see this file through static imports: compile with
// `--include src/sha1/hash_worker.ts`.

import { sha1 } from "./sha1.ts";

/** A request from HashPool: hash `byteLength` bytes of `buffer` from `byteOffset`. */
export interface HashRequest {
  /** Job number, echoed in the reply. */
  id: number;
  /** The memory holding the bytes; an ArrayBuffer is transferred, a SharedArrayBuffer shared. */
  buffer: ArrayBuffer | SharedArrayBuffer;
  /** Where the bytes start in `buffer`. */
  byteOffset: number;
  /** How many bytes to hash. */
  byteLength: number;
}

/** The worker's first message, sent once its module has loaded. */
export interface HashWorkerReady {
  /** Always `true`. */
  ready: true;
}

/** The worker's reply: the digest and the buffer that came with the request. */
export interface HashResponse {
  /** The request's job number. */
  id: number;
  /** The 20-byte SHA-1 digest. */
  digest: Uint8Array;
  /** The request's buffer, handed back. */
  buffer: ArrayBuffer | SharedArrayBuffer;
}

interface WorkerScope {
  onmessage: ((event: MessageEvent<HashRequest>) => void) | null;
  postMessage(message: HashResponse | HashWorkerReady, transfer: Transferable[]): void;
}

const scope = globalThis as unknown as WorkerScope;

scope.onmessage = (event: MessageEvent<HashRequest>): void => {
  const { id, buffer, byteOffset, byteLength } = event.data;
  const digest = sha1(new Uint8Array(buffer, byteOffset, byteLength));
  const transfer: Transferable[] = [digest.buffer as ArrayBuffer];
  if (buffer instanceof ArrayBuffer) transfer.push(buffer);
  scope.postMessage({ id, digest, buffer }, transfer);
};

// Tell the pool the module loaded: it sends no bytes before this, so none are lost if the
// worker cannot start (e.g. no read permission for this file).
scope.postMessage({ ready: true }, []);
