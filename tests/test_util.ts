// Small helpers shared by the session and CLI tests.
import { strictEqual } from "node:assert/strict";
import type { SessionEvent } from "../mod.ts";

/** Deterministic pseudo-random bytes (xorshift32, a word at a time). */
export function randomBytes(length: number, seed: number): Uint8Array {
  const words = new Uint32Array(Math.ceil(length / 4));
  let x = seed >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x;
  }
  return new Uint8Array(words.buffer, 0, length);
}

/** Asserts two byte arrays are equal, naming the first byte that differs. */
export function assertSameBytes(actual: Uint8Array, expected: Uint8Array, what: string): void {
  strictEqual(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    if (actual[i] !== expected[i]) {
      throw new Error(`${what}: byte ${i} is ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

/** The events of one type, typed. */
export function ofType<T extends SessionEvent["type"]>(
  events: readonly SessionEvent[],
  type: T,
): Extract<SessionEvent, { type: T }>[] {
  return events.filter((e): e is Extract<SessionEvent, { type: T }> => e.type === type);
}

/** Resolves like `promise`, or rejects once `ms` have passed. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
