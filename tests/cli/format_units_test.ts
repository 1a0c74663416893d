import { ok, strictEqual } from "node:assert/strict";
import { formatBytes, formatDuration, formatRate, renderBar } from "../../cli/format_units.ts";

const KiB = 1024, MiB = 1024 ** 2, GiB = 1024 ** 3, TiB = 1024 ** 4;

// ---- formatBytes ----------------------------------------------------------------------------

Deno.test("formatBytes() prints counts under 1 KiB as whole bytes", () => {
  strictEqual(formatBytes(0), "0 B");
  strictEqual(formatBytes(1), "1 B");
  strictEqual(formatBytes(512), "512 B");
  strictEqual(formatBytes(1023), "1023 B");
});

Deno.test("formatBytes() switches to KiB at exactly 1024", () => {
  strictEqual(formatBytes(1024), "1.00 KiB");
  strictEqual(formatBytes(1025), "1.00 KiB");
  strictEqual(formatBytes(1536), "1.50 KiB");
});

Deno.test("formatBytes() keeps three significant digits: 2 decimals < 10, 1 < 100, 0 above", () => {
  strictEqual(formatBytes(1.5 * MiB), "1.50 MiB");
  strictEqual(formatBytes(9.99 * KiB), "9.99 KiB");
  strictEqual(formatBytes(10 * KiB), "10.0 KiB");
  strictEqual(formatBytes(42 * GiB), "42.0 GiB");
  strictEqual(formatBytes(99.5 * GiB), "99.5 GiB");
  strictEqual(formatBytes(100 * KiB), "100 KiB");
  strictEqual(formatBytes(700 * MiB), "700 MiB");
});

Deno.test("formatBytes() uses each binary unit at its power of 1024", () => {
  strictEqual(formatBytes(MiB), "1.00 MiB");
  strictEqual(formatBytes(GiB), "1.00 GiB");
  strictEqual(formatBytes(TiB), "1.00 TiB");
});

Deno.test("formatBytes() stays in TiB for huge values", () => {
  strictEqual(formatBytes(1024 * TiB), "1024 TiB");
  strictEqual(formatBytes(2 ** 53), "8192 TiB");
  strictEqual(formatBytes(Number.MAX_SAFE_INTEGER), "8192 TiB");
});

// ---- formatRate -----------------------------------------------------------------------------

Deno.test("formatRate() prints rates under 1000 B/s as whole bytes per second", () => {
  strictEqual(formatRate(0), "0 B/s");
  strictEqual(formatRate(0.4), "0 B/s");
  strictEqual(formatRate(1), "1 B/s");
  strictEqual(formatRate(999), "999 B/s");
  strictEqual(formatRate(123.6), "124 B/s");
});

Deno.test("formatRate() uses decimal units (1000, not 1024)", () => {
  strictEqual(formatRate(1000), "1.0 kB/s");
  strictEqual(formatRate(1023), "1.0 kB/s");
  strictEqual(formatRate(1024), "1.0 kB/s");
  strictEqual(formatRate(1500), "1.5 kB/s");
  strictEqual(formatRate(999_000), "999.0 kB/s");
  strictEqual(formatRate(1e6), "1.0 MB/s");
  strictEqual(formatRate(12_345_678), "12.3 MB/s");
  strictEqual(formatRate(1e9), "1.00 GB/s");
  strictEqual(formatRate(2.5e9), "2.50 GB/s");
});

Deno.test("formatRate() stays in GB/s for huge rates", () => {
  strictEqual(formatRate(1e12), "1000.00 GB/s");
});

// ---- formatDuration -------------------------------------------------------------------------

Deno.test("formatDuration() prints m:ss under an hour", () => {
  strictEqual(formatDuration(0), "0:00");
  strictEqual(formatDuration(1), "0:01");
  strictEqual(formatDuration(59), "0:59");
  strictEqual(formatDuration(60), "1:00");
  strictEqual(formatDuration(61), "1:01");
  strictEqual(formatDuration(600), "10:00");
  strictEqual(formatDuration(3599), "59:59");
});

Deno.test("formatDuration() prints h:mm:ss from an hour on", () => {
  strictEqual(formatDuration(3600), "1:00:00");
  strictEqual(formatDuration(3725), "1:02:05");
  strictEqual(formatDuration(36_000 + 59 * 60 + 9), "10:59:09");
  strictEqual(formatDuration(99 * 3600 - 1), "98:59:59");
});

Deno.test("formatDuration() rounds fractional seconds to the nearest second", () => {
  strictEqual(formatDuration(0.4), "0:00");
  strictEqual(formatDuration(0.5), "0:01");
  strictEqual(formatDuration(59.6), "1:00");
  strictEqual(formatDuration(3599.5), "1:00:00");
});

Deno.test("formatDuration() prints --:-- when unknown, negative or 99 hours and over", () => {
  for (const seconds of [NaN, Infinity, -Infinity, -1, -0.1, 99 * 3600, 1e12]) {
    strictEqual(formatDuration(seconds), "--:--", String(seconds));
  }
});

// ---- renderBar ------------------------------------------------------------------------------

Deno.test("renderBar() is always exactly `width` cells for fractions in 0..1", () => {
  for (const width of [1, 4, 10, 24, 30]) {
    for (let step = 0; step <= 200; step++) {
      const bar = renderBar(step / 200, width);
      strictEqual([...bar].length, width, `${step / 200} x ${width}: "${bar}"`);
    }
  }
});

Deno.test("renderBar() draws empty, half and full bars", () => {
  strictEqual(renderBar(0, 4), "░░░░");
  strictEqual(renderBar(0.5, 4), "██░░");
  strictEqual(renderBar(1, 4), "████");
});

Deno.test("renderBar() draws partial cells in eighths", () => {
  strictEqual(renderBar(1 / 8, 4), "▌░░░"); // 4 eighths of one cell
  strictEqual(renderBar(1 / 32, 4), "▏░░░"); // 1 eighth
  strictEqual(renderBar(0.999, 4), "███▉");
});

Deno.test("renderBar() never shrinks as the fraction grows", () => {
  const partials = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"];
  const eighths = (bar: string) =>
    [...bar].reduce(
      (sum, cell) => sum + (cell === "█" ? 8 : Math.max(0, partials.indexOf(cell))),
      0,
    );
  let last = -1;
  for (let step = 0; step <= 1000; step++) {
    const value = eighths(renderBar(step / 1000, 10));
    ok(value >= last, `step ${step}: ${value} < ${last}`);
    last = value;
  }
  strictEqual(last, 80);
});

Deno.test("renderBar() clamps fractions outside 0..1", () => {
  strictEqual(renderBar(-1, 4), "░░░░");
  strictEqual(renderBar(-Infinity, 4), "░░░░");
  strictEqual(renderBar(2, 4), "████");
  strictEqual(renderBar(Infinity, 4), "████");
  strictEqual(renderBar(NaN, 4), "░░░░", "0/0 checked draws an empty bar");
});

Deno.test("renderBar() of width 0 is empty", () => {
  strictEqual(renderBar(0, 0), "");
  strictEqual(renderBar(0.5, 0), "");
  strictEqual(renderBar(1, 0), "");
});
