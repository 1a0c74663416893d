// The detail view of one torrent: facts, actions, a player, files (selection and priority),
// piece map, peers and trackers. Refreshed every second while open.
import { api, streamUrl } from "./api.js";
import { h, setText, toast } from "./dom.js";
import {
  formatBytes,
  formatEta,
  formatPercent,
  formatRate,
  formatTime,
  STATE_LABELS,
} from "./format.js";

const REFRESH_MS = 1000;

export class Detail {
  /**
   * @param {{ confirmRemove: (t: any, opener: HTMLElement) => void, act: (t: any, action: string) => Promise<void> }} actions
   */
  constructor(actions) {
    this.actions = actions;
    this.dialog = document.getElementById("detail");
    this.title = document.getElementById("detail-title");
    this.badge = document.getElementById("detail-state");
    this.facts = document.getElementById("detail-facts");
    this.files = document.getElementById("detail-files");
    this.peers = document.getElementById("detail-peers");
    this.trackers = document.getElementById("detail-trackers");
    this.pieces = document.getElementById("detail-pieces");
    this.piecesLabel = document.getElementById("detail-pieces-label");
    this.player = document.getElementById("player");
    this.playerTitle = document.getElementById("player-title");
    this.media = document.getElementById("player-media");
    this.toggle = document.getElementById("detail-toggle");
    this.sequential = document.getElementById("detail-sequential");
    /** @type {Map<number, { li: HTMLElement, check: HTMLInputElement, select: HTMLSelectElement, bar: HTMLElement, fill: HTMLElement, done: HTMLElement }>} */
    this.fileRows = new Map();
    this.hash = null;
    this.current = null;
    this.timer = 0;
    this.opener = null;
    document.getElementById("detail-close").addEventListener("click", () => this.dialog.close());
    document.getElementById("player-close").addEventListener("click", () => this.stopPlayer());
    this.dialog.addEventListener("close", () => this.closed());
    this.toggle.addEventListener("click", () => this.act(this.toggle.dataset.action));
    document.getElementById("detail-recheck").addEventListener("click", () => this.act("recheck"));
    document.getElementById("detail-remove").addEventListener("click", (event) => {
      if (!this.current) return;
      const t = this.current;
      this.dialog.close();
      this.actions.confirmRemove(t, event.currentTarget);
    });
    this.sequential.addEventListener("change", async () => {
      try {
        await api(`/torrents/${this.hash}`, {
          method: "PATCH",
          json: { sequential: this.sequential.checked },
        });
      } catch (error) {
        toast(error.message, "error");
      }
    });
  }

  async act(action) {
    if (!this.current) return;
    await this.actions.act(this.current, action);
    this.refresh();
  }

  /** Opens the view for a torrent (focus returns to `opener` when it closes). */
  open(infoHash, opener) {
    if (this.hash !== infoHash) this.reset();
    this.hash = infoHash;
    this.opener = opener;
    if (!this.dialog.open) this.dialog.showModal();
    this.refresh();
  }

  reset() {
    this.stopPlayer();
    this.fileRows.clear();
    this.files.replaceChildren();
    this.peers.replaceChildren();
    this.trackers.replaceChildren();
    this.current = null;
  }

  closed() {
    clearTimeout(this.timer);
    this.stopPlayer();
    this.hash = null;
    if (this.opener?.isConnected) this.opener.focus();
  }

  /** A torrent's summary changed (from the event stream). */
  summary(t) {
    if (t.infoHash !== this.hash || !this.current) return;
    this.current = { ...this.current, ...t };
    this.showHead(this.current);
  }

  /** A torrent was removed. */
  removed(infoHash) {
    if (infoHash === this.hash && this.dialog.open) this.dialog.close();
  }

  async refresh() {
    clearTimeout(this.timer);
    const hash = this.hash;
    if (!hash) return;
    try {
      const t = await api(`/torrents/${hash}`);
      if (hash !== this.hash) return;
      this.current = t;
      this.show(t);
    } catch (error) {
      if (hash === this.hash) toast(error.message, "error");
    }
    if (hash === this.hash && this.dialog.open) {
      this.timer = setTimeout(() => this.refresh(), REFRESH_MS);
    }
  }

