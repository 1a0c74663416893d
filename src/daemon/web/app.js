// The page: the torrent list, live over Server-Sent Events, the totals and the rate chart.
import { setUpAdding } from "./add.js";
import { api, openEvents } from "./api.js";
import { RateChart } from "./chart.js";
import { Detail } from "./detail.js";
import { h, setText, toast } from "./dom.js";
import { formatBytes, formatEta, formatPercent, formatRate, STATE_LABELS } from "./format.js";

/** @type {Map<string, any>} info hash -> summary */
const torrents = new Map();
/** @type {Map<string, ReturnType<typeof buildRow>>} */
const rows = new Map();
/** @type {Map<string, number>} info hash -> checking fraction */
const checking = new Map();

const list = document.getElementById("torrent-list");
const empty = document.getElementById("empty");
const count = document.getElementById("count");
const chart = new RateChart(document.getElementById("chart"));
const detail = new Detail({ confirmRemove, act });

function stateText(t) {
  if (t.state === "checking" && checking.has(t.infoHash)) {
    return `Checking ${formatPercent(checking.get(t.infoHash))}`;
  }
  return STATE_LABELS[t.state] ?? t.state;
}

function buildRow(t) {
  const name = h("button", {
    class: "t-name",
    type: "button",
    onclick: () => detail.open(t.infoHash, name),
  });
  const badge = h("span", { class: "badge" });
  const fill = h("div", { class: "fill" });
  const bar = h("div", {
    class: "progress",
    role: "progressbar",
    "aria-valuemin": 0,
    "aria-valuemax": 100,
  }, fill);
  const pct = h("span", { class: "pct" });
  const size = h("span", { class: "size" });
  const down = h("span", { class: "rate down", title: "Download rate" });
  const up = h("span", { class: "rate up", title: "Upload rate" });
  const peers = h("span", { class: "peers" });
  const eta = h("span", { class: "eta" });
  const ratio = h("span", { class: "ratio" });
  const error = h("p", { class: "t-error", hidden: true });
  const toggle = h("button", {
    class: "button small",
    type: "button",
    onclick: () => act(torrents.get(t.infoHash), toggle.dataset.action),
  });
  const remove = h("button", {
    class: "button small danger-outline",
    type: "button",
    onclick: () => confirmRemove(torrents.get(t.infoHash), remove),
  }, "Remove");
  const li = h(
    "li",
    { class: "torrent", dataset: { hash: t.infoHash } },
    h("div", { class: "t-head" }, name, badge),
    bar,
    h("div", { class: "t-stats" }, pct, size, down, up, peers, eta, ratio),
    error,
    h("div", { class: "t-actions" }, toggle, remove),
  );
  return {
    li,
    name,
    badge,
    bar,
    fill,
    pct,
    size,
    down,
    up,
    peers,
    eta,
    ratio,
    error,
    toggle,
    remove,
  };
}

function updateRow(t) {
  let row = rows.get(t.infoHash);
  if (!row) {
    row = buildRow(t);
    rows.set(t.infoHash, row);
    list.append(row.li);
  }
  const percent = Math.floor(Math.max(0, Math.min(1, t.progress)) * 1000) / 10;
  setText(row.name, t.name);
  row.name.setAttribute("aria-label", `Details of ${t.name}`);
  setText(row.badge, stateText(t));
  row.badge.className = `badge state-${t.state}`;
  row.li.classList.toggle("is-paused", t.state === "paused");
  row.li.classList.toggle("is-done", t.progress >= 1);
  row.bar.setAttribute("aria-valuenow", String(percent >= 100 ? 100 : percent));
  row.bar.setAttribute("aria-label", `Progress of ${t.name}`);
  row.fill.style.width = `${percent}%`;
  setText(row.pct, formatPercent(t.progress));
  setText(
    row.size,
    t.doneSize >= t.selectedSize
      ? formatBytes(t.selectedSize)
      : `${formatBytes(t.doneSize)} of ${formatBytes(t.selectedSize)}`,
  );
  setText(row.down, `↓ ${formatRate(t.downloadRate)}`);
  setText(row.up, `↑ ${formatRate(t.uploadRate)}`);
  setText(row.peers, `${t.peers} ${t.peers === 1 ? "peer" : "peers"}`);
  setText(row.eta, t.state === "downloading" ? `ETA ${formatEta(t.etaSeconds)}` : "");
  setText(row.ratio, `ratio ${t.ratio.toFixed(2)}`);
  row.error.hidden = !t.error;
  setText(row.error, t.error ?? "");
  const paused = t.state === "paused";
  row.toggle.dataset.action = paused ? "resume" : "pause";
  setText(row.toggle, paused ? "Resume" : "Pause");
  row.toggle.setAttribute("aria-label", `${paused ? "Resume" : "Pause"} ${t.name}`);
  row.remove.setAttribute("aria-label", `Remove ${t.name}`);
}

