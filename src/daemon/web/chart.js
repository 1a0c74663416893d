// A live chart of the client's download and upload rates over the last few minutes (SVG).
import { h } from "./dom.js";
import { formatRate } from "./format.js";

const WIDTH = 600;
const HEIGHT = 160;
const PAD_TOP = 12;

export class RateChart {
  /**
   * @param {SVGSVGElement} svg
   * @param {number} seconds the window shown
   */
  constructor(svg, seconds = 300) {
    this.svg = svg;
    this.seconds = seconds;
    /** @type {{ t: number, down: number, up: number }[]} */
    this.samples = [];
    svg.setAttribute("viewBox", `0 0 ${WIDTH} ${HEIGHT}`);
    svg.setAttribute("preserveAspectRatio", "none");
    this.grid = h("svg:g", { class: "grid" });
    this.downArea = h("svg:path", { class: "area down" });
    this.downLine = h("svg:path", { class: "line down" });
    this.upArea = h("svg:path", { class: "area up" });
    this.upLine = h("svg:path", { class: "line up" });
    svg.append(this.grid, this.downArea, this.upArea, this.downLine, this.upLine);
    this.scaleLabel = document.getElementById("chart-scale");
    this.summary = document.getElementById("chart-summary");
  }

  /** Replaces the samples (from the `history` event) and redraws. */
  load(samples, now = Date.now()) {
    this.samples = samples.filter((s) => s.t >= now - this.seconds * 1000);
    this.draw(now);
  }

  /** Adds a sample (from a `stats` event) and redraws. */
  add(downloadRate, uploadRate, now = Date.now()) {
    this.samples.push({ t: now, down: downloadRate, up: uploadRate });
    const oldest = now - this.seconds * 1000;
    while (this.samples.length > 2 && this.samples[0].t < oldest) this.samples.shift();
    this.draw(now);
  }

  draw(now) {
    const max = niceMax(Math.max(1, ...this.samples.map((s) => Math.max(s.down, s.up))));
    const x = (t) => WIDTH - ((now - t) / (this.seconds * 1000)) * WIDTH;
    const y = (v) => HEIGHT - (v / max) * (HEIGHT - PAD_TOP);
    const line = (key) =>
      this.samples.map((s, i) =>
        `${i === 0 ? "M" : "L"}${x(s.t).toFixed(1)},${y(s[key]).toFixed(1)}`
      )
        .join("");
    const area = (key) => {
      if (this.samples.length === 0) return "";
      const first = x(this.samples[0].t).toFixed(1);
      const last = x(this.samples[this.samples.length - 1].t).toFixed(1);
      return `${line(key)}L${last},${HEIGHT}L${first},${HEIGHT}Z`;
    };
    this.downLine.setAttribute("d", line("down"));
    this.upLine.setAttribute("d", line("up"));
    this.downArea.setAttribute("d", area("down"));
    this.upArea.setAttribute("d", area("up"));
    this.grid.replaceChildren(
      ...[0.25, 0.5, 0.75, 1].map((f) =>
        h("svg:line", { x1: 0, x2: WIDTH, y1: y(max * f), y2: y(max * f) })
      ),
    );
    if (this.scaleLabel) this.scaleLabel.textContent = formatRate(max);
    const latest = this.samples[this.samples.length - 1];
    if (this.summary && latest) {
      this.summary.textContent = `Now: download ${formatRate(latest.down)}, upload ${
        formatRate(latest.up)
      }`;
    }
  }
}

/** A round upper bound for the scale: 1, 2 or 5 times a power of ten. */
function niceMax(value) {
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (value <= step * power) return step * power;
  return 10 * power;
}
