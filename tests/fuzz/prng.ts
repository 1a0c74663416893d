// A small seeded PRNG for the fuzzer: sfc32 (Chris Doty-Humphrey's Small Fast Counting
// generator, 128 bits of state), seeded through a murmur-style mix so that nearby seeds and case
// numbers give unrelated streams. Every case of every target gets its own stream from
// (run seed, target name, case number), so one case can be replayed alone.

/** Mixes a 32-bit value (the murmur3 finaliser). */
function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** FNV-1a over the UTF-16 code units of `text`. */
function hashText(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * The seed of one fuzz case: a function of the run's seed, the target and the case number only.
 * @param seed The run's seed (`--seed`).
 * @param target The target's name.
 * @param index The case number.
 * @returns A 32-bit seed for {@linkcode Prng}.
 */
export function caseSeed(seed: number, target: string, index: number): number {
  return mix32(mix32(seed >>> 0) ^ mix32(hashText(target) + index));
}

/** A deterministic pseudo-random stream (sfc32). Not for cryptography. */
export class Prng {
  #a: number;
  #b: number;
  #c: number;
  #d = 1;

  /**
   * Starts a stream.
   * @param seed Any 32-bit integer.
   */
  constructor(seed: number) {
    this.#a = mix32(seed ^ 0x9e3779b9);
    this.#b = mix32(seed ^ 0x243f6a88);
    this.#c = mix32(seed ^ 0xb7e15162);
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** @returns The next 32-bit unsigned integer. */
  u32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  /** @returns A float in [0, 1). */
  float(): number {
    return this.u32() / 4294967296;
  }

  /**
   * @param n The bound, at least 1.
   * @returns An integer in 0..n-1.
   */
  below(n: number): number {
    return Math.floor(this.float() * n);
  }

  /**
   * @param min The smallest value.
   * @param max The largest value.
   * @returns An integer in min..max.
   */
  int(min: number, max: number): number {
    return min + this.below(max - min + 1);
  }

  /**
   * @param p The probability, 0..1.
   * @returns True with probability `p`.
   */
  chance(p: number): boolean {
    return this.float() < p;
  }

  /**
   * @param items A non-empty list.
   * @returns One of them.
   */
  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)];
  }

  /**
   * @param length How many bytes.
   * @returns Fresh random bytes.
   */
  bytes(length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = this.u32() & 0xff;
    return out;
  }

  /**
   * A length that is usually small: 1 with probability 1/2, 2 with 1/4, ... up to `max`.
   * @param max The largest value.
   * @returns An integer in 1..max.
   */
  geometric(max: number): number {
    let n = 1;
    while (n < max && this.chance(0.5)) n++;
    return n;
  }
}
