// Makes tests/daemon/fixtures/clock.webm, the small WebM the browser test streams: a 12-second
// 320x180 clock drawn on a canvas and recorded by headless Chromium's MediaRecorder (VP8), so
// no ffmpeg is needed. Run: deno run -A tests/daemon/make_webm.ts
import { Browser } from "./cdp_browser.ts";

const SECONDS = 12;
const OUT = new URL("./fixtures/clock.webm", import.meta.url);

await using browser = await Browser.launch({ limitMs: 60_000 });
const page = await browser.newPage();
const base64 = await page.evaluate<string>(`(async () => {
  const canvas = document.createElement("canvas");
  canvas.width = 320;
  canvas.height = 180;
  document.body.append(canvas);
  const ctx = canvas.getContext("2d");
  const started = performance.now();
  const draw = () => {
    const t = (performance.now() - started) / 1000;
    ctx.fillStyle = "hsl(" + ((t * 30) % 360) + " 60% 35%)";
    ctx.fillRect(0, 0, 320, 180);
    ctx.fillStyle = "#fff";
    ctx.font = "bold 64px sans-serif";
    ctx.fillText(t.toFixed(1) + " s", 40, 110);
    ctx.fillRect((t * 60) % 320, 150, 40, 12);
  };
  draw();
  const timer = setInterval(draw, 1000 / 30);
  const stream = canvas.captureStream(30);
  const recorder = new MediaRecorder(stream, {
    mimeType: "video/webm;codecs=vp8",
    videoBitsPerSecond: 250000,
  });
  const chunks = [];
  recorder.ondataavailable = (e) => chunks.push(e.data);
  const stopped = new Promise((resolve) => (recorder.onstop = resolve));
  recorder.start(1000);
  await new Promise((resolve) => setTimeout(resolve, ${SECONDS * 1000}));
  recorder.stop();
  await stopped;
  clearInterval(timer);
  const bytes = new Uint8Array(await new Blob(chunks, { type: "video/webm" }).arrayBuffer());
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
})()`);
const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
await Deno.writeFile(OUT, bytes);
console.log(`wrote ${OUT.pathname}: ${bytes.length} bytes`);
