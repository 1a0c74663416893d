// A tiny HTTP tracker on 127.0.0.1 for the daemon tests: it answers every announce with the
// peers it is given (compact, BEP 23) and records every announce it receives, so a test can
// see a daemon's "started" and "stopped" announces.

/** One announce the tracker received. */
export interface Announce {
  /** Info hash, 40 lowercase hex digits. */
  infoHash: string;
  /** `started`, `stopped`, `completed` or `""` (a regular one). */
  event: string;
  /** The announcing peer's port. */
  port: number;
}

function decodeQueryBytes(text: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === "%" && i + 2 < text.length) {
      out.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else out.push(text[i] === "+" ? 32 : text.charCodeAt(i));
  }
  return new Uint8Array(out);
}

function parseAnnounce(url: string): Announce | undefined {
  const query = url.slice(url.indexOf("?") + 1);
  const fields = new Map<string, string>();
  for (const pair of query.split("&")) {
    const eq = pair.indexOf("=");
    if (eq > 0) fields.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  const raw = fields.get("info_hash");
  if (raw === undefined) return undefined;
  const hash = decodeQueryBytes(raw);
  if (hash.length !== 20) return undefined;
  return {
    infoHash: [...hash].map((b) => b.toString(16).padStart(2, "0")).join(""),
    event: fields.get("event") ?? "",
    port: Number(fields.get("port") ?? 0),
  };
}

/** A running fixed-peer tracker. */
export class FixedTracker implements AsyncDisposable {
  /** `http://127.0.0.1:PORT/announce`. */
  readonly url: string;
  /** Peers handed out (change it at any time). */
  peers: { host: string; port: number }[] = [];
  /** Every announce received, in order. */
  readonly announces: Announce[] = [];
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly #waiters = new Set<{ test: (a: Announce) => boolean; resolve: () => void }>();

  constructor() {
    this.#server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
      const announce = parseAnnounce(req.url);
      if (announce) {
        this.announces.push(announce);
        for (const waiter of this.#waiters) {
          if (waiter.test(announce)) {
            this.#waiters.delete(waiter);
            waiter.resolve();
          }
        }
      }
      return new Response(this.#reply(), { headers: { "content-type": "text/plain" } });
    });
    this.url = `http://127.0.0.1:${this.#server.addr.port}/announce`;
  }

  #reply(): Uint8Array<ArrayBuffer> {
    const compact = new Uint8Array(this.peers.length * 6);
    this.peers.forEach((peer, i) => {
      compact.set(peer.host.split(".").map(Number), i * 6);
      new DataView(compact.buffer).setUint16(i * 6 + 4, peer.port);
    });
    const head = new TextEncoder().encode(
      `d8:completei1e10:incompletei0e8:intervali30e12:min intervali1e5:peers${compact.length}:`,
    );
    const out = new Uint8Array(head.length + compact.length + 1);
    out.set(head);
    out.set(compact, head.length);
    out[out.length - 1] = 0x65;
    return out;
  }

  /** Resolves at the first announce (already received or to come) that `test` accepts. */
  waitFor(test: (a: Announce) => boolean): Promise<void> {
    if (this.announces.some(test)) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.add({ test, resolve }));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#server.shutdown();
  }
}
