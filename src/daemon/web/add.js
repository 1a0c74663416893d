// Adding torrents: the file picker, a file dropped anywhere on the page, a pasted magnet link.
import { api } from "./api.js";
import { toast } from "./dom.js";

function options() {
  return {
    paused: document.getElementById("opt-paused").checked,
    sequential: document.getElementById("opt-sequential").checked,
  };
}

async function addFile(file) {
  const { paused, sequential } = options();
  const query = {};
  if (paused) query.paused = "1";
  if (sequential) query.sequential = "1";
  try {
    const torrent = await api("/torrents", {
      method: "POST",
      body: await file.arrayBuffer(),
      type: "application/x-bittorrent",
      query,
    });
    toast(`Added ${torrent.name}`);
  } catch (error) {
    toast(`${file.name}: ${error.message}`, "error");
  }
}

async function addMagnet(magnet) {
  try {
    const torrent = await api("/torrents", { method: "POST", json: { magnet, ...options() } });
    toast(`Added ${torrent.name}`);
    return true;
  } catch (error) {
    toast(error.message, "error");
    return false;
  }
}

/** Wires the add panel and page-wide drag and drop. */
export function setUpAdding() {
  const input = document.getElementById("file-input");
  input.addEventListener("change", async () => {
    const files = [...input.files];
    input.value = "";
    for (const file of files) await addFile(file);
  });
  const form = document.getElementById("magnet-form");
  const magnet = document.getElementById("magnet-input");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = magnet.value.trim();
    if (!text) return magnet.focus();
    if (await addMagnet(text)) magnet.value = "";
  });
  let depth = 0;
  const hasFiles = (event) => [...(event.dataTransfer?.types ?? [])].includes("Files");
  document.addEventListener("dragenter", (event) => {
    if (!hasFiles(event)) return;
    depth++;
    document.body.classList.add("dragging");
  });
  document.addEventListener("dragleave", () => {
    depth = Math.max(0, depth - 1);
    if (depth === 0) document.body.classList.remove("dragging");
  });
  document.addEventListener("dragover", (event) => {
    if (hasFiles(event)) event.preventDefault();
  });
  document.addEventListener("drop", async (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    depth = 0;
    document.body.classList.remove("dragging");
    for (const file of event.dataTransfer.files) await addFile(file);
  });
  // Pasting a magnet link anywhere (outside a text field) adds it.
  document.addEventListener("paste", async (event) => {
    const target = event.target;
    if (target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement) return;
    const text = event.clipboardData?.getData("text")?.trim() ?? "";
    if (text.startsWith("magnet:?")) {
      event.preventDefault();
      await addMagnet(text);
    }
  });
}
