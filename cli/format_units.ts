const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

/**
 * Formats a byte count for people: `1.50 MiB`, `42.0 GiB`, `512 B`.
 * @param bytes A count of bytes.
 * @returns The count with a binary unit.
 * @example
 * ```ts
 * import { formatBytes } from "./format_units.ts";
 * import { strictEqual } from "node:assert/strict";
 * strictEqual(formatBytes(1536 * 1024), "1.50 MiB");
 * ```
 */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0
    ? `${value} B`
    : `${value.toFixed(value < 10 ? 2 : value < 100 ? 1 : 0)} ${UNITS[unit]}`;
}

/**
 * Formats a rate for people: `12.3 MB/s` (decimal megabytes, as transfer rates are quoted).
 * @param bytesPerSecond A rate.
 * @returns The rate with a unit.
 * @example
 * ```ts
 * import { formatRate } from "./format_units.ts";
 * import { strictEqual } from "node:assert/strict";
 * strictEqual(formatRate(12_345_678), "12.3 MB/s");
 * ```
 */
export function formatRate(bytesPerSecond: number): string {
  if (bytesPerSecond < 1000) return `${Math.round(bytesPerSecond)} B/s`;
  if (bytesPerSecond < 1e6) return `${(bytesPerSecond / 1e3).toFixed(1)} kB/s`;
  if (bytesPerSecond < 1e9) return `${(bytesPerSecond / 1e6).toFixed(1)} MB/s`;
  return `${(bytesPerSecond / 1e9).toFixed(2)} GB/s`;
}

/**
 * Formats a duration as `m:ss` or `h:mm:ss`; `--:--` when unknown or over 99 hours.
 * @param seconds A duration.
 * @returns The duration.
 * @example
 * ```ts
 * import { formatDuration } from "./format_units.ts";
 * import { strictEqual } from "node:assert/strict";
 * strictEqual(formatDuration(3725), "1:02:05");
 * ```
 */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0 || seconds >= 99 * 3600) return "--:--";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  const mm = h > 0 ? String(m).padStart(2, "0") : String(m);
  return `${h > 0 ? `${h}:` : ""}${mm}:${String(sec).padStart(2, "0")}`;
}

/**
 * Draws a progress bar of `width` cells with eighth-cell precision.
 * @param fraction Progress from 0 to 1.
 * @param width Cells.
 * @returns The bar.
 * @example
 * ```ts
 * import { renderBar } from "./format_units.ts";
 * import { strictEqual } from "node:assert/strict";
 * strictEqual(renderBar(0.5, 4), "██░░");
 * ```
 */
export function renderBar(fraction: number, width: number): string {
  const eighths = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"];
  const clamped = Number.isNaN(fraction) ? 0 : Math.min(1, Math.max(0, fraction));
  const total = Math.floor(clamped * width * 8);
  const full = Math.floor(total / 8);
  const part = eighths[total % 8];
  return "█".repeat(full) + part + "░".repeat(width - full - (part ? 1 : 0));
}
