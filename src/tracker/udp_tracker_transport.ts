import { lookup } from "node:dns/promises";
import { TrackerError } from "./tracker_error.ts";
import type { HostLookup } from "./types.ts";
import { openUdpSocket, type UdpSocket } from "./udp_socket.ts";
import {
  decodeUdpTrackerResponse,
  encodeUdpConnectRequest,
  type UdpTrackerResponse,
} from "./udp_tracker_packets.ts";

/** How long a BEP 15 connection id may be used after it was received. */
export const UDP_CONNECTION_ID_TTL_MS: number = 60_000;
/** BEP 15's first retransmit timeout (15 s, doubled after every retransmission). */
export const DEFAULT_UDP_RETRANSMIT_BASE_MS: number = 15_000;
/** How many times shoal resends a UDP tracker request (BEP 15 allows 8; 3 bounds it to 225 s). */
export const DEFAULT_UDP_MAX_RETRANSMITS: number = 3;

/**
 * The first UDP retransmit timeout for a time budget: BEP 15's 15 s, or a quarter of the budget
 * when that is shorter, so that three tries (at 0, 1/4 and 3/4 of the budget) fit in it.
 * @param budgetMs The time budget (`Infinity` for none).
 * @param base The caller's choice, which wins when given.
 * @returns The first retransmit timeout in milliseconds.
 */
export function udpRetransmitBaseMs(budgetMs: number, base: number | undefined): number {
  return base ?? Math.min(DEFAULT_UDP_RETRANSMIT_BASE_MS, budgetMs / 4);
}

/** A UDP tracker's resolved address. */
export interface UdpTrackerTarget {
  /** The tracker's URL. */
  url: string;
  /** Its IP address (IPv6 without brackets). */
  address: string;
  /** Its UDP port. */
  port: number;
  /** 4 or 6. */
  family: 4 | 6;
}

/** Options of one UDP tracker exchange. */
export interface UdpExchangeOptions {
  /** Aborts the exchange. */
  signal: AbortSignal;
  /** First retransmit timeout. */
  retransmitBaseMs?: number;
  /** Resends before giving up. */
  maxRetransmits?: number;
  /** How long a connection id is used; {@linkcode UDP_CONNECTION_ID_TTL_MS} by default. */
  connectionIdTtlMs?: number;
  /** Told each step ("waiting for the connect reply"), for time-out messages. */
  onStage?: (step: string) => void;
}

const connectionIds = new Map<string, { id: bigint; expiresAt: number }>();

function cacheKey(target: UdpTrackerTarget): string {
  return `${target.address}|${target.port}`;
}

function randomTransactionId(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0];
}

function ipFamily(host: string): 4 | 6 | undefined {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(host)) return 4;
  if (host.includes(":")) return 6;
  return undefined;
}

/**
 * The host of a tracker URL, for messages (the URL itself when it does not parse).
 * @param url The tracker URL.
 * @returns Its host name or address.
 */
export function hostOf(url: string): string {
  try {
    return new URL(url).hostname || url;
  } catch {
    return url;
  }
}