  showHead(t) {
    setText(this.title, t.name);
    setText(this.badge, STATE_LABELS[t.state] ?? t.state);
    this.badge.className = `badge state-${t.state}`;
    const paused = t.state === "paused";
    this.toggle.dataset.action = paused ? "resume" : "pause";
    setText(this.toggle, paused ? "Resume" : "Pause");
    if (document.activeElement !== this.sequential) this.sequential.checked = t.sequential;
    const facts = [
      ["Progress", formatPercent(t.progress)],
      ["Selected", `${formatBytes(t.doneSize)} of ${formatBytes(t.selectedSize)}`],
      ["Size", formatBytes(t.size)],
      ["Download", formatRate(t.downloadRate)],
      ["Upload", formatRate(t.uploadRate)],
      ["Peers", `${t.peers} connected, ${t.knownPeers} known`],
      ["ETA", t.progress >= 1 ? "done" : formatEta(t.etaSeconds)],
      ["Ratio", t.ratio.toFixed(2)],
      ["Folder", t.dir, "wide"],
      ["Info hash", t.infoHash, "wide mono"],
    ];
    if (t.error) facts.push(["Error", t.error, "wide"]);
    this.facts.replaceChildren(
      ...facts.map(([k, v, c]) =>
        h("div", { class: c }, h("dt", { text: k }), h("dd", { text: v }))
      ),
    );
  }

  show(t) {
    this.showHead(t);
    this.showFiles(t);
    this.showPieces(t.pieces);
    this.peers.replaceChildren(
      ...(t.peerList.length === 0
        ? [h("tr", {}, h("td", { colspan: 5, class: "none", text: "No peers connected" }))]
        : t.peerList.map((p) =>
          h(
            "tr",
            {},
            h("td", { text: p.address }),
            h("td", { text: p.client || "?" }),
            h("td", { class: "num", text: formatRate(p.downloadRate) }),
            h("td", { class: "num", text: formatRate(p.uploadRate) }),
            h("td", { class: "mono", text: p.flags }),
          )
        )),
    );
    this.trackers.replaceChildren(
      ...(t.trackers.length === 0
        ? [h("tr", {}, h("td", { colspan: 4, class: "none", text: "No trackers" }))]
        : t.trackers.map((tr) =>
          h(
            "tr",
            {},
            h("td", { class: "url", text: tr.url }),
            h("td", {}, h("span", { class: `dot ${tr.status}` }), tr.error ?? tr.status),
            h("td", { text: formatTime(tr.lastAnnounceAt) }),
            h("td", {
              class: "num",
              text: tr.seeders === null ? "–" : `${tr.seeders} / ${tr.leechers ?? "–"}`,
            }),
          )
        )),
    );
  }

  showFiles(t) {
    for (const file of t.files) {
      let row = this.fileRows.get(file.index);
      if (!row) {
        row = this.fileRow(file);
        this.fileRows.set(file.index, row);
        this.files.append(row.li);
      }
      const selected = file.priority !== "skip";
      if (document.activeElement !== row.check) row.check.checked = selected;
      row.select.disabled = !selected;
      if (document.activeElement !== row.select && selected) row.select.value = file.priority;
      const fraction = file.length === 0 ? 1 : file.bytesDone / file.length;
      row.fill.style.width = `${(fraction * 100).toFixed(1)}%`;
      row.bar.setAttribute("aria-valuenow", String(Math.floor(fraction * 100)));
      setText(row.done, `${formatPercent(fraction)} of ${formatBytes(file.length)}`);
      row.li.classList.toggle("skipped", !selected);
    }
  }

