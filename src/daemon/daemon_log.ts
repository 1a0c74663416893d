/** One thing the daemon reports: a line on stderr, or a JSON object with `--json`. */
export interface DaemonLogEntry {
  /** What happened: `listening`, `added`, `removed`, `state`, `complete`, `error`... */
  readonly event: string;
  /** How much it matters. */
  readonly level: "info" | "warn" | "error";
  /** One line for people. */
  readonly message: string;
  /** Facts for programs (info hash, path, state...), kept in the JSON form. */
  readonly [field: string]: unknown;
}

// deno-lint-ignore no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/g;

/**
 * Formats a log entry as one line: `TIME [LEVEL ]MESSAGE` for people (control characters
 * from torrent names or peers escaped, so the line cannot break or drive the terminal), or
 * one JSON object with `time`, `level`, `event`, `message` and the entry's other fields.
 * @param entry The entry.
 * @param json JSON instead of text.
 * @param now The time to stamp (default: now).
 * @returns The line, without a newline.
 * @example
 * ```ts
 * import { formatLogLine } from "@shoal/shoal/daemon";
 * import { strictEqual } from "node:assert/strict";
 * const entry = { event: "added", level: "info", message: "added a\nb", infoHash: "00" } as const;
 * const at = new Date("2024-05-01T10:00:00Z");
 * strictEqual(formatLogLine(entry, false, at), "2024-05-01T10:00:00Z added a\\x0ab");
 * strictEqual(JSON.parse(formatLogLine(entry, true, at)).infoHash, "00");
 * ```
 */
export function formatLogLine(
  entry: DaemonLogEntry,
  json: boolean,
  now: Date = new Date(),
): string {
  const time = now.toISOString().replace(/\.\d{3}Z$/, "Z");
  if (json) {
    const { event, level, message, ...fields } = entry;
    return JSON.stringify({ time, level, event, message, ...fields });
  }
  const level = entry.level === "info" ? "" : `${entry.level}: `;
  const text = entry.message.replace(
    CONTROL_CHARACTERS,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
  return `${time} ${level}${text}`;
}
