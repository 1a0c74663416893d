// The daemon's HTTP API, as the page uses it. Every answer carries the CSRF token in
// X-Shoal-Csrf; mutating requests send it back (the browser adds a matching Origin too).

let csrfToken = "";

/**
 * Calls the API.
 * @param {string} path below /api/v1, e.g. "/torrents"
 * @param {{ method?: string, json?: unknown, body?: BodyInit, type?: string, query?: Record<string, string> }} [options]
 * @returns {Promise<any>} the parsed JSON answer
 * @throws {Error} with the daemon's `{ error }` message
 */
export async function api(path, options = {}) {
  const headers = new Headers();
  let body = options.body;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers.set("content-type", "application/json");
  } else if (options.type) headers.set("content-type", options.type);
  if (csrfToken) headers.set("x-shoal-csrf", csrfToken);
  const query = options.query ? `?${new URLSearchParams(options.query)}` : "";
  const response = await fetch(`/api/v1${path}${query}`, {
    method: options.method ?? "GET",
    headers,
    body,
    credentials: "same-origin",
  });
  const token = response.headers.get("x-shoal-csrf");
  if (token) csrfToken = token;
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    throw new Error(data?.error ?? `HTTP ${response.status}`);
  }
  return data;
}

/** URL of a file's stream. */
export function streamUrl(infoHash, index) {
  return `/api/v1/torrents/${infoHash}/files/${index}/stream`;
}

/**
 * Opens the event stream; reconnects by itself (EventSource does).
 * @param {Record<string, (data: any) => void>} handlers by event name
 * @param {(state: "open" | "closed") => void} onConnection
 * @returns {EventSource}
 */
export function openEvents(handlers, onConnection) {
  const source = new EventSource("/api/v1/events");
  for (const [name, handler] of Object.entries(handlers)) {
    source.addEventListener(name, (event) => {
      try {
        handler(JSON.parse(event.data));
      } catch (error) {
        console.error(error);
      }
    });
  }
  source.addEventListener("open", () => onConnection("open"));
  source.addEventListener("error", () => onConnection("closed"));
  return source;
}
