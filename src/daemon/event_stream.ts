import type { DaemonEvent } from "./daemon_event.ts";
import type { TorrentSummary } from "./torrent_json.ts";

/** How often the event stream sends the client's totals (`stats`). */
export const STATS_INTERVAL_MS = 1000;

const encoder = new TextEncoder();

/**
 * Formats one Server-Sent Event: its name and one `data:` line of JSON (JSON never holds a raw
 * newline, so one line is always enough).
 * @param name The event name.
 * @param data Its payload.
 * @returns The event's bytes, with the blank line that ends it.
 * @example
 * ```ts
 * import { formatServerSentEvent } from "@shoal/shoal/daemon";
 * import { strictEqual } from "node:assert/strict";
 * const text = new TextDecoder().decode(formatServerSentEvent("removed", { infoHash: "ab" }));
 * strictEqual(text, 'event: removed\ndata: {"infoHash":"ab"}\n\n');
 * ```
 */
export function formatServerSentEvent(name: string, data: unknown): Uint8Array {
  return encoder.encode(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
}

/** What an event stream reads. */
export interface EventStreamSource {
  /** The daemon's events from now on. */
  events(): AsyncIterable<DaemonEvent>;
  /** Every torrent now (sent first, as `torrents`). */
  snapshot(): TorrentSummary[];
  /** The client's totals now (sent every second, as `stats`). */
  stats(): unknown;
  /** The rates of the last minutes (sent once, first, as `history`), if kept. */
  history?(): unknown;
}

/**
 * Answers `GET /api/v1/events` with Server-Sent Events: first `history` (the rates of the last
 * minutes, when kept), `torrents` (every torrent now) and `stats`, then each {@linkcode DaemonEvent} under its type's name, and `stats` every
 * second. It subscribes before taking the snapshot, so nothing falls between the two. The
 * stream ends when the browser goes away or `signal` aborts (the daemon stops).
 * @param source The daemon's events, torrents and totals.
 * @param signal Ends the stream.
 * @returns The `text/event-stream` answer.
 * @example
 * ```ts
 * import { eventStreamResponse } from "@shoal/shoal/daemon";
 * import { ok } from "node:assert/strict";
 * // A source whose events end at once: the stream sends the snapshot, then ends.
 * const response = eventStreamResponse({
 *   events: async function* () {},
 *   snapshot: () => [],
 *   stats: () => ({ torrents: 0 }),
 * }, new AbortController().signal);
 * const text = await response.text();
 * ok(text.includes("event: torrents\ndata: []\n\n"));
 * ok(text.includes('event: stats\ndata: {"torrents":0}'));
 * ```
 */
export function eventStreamResponse(source: EventStreamSource, signal: AbortSignal): Response {
  const events = source.events()[Symbol.asyncIterator]();
  let timer: ReturnType<typeof setInterval> | undefined;
  const stopped = Promise.withResolvers<"stopped">();
  let done = false;
  const stop = () => {
    if (done) return;
    done = true;
    clearInterval(timer);
    stopped.resolve("stopped");
    signal.removeEventListener("abort", stop);
    // Runs once any pending read settles (at the next event, or when the hub closes).
    events.return?.();
  };
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const send = (name: string, data: unknown) => {
        if (!done) controller.enqueue(formatServerSentEvent(name, data));
      };
      controller.enqueue(encoder.encode("retry: 3000\n\n"));
      if (source.history) send("history", source.history());
      send("torrents", source.snapshot());
      send("stats", source.stats());
      timer = setInterval(() => send("stats", source.stats()), STATS_INTERVAL_MS);
      signal.addEventListener("abort", stop, { once: true });
      if (signal.aborted) stop();
      (async () => {
        while (!done) {
          const next = await Promise.race([events.next(), stopped.promise]);
          if (next === "stopped" || next.done) break;
          send(next.value.type, next.value);
        }
        stop();
        try {
          controller.close();
        } catch {
          // cancelled by the reader already
        }
      })();
    },
    cancel() {
      stop();
    },
  });
  return new Response(body, {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      "x-accel-buffering": "no",
    },
  });
}
