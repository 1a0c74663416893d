// Calls a daemon's API the way its web page does: mutating requests carry a matching Origin.

/** An answer: status, headers and parsed JSON (or text). */
export interface ApiAnswer {
  status: number;
  headers: Headers;
  // deno-lint-ignore no-explicit-any
  body: any;
}

/** Calls `METHOD base/api/v1PATH`; a JSON `json`, or raw `body` with a `type`. */
export async function call(
  base: string,
  method: string,
  path: string,
  options: { json?: unknown; body?: Uint8Array; type?: string; headers?: Record<string, string> } =
    {},
): Promise<ApiAnswer> {
  const headers = new Headers(options.headers);
  if (method !== "GET" && method !== "HEAD" && !headers.has("origin")) headers.set("origin", base);
  let body: BodyInit | undefined;
  if (options.json !== undefined) {
    headers.set("content-type", "application/json");
    body = JSON.stringify(options.json);
  } else if (options.body) {
    headers.set("content-type", options.type ?? "application/x-bittorrent");
    body = options.body as Uint8Array<ArrayBuffer>;
  }
  const response = await fetch(`${base}/api/v1${path}`, { method, headers, body });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text === "" ? null : JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: response.status, headers: response.headers, body: parsed };
}
