/** The web page's files (in `src/daemon/web/`) and their types; nothing else is served. */
export const WEB_FILES: Readonly<Record<string, string>> = {
  "index.html": "text/html; charset=utf-8",
  "style.css": "text/css; charset=utf-8",
  "torrents.css": "text/css; charset=utf-8",
  "app.js": "text/javascript; charset=utf-8",
  "api.js": "text/javascript; charset=utf-8",
  "add.js": "text/javascript; charset=utf-8",
  "chart.js": "text/javascript; charset=utf-8",
  "detail.js": "text/javascript; charset=utf-8",
  "dom.js": "text/javascript; charset=utf-8",
  "format.js": "text/javascript; charset=utf-8",
  "icon.svg": "image/svg+xml",
};

/** The page's `Content-Security-Policy`: its own scripts, styles, API and streams only. */
export const PAGE_CSP: string = "default-src 'none'; script-src 'self'; style-src 'self'; " +
  "img-src 'self' data:; media-src 'self'; connect-src 'self'; form-action 'none'; " +
  "frame-ancestors 'none'; base-uri 'none'";

/** One file of the page, in memory. */
export interface WebAsset {
  /** Its bytes. */
  readonly body: Uint8Array<ArrayBuffer>;
  /** Its `Content-Type`. */
  readonly type: string;
}

async function readAsset(url: URL): Promise<Uint8Array<ArrayBuffer>> {
  if (url.protocol === "file:") return await Deno.readFile(url);
  const response = await fetch(url); // served from a URL (deno run https://...)
  if (!response.ok) throw new Error(`Cannot load ${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

/**
 * Loads the web page's files, found next to this module through `import.meta.url`; this also
 * works in a binary made with `deno compile --include src/daemon/web`, where they are embedded.
 * @param base The folder holding them (default: `./web/` beside this module).
 * @returns File name -> bytes and type.
 * @throws {Error} If a file is missing (a binary compiled without `--include src/daemon/web`).
 * @example
 * ```ts
 * import { loadWebAssets } from "@shoal/shoal/daemon";
 * import { ok } from "node:assert/strict";
 * const assets = await loadWebAssets();
 * ok(assets.get("index.html")!.body.length > 0);
 * ```
 */
export async function loadWebAssets(
  base: URL = new URL("./web/", import.meta.url),
): Promise<Map<string, WebAsset>> {
  const assets = new Map<string, WebAsset>();
  for (const [name, type] of Object.entries(WEB_FILES)) {
    try {
      assets.set(name, { body: await readAsset(new URL(name, base)), type });
    } catch (error) {
      throw new Error(
        `Cannot load the web page's ${name} from ${base}: ${(error as Error).message}` +
          " (a compiled binary needs --include src/daemon/web)",
        { cause: error },
      );
    }
  }
  return assets;
}

/**
 * Answers a request for the page: `/` is `index.html`; other names are looked up in the fixed
 * list (no path from the request ever reaches the file system).
 * @param assets The loaded files.
 * @param pathname The request's path.
 * @param method The request's method.
 * @returns The answer, or `undefined` if the path is not one of the page's files.
 * @example
 * ```ts
 * import { serveWebAsset } from "@shoal/shoal/daemon";
 * import { strictEqual } from "node:assert/strict";
 * const assets = new Map([["index.html", { body: new Uint8Array([60]), type: "text/html" }]]);
 * strictEqual(serveWebAsset(assets, "/", "GET")?.status, 200);
 * strictEqual(serveWebAsset(assets, "/../etc/passwd", "GET"), undefined);
 * ```
 */
export function serveWebAsset(
  assets: ReadonlyMap<string, WebAsset>,
  pathname: string,
  method: string,
): Response | undefined {
  if (method !== "GET" && method !== "HEAD") return undefined;
  const name = pathname === "/" ? "index.html" : pathname.slice(1);
  const asset = assets.get(name);
  if (!asset) return undefined;
  return new Response(method === "HEAD" ? null : asset.body, {
    headers: {
      "content-type": asset.type,
      "content-length": String(asset.body.length),
      "content-security-policy": PAGE_CSP,
      "cache-control": "no-cache",
    },
  });
}