/** The system resolver, through `node:dns` (which cannot be cancelled). */
const systemLookup: HostLookup = async (host, { family }) => {
  const all = await lookup(host, { family: family ?? 0, all: true });
  return all.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

/**
 * Parses a `udp://host:port/...` URL and resolves its host to one IP address. The wait ends
 * when `signal` aborts, even if the look-up itself never returns.
 * @param url The tracker URL.
 * @param family The address family wanted (that of a given socket), or undefined for either.
 * @param signal Aborts the lookup.
 * @param lookupHost Resolves the host name (default: the system resolver).
 * @returns The resolved target.
 * @throws {TrackerError} If the URL is not a UDP URL with a port, or the host does not resolve.
 */
export async function resolveUdpTracker(
  url: string,
  family: 4 | 6 | undefined,
  signal: AbortSignal,
  lookupHost: HostLookup = systemLookup,
): Promise<UdpTrackerTarget> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new TrackerError(`Cannot announce to ${url}: not a valid URL`, url, { cause: error });
  }
  let host = parsed.hostname;
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  const port = Number(parsed.port);
  if (parsed.protocol !== "udp:" || host === "" || !(port > 0 && port <= 65535)) {
    throw new TrackerError(`Cannot announce to ${url}: want udp://host:port`, url);
  }
  const literal = ipFamily(host);
  if (literal !== undefined) {
    if (family !== undefined && literal !== family) {
      throw new TrackerError(
        `Cannot announce to ${url}: an IPv${literal} tracker over an IPv${family} socket`,
        url,
      );
    }
    return { url, address: host, port, family: literal };
  }
  signal.throwIfAborted();
  let aborted: (() => void) | undefined;
  const abort = new Promise<never>((_, reject) => {
    aborted = () => reject(signal.reason);
    signal.addEventListener("abort", aborted, { once: true });
  });
  try {
    const all = await Promise.race([lookupHost(host, { family, signal }), abort]);
    // Prefer IPv4 when both exist: most UDP trackers listen there.
    const found = all.find((a) => a.family === 4) ?? all[0];
    if (!found) throw new Error(`no address for ${host}`);
    return { url, address: found.address, port, family: found.family === 6 ? 6 : 4 };
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    throw new TrackerError(`Cannot announce to ${url}: cannot resolve ${host}`, url, {
      cause: error,
    });
  } finally {
    if (aborted) signal.removeEventListener("abort", aborted);
  }
}

/**
 * Runs `operation` with the caller's socket, or with a temporary socket of the target's family
 * that is closed afterwards.
 * @param socket The caller's socket, if any.
 * @param family The family for a temporary socket.
 * @param operation The work.
 * @returns What `operation` returns.
 */
export async function withUdpSocket<T>(
  socket: UdpSocket | undefined,
  family: 4 | 6,
  operation: (socket: UdpSocket) => Promise<T>,
): Promise<T> {
  if (socket) return await operation(socket);
  await using temporary = await openUdpSocket({ host: family === 6 ? "::" : "0.0.0.0" });
  return await operation(temporary);
}

/**
 * Sends a request and waits for the matching response (same sender, transaction id and action,
 * or an error packet), resending after `base * 2^n` ms (BEP 15). Packets that are short,
 * malformed, from elsewhere or for another transaction are ignored.
 * @param socket The socket.
 * @param target The tracker.
 * @param makePacket Builds the request for a transaction id.
 * @param expected The response type wanted.
 * @param options `signal`, `retransmitBaseMs`, `maxRetransmits`.
 * @returns The response (never an error packet).
 * @throws {TrackerError} On an error packet (with the tracker's message) or after the last retry.
 */
export function exchangeUdp<K extends UdpTrackerResponse["type"]>(
  socket: UdpSocket,
  target: UdpTrackerTarget,
  makePacket: (transactionId: number) => Uint8Array,
  expected: K,
  options: UdpExchangeOptions,
): Promise<Extract<UdpTrackerResponse, { type: K }>> {
  const { signal } = options;
  const base = options.retransmitBaseMs ?? DEFAULT_UDP_RETRANSMIT_BASE_MS;
  const maxRetransmits = options.maxRetransmits ?? DEFAULT_UDP_MAX_RETRANSMITS;
  const transactionId = randomTransactionId();
  const { url } = target;
  options.onStage?.(`waiting for the ${expected} reply`);
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    let attempt = 0;
    const finish = (): void => {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      off();
      signal.removeEventListener("abort", onAbort);
    };
    const fail = (error: unknown): void => {
      finish();
      reject(error);
    };
    const onAbort = (): void => fail(signal.reason);
    const off = socket.onMessage((message) => {
      if (message.port !== target.port || !sameAddress(message.host, target.address)) return;
      const response = decodeUdpTrackerResponse(message.data, target.family);
      if (!response || response.transactionId !== transactionId) return;
      if (response.type === "error") {
        fail(
          new TrackerError(`Tracker ${url} refused the ${expected}: ${response.message}`, url, {
            failureReason: response.message,
          }),
        );
      } else if (response.type === expected) {
        finish();
        resolve(response as Extract<UdpTrackerResponse, { type: K }>);
      }
    });
    let packet: Uint8Array;
    const send = (): void => {
      try {
        packet = makePacket(transactionId); // again on each try: it may carry an expiring id
      } catch (error) {
        fail(error);
        return;
      }
      socket.send(packet, target.address, target.port).catch(() => {
        // Lost like any datagram; the retransmit timer covers it.
      });
      const wait = base * 2 ** attempt;
      timer = setTimeout(() => {
        timer = undefined;
        if (attempt >= maxRetransmits) {
          fail(
            new TrackerError(
              `Cannot ${expected} to ${url}: no answer after ${attempt + 1} tries`,
              url,
            ),
          );
          return;
        }
        attempt++;
        send();
      }, wait);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    send();
  });
}

