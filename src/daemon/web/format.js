// Units for people: sizes in binary units, rates in decimal ones (as transfer rates are quoted).

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

/** @param {number} bytes */
export function formatBytes(bytes) {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  if (unit === 0) return `${Math.round(value)} B`;
  return `${value.toFixed(value < 10 ? 2 : value < 100 ? 1 : 0)} ${UNITS[unit]}`;
}

/** @param {number} rate bytes per second */
export function formatRate(rate) {
  if (!(rate > 0)) return "0 B/s";
  if (rate < 1000) return `${Math.round(rate)} B/s`;
  if (rate < 1e6) return `${(rate / 1e3).toFixed(1)} kB/s`;
  if (rate < 1e9) return `${(rate / 1e6).toFixed(1)} MB/s`;
  return `${(rate / 1e9).toFixed(2)} GB/s`;
}

/** @param {number | null} seconds */
export function formatEta(seconds) {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return "∞";
  if (seconds === 0) return "done";
  const s = Math.round(seconds);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${String(m).padStart(2, "0")}m`;
  return `${m}:${String(s % 60).padStart(2, "0")}`;
}

/** @param {number} fraction 0..1 */
export function formatPercent(fraction) {
  const pct = Math.max(0, Math.min(1, fraction)) * 100;
  return pct >= 100 ? "100%" : `${pct.toFixed(1)}%`;
}

/** @param {string | null} iso */
export function formatTime(iso) {
  if (!iso) return "never";
  const date = new Date(iso);
  return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

/** Human words for a torrent state. */
export const STATE_LABELS = {
  "fetching-metadata": "Fetching info",
  checking: "Checking",
  downloading: "Downloading",
  seeding: "Seeding",
  paused: "Paused",
  completed: "Completed",
  stopped: "Stopped",
  error: "Error",
};
