import { decodePex, encodePex } from "../wire/pex.ts";
import { encodeIpAddress, formatPeerAddress, type PeerAddress } from "../wire/peer_address.ts";
import type { ExtensionHandshake } from "../wire/extension.ts";
import type { SwarmPeer } from "./swarm_peer.ts";
import { errorMessage } from "../util/printable.ts";

/** Our message id for ut_pex (BEP 11) in the extension handshake. */
export const UT_PEX_ID = 1;
/** How often each peer is told which peers joined and left (BEP 11: about once a minute). */
export const PEX_INTERVAL_MS = 60_000;
/** Most addresses one PEX message adds (and drops), as BEP 11 asks. */
export const PEX_MAX_PEERS = 50;

/**
 * Peer exchange (BEP 11) for one torrent: tells each peer that speaks ut_pex which peers
 * joined and left since the last time, about once a minute, and takes the addresses peers
 * tell us. Off for private torrents (BEP 27). Best effort: it never throws.
 */
export class PexExchange {
  /** `false` for a private torrent. */
  readonly enabled: boolean;
  readonly #peers: ReadonlyMap<string, SwarmPeer>;
  readonly #onAddresses: (addresses: readonly PeerAddress[]) => void;
  #lastRoundMs = 0;

  /**
   * Makes the exchange.
   * @param enabled `false` for a private torrent.
   * @param peers The torrent's connected peers.
   * @param onAddresses Where addresses learnt from peers go.
   */
  constructor(
    enabled: boolean,
    peers: ReadonlyMap<string, SwarmPeer>,
    onAddresses: (addresses: readonly PeerAddress[]) => void,
  ) {
    this.enabled = enabled;
    this.#peers = peers;
    this.#onAddresses = onAddresses;
  }

  /** The `m` entries we offer in our extension handshake. */
  get offered(): Record<string, number> {
    return this.enabled ? { ut_pex: UT_PEX_ID } : {};
  }

  /**
   * Reads the peer's extension handshake: its ut_pex id and listen port; sends it the first
   * PEX message at once.
   * @param peer The peer.
   * @param handshake Its decoded extension handshake.
   */
  onHandshake(peer: SwarmPeer, handshake: ExtensionHandshake): void {
    const pexId = handshake.m.ut_pex;
    peer.pexId = this.enabled && pexId !== undefined && pexId > 0 ? pexId : undefined;
    peer.listenPort = handshake.p;
    if (peer.pexId !== undefined) this.#trySend(peer);
  }

  /**
   * Handles a ut_pex message from a peer (ignored when it comes too often).
   * @param peer The peer.
   * @param payload The message payload.
   * @returns A reason to drop the peer (a malformed message), or `undefined`.
   */
  onMessage(peer: SwarmPeer, payload: Uint8Array): string | undefined {
    if (!this.enabled) return undefined;
    const now = performance.now();
    if (now - peer.lastPexAtMs < PEX_INTERVAL_MS / 4) return undefined; // too often: ignored
    peer.lastPexAtMs = now;
    let pex;
    try {
      pex = decodePex(payload);
    } catch (error) {
      return errorMessage(error);
    }
    this.#onAddresses([...pex.added, ...pex.added6].slice(0, PEX_MAX_PEERS));
    return undefined;
  }

  /**
   * Sends each peer its PEX message once the interval has passed.
   * @param nowMs The time.
   */
  tick(nowMs: number): void {
    if (nowMs - this.#lastRoundMs < PEX_INTERVAL_MS) return;
    this.#lastRoundMs = nowMs;
    for (const peer of this.#peers.values()) this.#trySend(peer);
  }

  /** Where a connected peer accepts connections, if we know it. */
  #listenAddressOf(peer: SwarmPeer): PeerAddress | undefined {
    if (!peer.outgoing && peer.listenPort === undefined) return undefined;
    const address = peer.outgoing
      ? peer.conn.remote
      : { host: peer.conn.remote.host, port: peer.listenPort! };
    try {
      encodeIpAddress(address.host); // PEX carries IP literals only (not names, not zones)
    } catch {
      return undefined;
    }
    return address;
  }

  /** Tells a peer which peers joined and left since the last time (never throws). */
  #trySend(peer: SwarmPeer): void {
    try {
      this.#send(peer);
    } catch {
      // an address we could not encode: skip this round for this peer
    }
  }

  #send(peer: SwarmPeer): void {
    if (peer.pexId === undefined) return;
    const current = new Map<string, PeerAddress>();
    for (const other of this.#peers.values()) {
      if (other === peer) continue;
      const address = this.#listenAddressOf(other);
      if (address) current.set(formatPeerAddress(address), address);
    }
    const added: PeerAddress[] = [];
    for (const [key, address] of current) {
      if (added.length >= PEX_MAX_PEERS) break;
      if (!peer.pexSent.has(key)) added.push(address);
    }
    const dropped: PeerAddress[] = [];
    for (const [key, address] of peer.pexSent) {
      if (dropped.length >= PEX_MAX_PEERS) break;
      if (!current.has(key)) dropped.push(address);
    }
    if (added.length === 0 && dropped.length === 0) return;
    for (const address of added) peer.pexSent.set(formatPeerAddress(address), address);
    for (const address of dropped) peer.pexSent.delete(formatPeerAddress(address));
    const v6 = (a: PeerAddress) => a.host.includes(":");
    const payload = encodePex({
      added: added.filter((a) => !v6(a)),
      added6: added.filter(v6),
      dropped: dropped.filter((a) => !v6(a)),
      dropped6: dropped.filter(v6),
    });
    peer.conn.send({ type: "extended", id: peer.pexId, payload }).catch(() => {});
  }
}
