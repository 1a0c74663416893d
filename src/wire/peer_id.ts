import { VERSION } from "../version.ts";

/** The BEP 20 Azureus-style prefix of shoal's peer ids: client "SH", then the version's digits. */
export const PEER_ID_PREFIX: string = `-SH${
  (VERSION.split(".").map((n) => Number(n) % 10).join("") + "0").slice(0, 4)
}-`;

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/**
 * Makes a fresh 20-byte peer id (BEP 20): {@linkcode PEER_ID_PREFIX} followed by
 * 12 random printable characters.
 * @returns The peer id.
 * @example
 * ```ts
 * import { generatePeerId } from "@shoal/shoal/wire";
 * import { strictEqual } from "node:assert/strict";
 * const id = generatePeerId();
 * strictEqual(id.length, 20);
 * strictEqual(new TextDecoder().decode(id.subarray(0, 8)), "-SH0100-");
 * ```
 */
export function generatePeerId(): Uint8Array {
  const out = new Uint8Array(20);
  for (let i = 0; i < PEER_ID_PREFIX.length; i++) out[i] = PEER_ID_PREFIX.charCodeAt(i);
  const random = crypto.getRandomValues(new Uint8Array(12));
  for (let i = 0; i < 12; i++) out[8 + i] = ALPHABET.charCodeAt(random[i] % ALPHABET.length);
  return out;
}
