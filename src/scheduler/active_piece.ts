import { BLOCK_SIZE } from "../metainfo/geometry.ts";

/** One block to ask a peer for (BEP 3 `request`). */
export interface BlockRequest {
  /** Piece index. */
  readonly index: number;
  /** Byte offset inside the piece. */
  readonly begin: number;
  /** Block length (at most 16 KiB). */
  readonly length: number;
}

/** Most blocks a piece may have (a 1 GiB piece); block keys are `index * BLOCKS_PER_KEY + block`. */
export const BLOCKS_PER_KEY = 65536;
/** Block state value meaning "received"; lower values count outstanding requests. */
export const RECEIVED = 255;

/**
 * The key of a block: `index * 65536 + begin / 16384`.
 * @param index Piece index.
 * @param begin Offset inside the piece (a multiple of 16 KiB).
 * @returns The key.
 * @example
 * ```ts
 * import { blockKey } from "./active_piece.ts";
 * import { strictEqual } from "node:assert/strict";
 * strictEqual(blockKey(2, 32768), 2 * 65536 + 2);
 * ```
 */
export function blockKey(index: number, begin: number): number {
  return index * BLOCKS_PER_KEY + begin / BLOCK_SIZE;
}

/**
 * The piece index and offset a {@linkcode blockKey} stands for.
 * @param key A block key.
 * @returns The piece index and the block's offset in it.
 * @example
 * ```ts
 * import { blockKey, blockOfKey } from "./active_piece.ts";
 * import { deepStrictEqual } from "node:assert/strict";
 * deepStrictEqual(blockOfKey(blockKey(2, 32768)), { index: 2, begin: 32768 });
 * ```
 */
export function blockOfKey(key: number): { index: number; begin: number } {
  const index = Math.floor(key / BLOCKS_PER_KEY);
  return { index, begin: (key - index * BLOCKS_PER_KEY) * BLOCK_SIZE };
}

/** A piece being downloaded: its buffer and the state of each block. */
export class ActivePiece {
  /** Piece index. */
  readonly index: number;
  /** Piece length in bytes. */
  readonly size: number;
  /** The piece's bytes, filled block by block (handed to a hash worker once complete). */
  data: Uint8Array;
  /** Per block: outstanding request count, or 255 once received. */
  readonly blocks: Uint8Array;
  /** Blocks received so far. */
  received = 0;
  /** Blocks with no request out and not received. */
  missing: number;
  /** Ids of the peers that sent blocks of this piece (to blame on a hash failure). */
  readonly contributors: Set<string> = new Set();

  /**
   * Makes an empty piece buffer.
   * @param index Piece index.
   * @param size Piece length in bytes.
   * @param buffer Memory to reuse, exactly `size` bytes (its old contents are overwritten
   *   block by block before the piece completes).
   */
  constructor(index: number, size: number, buffer?: Uint8Array) {
    this.index = index;
    this.size = size;
    this.data = buffer?.length === size ? buffer : new Uint8Array(size);
    this.blocks = new Uint8Array(Math.ceil(size / BLOCK_SIZE));
    this.missing = this.blocks.length;
  }

  /** `true` once every block has arrived. */
  get complete(): boolean {
    return this.received === this.blocks.length;
  }
}
