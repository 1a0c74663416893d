// deno-lint-ignore no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/g;

/**
 * Escapes control characters (newlines, ESC, BEL...) in text from a torrent, a magnet link,
 * a tracker, a peer or an error, so that it prints as one line and cannot drive a terminal.
 * @param text The text.
 * @returns The escaped text.
 * @example
 * ```ts
 * import { printable } from "@shoal/shoal/util";
 * import { strictEqual } from "node:assert/strict";
 * strictEqual(printable("a\nb\x1b[2J"), "a\\x0ab\\x1b[2J");
 * ```
 */
export function printable(text: string): string {
  return text.replace(
    CONTROL_CHARACTERS,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
}

/**
 * The message of a thrown value (an `Error`'s message, or the value as text).
 * @param error What was thrown.
 * @returns Its message.
 * @example
 * ```ts
 * import { errorMessage } from "@shoal/shoal/util";
 * import { strictEqual } from "node:assert/strict";
 * strictEqual(errorMessage(new Error("boom")), "boom");
 * strictEqual(errorMessage(42), "42");
 * ```
 */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
