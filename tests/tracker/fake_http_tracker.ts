/** A scriptable HTTP tracker on 127.0.0.1 for the tracker tests. */
export interface FakeHttpTracker extends AsyncDisposable {
  /** `http://127.0.0.1:PORT/announce` */
  url: string;
  /** The raw request targets (path and query, exactly as sent) in arrival order. */
  requests: string[];
}

/**
 * Starts a tracker whose every answer comes from `respond` (given the raw query string).
 * Pending handlers are released when it is disposed.
 */
export function startFakeHttpTracker(
  respond: (query: string, release: Promise<void>) => Response | Promise<Response>,
): Promise<FakeHttpTracker> {
  const requests: string[] = [];
  let releaseAll!: () => void;
  const release = new Promise<void>((resolve) => (releaseAll = resolve));
  return new Promise((resolve) => {
    const server = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      onListen: ({ port }) => {
        let disposed: Promise<void> | undefined;
        resolve({
          url: `http://127.0.0.1:${port}/announce`,
          requests,
          [Symbol.asyncDispose]: () => {
            disposed ??= (async () => {
              releaseAll();
              await server.shutdown();
            })();
            return disposed;
          },
        });
      },
    }, (request) => {
      const raw = request.url.slice(request.url.indexOf("/", "http://".length));
      requests.push(raw);
      const query = raw.includes("?") ? raw.slice(raw.indexOf("?") + 1) : "";
      return respond(query, release);
    });
  });
}