function sameAddress(a: string, b: string): boolean {
  const strip = (s: string): string => s.toLowerCase().replace(/^::ffff:(?=\d+\.)/, "");
  return strip(a) === strip(b);
}

/**
 * Gets a connection id for the tracker (BEP 15), from the cache while younger than
 * {@linkcode UDP_CONNECTION_ID_TTL_MS}, else by a connect exchange.
 * @param socket The socket.
 * @param target The tracker.
 * @param options Exchange options.
 * @returns The connection id.
 * @throws {TrackerError} If the tracker does not answer or refuses.
 */
export async function connectUdpTracker(
  socket: UdpSocket,
  target: UdpTrackerTarget,
  options: UdpExchangeOptions,
): Promise<bigint> {
  return (await udpConnection(socket, target, options)).id;
}

async function udpConnection(
  socket: UdpSocket,
  target: UdpTrackerTarget,
  options: UdpExchangeOptions,
): Promise<{ id: bigint; expiresAt: number }> {
  const key = cacheKey(target);
  const cached = connectionIds.get(key);
  if (cached && cached.expiresAt > Date.now()) return cached;
  connectionIds.delete(key);
  const response = await exchangeUdp(socket, target, encodeUdpConnectRequest, "connect", options);
  const ttl = options.connectionIdTtlMs ?? UDP_CONNECTION_ID_TTL_MS;
  const fresh = { id: response.connectionId, expiresAt: Date.now() + ttl };
  connectionIds.set(key, fresh);
  if (connectionIds.size > 1024) {
    const now = Date.now();
    for (const [k, v] of connectionIds) if (v.expiresAt <= now) connectionIds.delete(k);
  }
  return fresh;
}

/** A connection id ran out between retransmissions; the caller connects again. */
class ConnectionIdExpired extends Error {}

/**
 * Connects (or reuses a connection id) and exchanges one request that carries the id (BEP 15
 * announce or scrape). An id is never sent once older than {@linkcode UDP_CONNECTION_ID_TTL_MS}:
 * a retransmission that would do so connects again first. A tracker that stops answering has
 * its cached id forgotten.
 * @param socket The socket.
 * @param target The tracker.
 * @param makePacket Builds the request from a connection id and a transaction id.
 * @param expected The response type wanted.
 * @param options `signal`, `retransmitBaseMs`, `maxRetransmits`.
 * @returns The response.
 * @throws {TrackerError} On an error packet or when the tracker does not answer.
 */
export async function exchangeConnectedUdp<K extends "announce" | "scrape">(
  socket: UdpSocket,
  target: UdpTrackerTarget,
  makePacket: (connectionId: bigint, transactionId: number) => Uint8Array,
  expected: K,
  options: UdpExchangeOptions,
): Promise<Extract<UdpTrackerResponse, { type: K }>> {
  for (let round = 0;; round++) {
    const { id, expiresAt } = await udpConnection(socket, target, options);
    try {
      return await exchangeUdp(
        socket,
        target,
        (transactionId) => {
          if (Date.now() >= expiresAt) throw new ConnectionIdExpired();
          return makePacket(id, transactionId);
        },
        expected,
        options,
      );
    } catch (error) {
      if (error instanceof ConnectionIdExpired && round < 3) {
        forgetUdpConnection(target);
        continue;
      }
      if (error instanceof ConnectionIdExpired) {
        throw new TrackerError(`Cannot ${expected} to ${target.url}: no answer`, target.url);
      }
      if (error instanceof TrackerError && error.failureReason === undefined) {
        forgetUdpConnection(target);
      }
      throw error;
    }
  }
}

/**
 * Forgets a tracker's cached connection id (after it stopped answering).
 * @param target The tracker.
 */
export function forgetUdpConnection(target: UdpTrackerTarget): void {
  connectionIds.delete(cacheKey(target));
}