function refreshList() {
  empty.hidden = torrents.size > 0;
  setText(count, torrents.size > 0 ? String(torrents.size) : "");
}

function put(t) {
  torrents.set(t.infoHash, t);
  updateRow(t);
  refreshList();
  detail.summary(t);
}

function drop(infoHash) {
  torrents.delete(infoHash);
  checking.delete(infoHash);
  rows.get(infoHash)?.li.remove();
  rows.delete(infoHash);
  refreshList();
  detail.removed(infoHash);
}

async function act(t, action) {
  if (!t) return;
  try {
    put(await api(`/torrents/${t.infoHash}/${action}`, { method: "POST" }));
  } catch (error) {
    toast(error.message, "error");
  }
}

const confirmDialog = document.getElementById("confirm-remove");
const confirmName = document.getElementById("confirm-name");
const confirmDelete = document.getElementById("confirm-delete-data");
let removing = null;

function confirmRemove(t, opener) {
  if (!t) return;
  removing = { t, opener };
  setText(confirmName, t.name);
  confirmDelete.checked = false;
  confirmDialog.showModal();
}

confirmDialog.addEventListener("close", async () => {
  const pending = removing;
  removing = null;
  if (!pending) return;
  if (confirmDialog.returnValue !== "remove") {
    if (pending.opener?.isConnected) pending.opener.focus();
    return;
  }
  try {
    await api(`/torrents/${pending.t.infoHash}`, {
      method: "DELETE",
      query: confirmDelete.checked ? { deleteData: "1" } : {},
    });
    drop(pending.t.infoHash);
    toast(`Removed ${pending.t.name}${confirmDelete.checked ? " and its data" : ""}`);
    document.getElementById("torrents").focus();
  } catch (error) {
    toast(error.message, "error");
  }
});

function showStats(stats) {
  setText(document.getElementById("total-down"), formatRate(stats.downloadRate));
  setText(document.getElementById("total-up"), formatRate(stats.uploadRate));
  setText(document.getElementById("total-peers"), String(stats.connections));
  setText(
    document.getElementById("total-memory"),
    `${formatBytes(stats.memory.used)} / ${formatBytes(stats.memory.limit)}`,
  );
  chart.add(stats.downloadRate, stats.uploadRate);
}

const connection = document.getElementById("connection");
function showConnection(state) {
  connection.dataset.state = state;
  setText(connection, state === "open" ? "Live" : "Reconnecting…");
}

openEvents({
  history: (samples) => chart.load(samples),
  torrents(list) {
    const seen = new Set(list.map((t) => t.infoHash));
    for (const hash of [...torrents.keys()]) if (!seen.has(hash)) drop(hash);
    for (const t of list) put(t);
  },
  added: (e) => put(e.torrent),
  removed: (e) => drop(e.infoHash),
  progress: (e) => {
    checking.delete(e.torrent.infoHash);
    put(e.torrent);
  },
  state: (e) => {
    if (e.state !== "checking") checking.delete(e.infoHash);
    put(e.torrent);
  },
  metainfo: (e) => put(e.torrent),
  complete: (e) => {
    put(e.torrent);
    toast(`${e.torrent.name} is complete`);
  },
  checking: (e) => {
    checking.set(e.infoHash, e.total > 0 ? e.checked / e.total : 0);
    const t = torrents.get(e.infoHash);
    if (t) updateRow(t);
  },
  error: (e) => {
    const t = e.infoHash ? torrents.get(e.infoHash) : undefined;
    toast(t ? `${t.name}: ${e.message}` : e.message, "error");
  },
  stats: showStats,
}, showConnection);

setUpAdding();
// One GET first: it hands us the CSRF token for the requests that change things.
api("/stats").then(showStats).catch((error) => toast(error.message, "error"));
refreshList();