  fileRow(file) {
    const label = `${file.path}`;
    const check = h("input", {
      type: "checkbox",
      class: "file-select",
      dataset: { index: String(file.index) },
      "aria-label": `Download ${label}`,
      onchange: () => this.setPriority(file.index, check.checked ? select.value : "skip"),
    });
    const select = h(
      "select",
      {
        class: "file-priority",
        "aria-label": `Priority of ${label}`,
        onchange: () => this.setPriority(file.index, select.value),
      },
      h("option", { value: "normal", text: "Normal" }),
      h("option", { value: "high", text: "High" }),
    );
    select.value = file.priority === "high" ? "high" : "normal";
    const fill = h("div", { class: "fill" });
    const bar = h("div", {
      class: "progress thin",
      role: "progressbar",
      "aria-valuemin": 0,
      "aria-valuemax": 100,
      "aria-label": `Progress of ${label}`,
    }, fill);
    const done = h("span", { class: "f-done" });
    const playable = /^(video|audio)\//.test(file.mediaType);
    const play = playable
      ? h("button", {
        class: "button small play",
        type: "button",
        "aria-label": `Play ${label}`,
        onclick: () => this.play(file),
      }, "▶ Play")
      : null;
    const name = file.path.split("/");
    const li = h(
      "li",
      { class: "file", dataset: { index: String(file.index) } },
      h(
        "label",
        { class: "f-name" },
        check,
        h(
          "span",
          { class: "f-path", title: file.path },
          h("span", {
            class: "f-dir",
            text: name.slice(0, -1).join("/") + (name.length > 1 ? "/" : ""),
          }),
          name[name.length - 1],
        ),
      ),
      h("div", { class: "f-progress" }, bar, done),
      h("div", { class: "f-actions" }, select, play),
    );
    return { li, check, select, bar, fill, done };
  }

  async setPriority(index, priority) {
    try {
      const files = await api(`/torrents/${this.hash}/files`, {
        method: "PATCH",
        json: { priorities: { [index]: priority } },
      });
      if (this.current) this.showFiles({ ...this.current, files });
    } catch (error) {
      toast(error.message, "error");
      this.refresh();
    }
  }

  play(file) {
    this.stopPlayer();
    const tag = file.mediaType.startsWith("audio/") ? "audio" : "video";
    const media = h(tag, {
      controls: true,
      autoplay: true,
      playsinline: true,
      preload: "auto",
      "aria-label": `Player: ${file.path}`,
    });
    media.src = streamUrl(this.hash, file.index);
    media.addEventListener("error", () => {
      if (media.src) toast(`Cannot play ${file.path} in this browser`, "error");
    });
    this.media.replaceChildren(media);
    setText(this.playerTitle, file.path.split("/").pop());
    this.player.hidden = false;
    media.play().catch(() => {}); // autoplay may be refused; the controls remain
    media.focus();
  }

  stopPlayer() {
    const media = this.media.querySelector("video, audio");
    if (media) {
      media.pause();
      media.removeAttribute("src");
      media.load(); // ends the stream request
    }
    this.media.replaceChildren();
    this.player.hidden = true;
  }

  showPieces(pieces) {
    const canvas = this.pieces;
    const width = Math.max(1, Math.floor(canvas.clientWidth * devicePixelRatio));
    const height = Math.max(1, Math.floor(canvas.clientHeight * devicePixelRatio));
    if (canvas.width !== width) canvas.width = width;
    if (canvas.height !== height) canvas.height = height;
    const ctx = canvas.getContext("2d");
    const style = getComputedStyle(canvas);
    ctx.fillStyle = style.getPropertyValue("--piece-empty") || "#ddd";
    ctx.fillRect(0, 0, width, height);
    setText(
      this.piecesLabel,
      `${pieces.have} of ${pieces.count} pieces of ${formatBytes(pieces.length)}`,
    );
    if (pieces.count === 0) return;
    const bits = Uint8Array.from(atob(pieces.bitfield), (c) => c.charCodeAt(0));
    const has = (i) => (bits[i >> 3] >> (7 - (i & 7))) & 1;
    const fill = style.getPropertyValue("--piece-done") || "#0a8";
    ctx.fillStyle = fill;
    for (let x = 0; x < width; x++) {
      const from = Math.floor((x * pieces.count) / width);
      const to = Math.max(from + 1, Math.floor(((x + 1) * pieces.count) / width));
      let n = 0;
      for (let i = from; i < to; i++) n += has(i);
      if (n === 0) continue;
      ctx.globalAlpha = 0.35 + 0.65 * (n / (to - from));
      ctx.fillRect(x, 0, 1, height);
    }
    ctx.globalAlpha = 1;
  }
}
