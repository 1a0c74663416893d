/**
 * A fixed-size set of piece indexes, stored as BEP 3 bitfield bytes
 * (high bit of byte 0 is piece 0).
 * @example
 * ```ts
 * import { Bitfield } from "@shoal/shoal/bytes";
 * import { ok, strictEqual } from "node:assert/strict";
 * const bits = new Bitfield(10);
 * bits.set(3);
 * ok(bits.has(3));
 * strictEqual(bits.count, 1);
 * ```
 */
export class Bitfield {
  /** The raw bytes, `ceil(size / 8)` long; spare bits at the end are zero. */
  readonly bytes: Uint8Array;
  /** Number of pieces this bitfield covers. */
  readonly size: number;
  #count = 0;

  /**
   * Makes an empty bitfield, or one holding a copy of `bytes`.
   * @param size Number of pieces.
   * @param bytes Optional initial bytes (copied); must be `ceil(size / 8)` long with zero spare bits.
   * @throws {RangeError} If `size` is not a non-negative integer, or `bytes` has the wrong
   * length or spare bits set.
   */
  constructor(size: number, bytes?: Uint8Array) {
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new RangeError(`Bitfield size ${size} is not a non-negative integer`);
    }
    this.size = size;
    this.bytes = new Uint8Array(Math.ceil(size / 8));
    if (bytes) {
      if (bytes.length !== this.bytes.length) {
        throw new RangeError(`Bitfield has ${bytes.length} bytes, expected ${this.bytes.length}`);
      }
      const spare = this.bytes.length * 8 - size;
      if (spare > 0 && (bytes[bytes.length - 1] & ((1 << spare) - 1)) !== 0) {
        throw new RangeError("Bitfield has spare bits set past the last piece");
      }
      this.bytes.set(bytes);
      for (let i = 0; i < size; i++) if (this.has(i)) this.#count++;
    }
  }

  /** Number of set pieces. */
  get count(): number {
    return this.#count;
  }

  /** `true` when every piece is set. */
  get complete(): boolean {
    return this.#count === this.size;
  }

  /**
   * Tells whether piece `index` is set (out-of-range and non-integer indexes are not).
   * @param index Piece index.
   * @returns Whether it is set.
   */
  has(index: number): boolean {
    // Number.isInteger also refuses NaN and fractions, which `>>` would turn into piece 0 or 1.
    if (!Number.isInteger(index) || index < 0 || index >= this.size) return false;
    return (this.bytes[index >> 3] & (0x80 >> (index & 7))) !== 0;
  }

  /**
   * Sets piece `index`.
   * @param index Piece index, `0 <= index < size`.
   * @returns `true` if it was not set before.
   * @throws {RangeError} For an index out of range.
   */
  set(index: number): boolean {
    if (!Number.isInteger(index) || index < 0 || index >= this.size) {
      throw new RangeError(`Piece index ${index} is out of range 0..${this.size - 1}`);
    }
    if (this.has(index)) return false;
    this.bytes[index >> 3] |= 0x80 >> (index & 7);
    this.#count++;
    return true;
  }

  /**
   * Clears piece `index` (out-of-range and non-integer indexes are ignored).
   * @param index Piece index.
   * @returns `true` if it was set before.
   */
  clear(index: number): boolean {
    if (!this.has(index)) return false;
    this.bytes[index >> 3] &= ~(0x80 >> (index & 7));
    this.#count--;
    return true;
  }

  /** Sets every piece. */
  fill(): void {
    for (let i = 0; i < this.size; i++) this.set(i);
  }

  /**
   * Replaces every bit: from bitfield bytes, or all set (`true`) or all clear (`false`).
   * @param pieces Bytes of the same length (spare bits are cleared), or a boolean.
   * @throws {RangeError} If the bytes have the wrong length.
   */
  assign(pieces: Uint8Array | boolean): void {
    if (typeof pieces === "boolean") {
      this.bytes.fill(0);
      this.#count = 0;
      if (pieces) this.fill();
      return;
    }
    if (pieces.length !== this.bytes.length) {
      throw new RangeError(`Bitfield has ${pieces.length} bytes, expected ${this.bytes.length}`);
    }
    this.bytes.set(pieces);
    const spare = this.bytes.length * 8 - this.size;
    if (spare > 0) this.bytes[this.bytes.length - 1] &= 0xff << spare;
    let count = 0;
    for (const byte of this.bytes) {
      let b = byte;
      while (b) {
        b &= b - 1;
        count++;
      }
    }
    this.#count = count;
  }
}
