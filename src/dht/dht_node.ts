import { equalBytes } from "../bytes/bytes.ts";
import { openUdpSocket, type UdpMessage, type UdpSocket } from "../tracker/udp_socket.ts";
import { DEFAULT_BOOTSTRAP_NODES, resolveBootstrapNodes } from "./bootstrap_nodes.ts";
import type { DhtContact } from "./compact_nodes.ts";
import {
  addressFamily,
  addressKey,
  canonicalHost,
  type DhtAddress,
  isUsableAddress,
} from "./dht_address.ts";
import { answerQuery } from "./dht_responder.ts";
import { loadDhtState, saveDhtState } from "./dht_state.ts";
import { DhtTokens } from "./dht_tokens.ts";
import type { AnnounceResult, DhtNodeOptions, DhtStats } from "./dht_types.ts";
import { ExternalAddressVotes } from "./external_address_votes.ts";
import { FloodGuard } from "./flood_guard.ts";
import { type LookupOutcome, type LookupQuery, runLookup } from "./iterative_lookup.ts";
import {
  decodeKrpc,
  encodeKrpc,
  type KrpcMessage,
  type KrpcQuery,
  type KrpcQueryBody,
} from "./krpc.ts";
import { KrpcError } from "./krpc_error.ts";
import { type KrpcReply, KrpcTransactions } from "./krpc_transactions.ts";
import type { LookupContact } from "./lookup.ts";
import { NODE_ID_BYTES, randomNodeId } from "./node_id.ts";
import { PeerFeed } from "./peer_feed.ts";
import { PeerStore } from "./peer_store.ts";
import { DEFAULT_MAX_QUERIES_PER_SECOND, QueryPacer } from "./query_pacer.ts";
import { BUCKET_SIZE, RoutingTable } from "./routing_table.ts";
import { isLocalAddress, isSecureNodeId, secureNodeId } from "./secure_node_id.ts";

/** How often the node does its upkeep (pings, bucket refresh, expiry, re-bootstrap). */
export const MAINTENANCE_INTERVAL_MS = 60_000;
/** How often the state file is rewritten while the node runs. */
export const SAVE_INTERVAL_MS = 5 * 60_000;
/** Questionable nodes pinged per table per upkeep round. */
const PINGS_PER_ROUND = 8;
/** Stale buckets refreshed per table per upkeep round. */
const REFRESHES_PER_ROUND = 4;
/** Distinct nodes pinged because they queried us, per upkeep round. */
const MAX_RECENT_PINGS = 256;

type Family = 4 | 6;

/**
 * A DHT node (BEP 5 with BEP 32 IPv6, BEP 42 ids and BEP 43 read-only mode) on one UDP socket:
 * it answers queries, keeps its routing table(s) fresh, and runs lookups and announces. Every
 * packet is checked by {@linkcode decodeKrpc}; senders that flood are ignored for a while;
 * outgoing queries are rate limited; tables, pending queries, the peer store and the flood
 * tracker are all capped.
 * @example
 * ```ts
 * import { DhtNode } from "@shoal/shoal/dht";
 * import { ok } from "node:assert/strict";
 * await using a = await DhtNode.open({ host: "127.0.0.1", bootstrap: [] });
 * await using b = await DhtNode.open({ host: "127.0.0.1", bootstrap: [{ host: "127.0.0.1", port: a.port }] });
 * await b.bootstrap();
 * ok(b.stats().ipv4!.good >= 1);
 * ```
 */
export class DhtNode implements AsyncDisposable {
  #socket: UdpSocket;
  #readOnly: boolean;
  #fixedId: boolean;
  #ownId: Uint8Array;
  #tables = new Map<Family, RoutingTable>();
  #now: () => number;
  #tokens: DhtTokens;
  #peers = new PeerStore();
  #flood = new FloodGuard();
  #pacer: QueryPacer;
  #transactions = new KrpcTransactions();
  #votes = new ExternalAddressVotes();
  #bootstrapEntries: readonly DhtAddress[];
  #bootstrapNodes: Promise<DhtAddress[]> | undefined;
  #bootstrapping: Promise<number> | undefined;
  #recentPings = new Set<string>();
  #stateFile: string | undefined;
  #lastSave: number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #abort = new AbortController();
  #closing: Promise<void> | undefined;
  #offSignal: () => void = () => {};
  #packetsIn = 0;
  #packetsOut = 0;
  #dropped = 0;

  private constructor(
    socket: UdpSocket,
    options: DhtNodeOptions,
    saved: { nodeId: Uint8Array; nodes: DhtContact[] } | undefined,
  ) {
    this.#socket = socket;
    this.#now = options.now ?? Date.now;
    this.#tokens = new DhtTokens(this.#now());
    this.#lastSave = this.#now();
    this.#readOnly = options.readOnly ?? false;
    this.#fixedId = options.nodeId !== undefined;
    this.#ownId = (options.nodeId ?? saved?.nodeId ?? randomNodeId()).slice();
    this.#stateFile = options.stateFile;
    this.#pacer = new QueryPacer(options.maxQueriesPerSecond ?? DEFAULT_MAX_QUERIES_PER_SECOND);
    const now = this.#now();
    const host = options.host ?? "0.0.0.0";
    if (socket.family === 4 || canonicalHost(host) === "::") {
      this.#tables.set(4, new RoutingTable(this.#ownId, now));
    }
    if (socket.family === 6) this.#tables.set(6, new RoutingTable(this.#ownId, now));
    for (const node of saved?.nodes ?? []) {
      this.#tables.get(addressFamily(node.host))?.addUnverified(node, now);
    }
    const hasSaved = (saved?.nodes.length ?? 0) > 0;
    this.#bootstrapEntries = options.bootstrap ?? (hasSaved ? [] : DEFAULT_BOOTSTRAP_NODES);
  }

  /**
   * Binds the UDP socket, loads the state file, and starts bootstrapping in the background (a
   * lookup of our own id from the saved nodes, the `bootstrap` nodes, or, when neither exists,
   * the public routers).
   * @param options Port, address, bootstrap nodes, read-only mode, state file, id, rate, signal.
   * @returns The running node; close it (or `await using` it).
   * @throws {Error} If the socket cannot be bound, or `signal` is already aborted.
   * @throws {RangeError} If `nodeId` is not 20 bytes.
   */
  static async open(options: DhtNodeOptions = {}): Promise<DhtNode> {
    options.signal?.throwIfAborted();
    if (options.nodeId && options.nodeId.length !== NODE_ID_BYTES) {
      throw new RangeError(`Cannot open DHT node: node id of ${options.nodeId.length} bytes`);
    }
    const saved = options.stateFile ? await loadDhtState(options.stateFile) : undefined;
    const socket = await openUdpSocket({ host: options.host ?? "0.0.0.0", port: options.port });
    const node = new DhtNode(socket, options, saved);
    node.#start(options.signal);
    return node;
  }

  /** The bound UDP port. */
  get port(): number {
    return this.#socket.localPort;
  }

  /** Our node id (a copy). */
  get nodeId(): Uint8Array {
    return this.#ownId.slice();
  }

  /** The external address agreed by vote, or `undefined`. */
  get externalAddress(): string | undefined {
    return this.#votes.agreed;
  }

  #start(signal: AbortSignal | undefined): void {
    this.#socket.onMessage((message) => this.#onPacket(message));
    if (signal) {
      const onAbort = (): void => void this.close();
      signal.addEventListener("abort", onAbort, { once: true });
      this.#offSignal = () => signal.removeEventListener("abort", onAbort);
    }
    this.#scheduleMaintenance();
    void this.bootstrap();
  }

  /**
   * Looks up our own id (BEP 5 start-up) from the table and the bootstrap nodes; concurrent calls
   * share one run.
   * @returns The number of nodes in the tables afterwards.
   */
  bootstrap(): Promise<number> {
    this.#bootstrapping ??= (async () => {
      try {
        await Promise.all(
          [...this.#tables.keys()].map((family) =>
            this.#lookup(this.#ownId, "find_node", family, undefined, this.#abort.signal)
          ),
        );
      } finally {
        this.#bootstrapping = undefined;
      }
      return this.#tableSize();
    })();
    return this.#bootstrapping;
  }

  /**
   * Adds a node we heard of (a peer's BEP 5 PORT message, a torrent's `nodes` key): it is pinged
   * and enters the routing table if it answers. While the table is small, a bootstrap follows.
   * @param address The node's host (IP literal or name) and UDP port.
   */
  addNode(address: DhtAddress): void {
    if (this.#closing || !Number.isInteger(address.port) || address.port < 1) return;
    if (address.port > 65535) return;
    void (async () => {
      const [resolved] = await resolveBootstrapNodes([address], [...this.#tables.keys()]);
      if (!resolved || !isUsableAddress(resolved, undefined)) return;
      const reply = await this.#request(resolved, { type: "ping", id: this.#ownId });
      if (reply?.type === "response" && this.#tableSize() < BUCKET_SIZE * 2) {
        await this.bootstrap();
      }
    })().catch(() => {});
  }

  /**
   * Finds peers of a torrent: the peers announced to this node first, then an iterative
   * `get_peers` lookup in each table, yielding peers as replies bring them, each address once.
   * @param infoHash The 20-byte info hash.
   * @param options `signal` stops the lookup (the iteration then throws its reason).
   * @returns The peers' TCP endpoints.
   * @throws {RangeError} If the info hash is not 20 bytes.
   */
  async *getPeers(
    infoHash: Uint8Array,
    options: { signal?: AbortSignal } = {},
  ): AsyncGenerator<DhtAddress> {
    checkInfoHash(infoHash);
    options.signal?.throwIfAborted();
    const stop = new AbortController();
    const signal = AbortSignal.any(
      [stop.signal, this.#abort.signal, options.signal].filter((s) => s !== undefined),
    );
    const feed = this.#feed(infoHash);
    const lookups = Promise.allSettled(
      [...this.#tables.keys()].map((f) =>
        this.#lookup(infoHash, "get_peers", f, (p, from) => feed.add(p, from), signal)
      ),
    ).then(() => feed.end());
    const onAbort = (): void => feed.end();
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      for (let peer = await feed.next(); peer; peer = await feed.next()) yield peer;
      options.signal?.throwIfAborted();
    } finally {
      signal.removeEventListener("abort", onAbort);
      stop.abort();
      await lookups;
    }
  }

  /**
   * Announces that we have a torrent: a `get_peers` lookup in each table, then `announce_peer`
   * with each token to the closest answered nodes (up to 8 per table).
   * @param infoHash The 20-byte info hash.
   * @param port Our TCP port, or "implied" to have nodes use our UDP port (`implied_port`).
   * @param options `signal` cancels; `onPeer` is told each peer as soon as a reply names it
   *   (the announce itself can take seconds longer, waiting on slow nodes).
   * @returns The peers found and the nodes that accepted the announce.
   * @throws {RangeError} If the info hash is not 20 bytes or the port is out of range.
   * @throws {DOMException} The signal's reason when it aborts.
   */
  async announce(
    infoHash: Uint8Array,
    port: number | "implied",
    options: { signal?: AbortSignal; onPeer?: (peer: DhtAddress) => void } = {},
  ): Promise<AnnounceResult> {
    checkInfoHash(infoHash);
    if (port !== "implied" && (!Number.isInteger(port) || port < 1 || port > 65535)) {
      throw new RangeError(`Cannot announce: port ${port} is outside 1..65535`);
    }
    options.signal?.throwIfAborted();
    const signal = AbortSignal.any(
      [this.#abort.signal, options.signal].filter((s) => s !== undefined),
    );
    const feed = this.#feed(infoHash);
    let told = 0;
    const tell = () => {
      for (; told < feed.found.length; told++) options.onPeer?.(feed.found[told]);
    };
    tell(); // our own store's
    const outcomes = await Promise.all(
      [...this.#tables.keys()].map((f) =>
        this.#lookup(infoHash, "get_peers", f, (p, from) => {
          feed.add(p, from);
          tell();
        }, signal)
      ),
    );
    options.signal?.throwIfAborted();
    const targets = outcomes.flatMap((o) => o.closest).filter((n) => n.token !== undefined);
    const acks = await Promise.all(targets.map(async ({ contact, token }) => {
      const reply = await this.#request(contact, {
        type: "announce_peer",
        id: this.#ownId,
        infoHash,
        port: port === "implied" ? this.port : port,
        impliedPort: port === "implied",
        token: token!,
      });
      return reply?.type === "response" ? contact : undefined;
    }));
    options.signal?.throwIfAborted();
    const queries = outcomes.reduce((sum, o) => sum + o.queries, 0) + targets.length;
    return { peers: [...feed.found], nodes: acks.filter((c) => c !== undefined), queries };
  }

  /**
   * Records a vote on our external address; once several sources agree on a public address, the
   * node takes a BEP 42 id for it (unless `nodeId` was given). Loopback and private addresses
   * never change the id.
   * @param ip Our address according to `source`.
   * @param source Who says so: e.g. "tracker:URL", "peer:IP", "dht:IP" (one vote each).
   */
  setExternalAddress(ip: string, source: string): void {
    const agreed = this.#votes.vote(ip, source);
    if (agreed === undefined || this.#fixedId || isLocalAddress(agreed)) return;
    if (isSecureNodeId(this.#ownId, agreed)) return;
    const now = this.#now();
    this.#ownId = secureNodeId(agreed);
    for (const [family, table] of this.#tables) {
      this.#tables.set(family, table.withOwnId(this.#ownId, now));
    }
  }

  /**
   * A snapshot of the tables, the peer store and the counters.
   * @returns The stats.
   */
  stats(): DhtStats {
    const now = this.#now();
    return {
      ipv4: this.#tables.get(4)?.counts(now),
      ipv6: this.#tables.get(6)?.counts(now),
      torrents: this.#peers.torrentCount,
      peers: this.#peers.peerCount,
      packetsIn: this.#packetsIn,
      packetsOut: this.#packetsOut,
      dropped: this.#dropped,
      pendingQueries: this.#transactions.size,
      queuedQueries: this.#pacer.queued,
      blockedAddresses: this.#flood.blockedCount(now),
      trackedAddresses: this.#flood.size,
    };
  }

  /**
   * Stops lookups, saves the state file (when configured) and closes the socket; idempotent.
   * @returns Resolves once closed.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#offSignal();
      this.#abort.abort();
      if (this.#timer !== undefined) clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#pacer.close();
      this.#transactions.close();
      await this.#bootstrapping?.catch(() => {});
      await this.#save().catch(() => {});
      await this.#socket.close();
    })();
    return this.#closing;
  }

  /** Same as {@linkcode DhtNode.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #tableSize(): number {
    let n = 0;
    for (const table of this.#tables.values()) n += table.size;
    return n;
  }

  /** A feed for one lookup's peers, holding those announced to us already. */
  #feed(infoHash: Uint8Array): PeerFeed {
    const feed = new PeerFeed();
    const now = this.#now();
    for (const family of this.#tables.keys()) feed.add(this.#peers.get(infoHash, family, now));
    return feed;
  }

  /** Seeds of a lookup: the closest table nodes, plus the bootstrap nodes while the table is small. */
  async #seeds(target: Uint8Array, family: Family): Promise<LookupContact[]> {
    const table = this.#tables.get(family)!;
    const seeds: LookupContact[] = table.closest(target, BUCKET_SIZE * 2, this.#now());
    if (table.size < BUCKET_SIZE) {
      this.#bootstrapNodes ??= resolveBootstrapNodes(
        this.#bootstrapEntries,
        [...this.#tables.keys()],
        this.#abort.signal,
      );
      const routers = await this.#bootstrapNodes;
      seeds.push(...routers.filter((r) => addressFamily(r.host) === family));
    }
    return seeds;
  }

  async #lookup(
    target: Uint8Array,
    method: "find_node" | "get_peers",
    family: Family,
    onValues: ((peers: readonly DhtAddress[], from: DhtAddress) => void) | undefined,
    signal: AbortSignal,
  ): Promise<LookupOutcome> {
    const seeds = await this.#seeds(target, family);
    const other: Family = family === 4 ? 6 : 4;
    const want = method === "find_node" && this.#tables.size === 2
      ? ["n4", "n6"] as ("n4" | "n6")[]
      : undefined;
    const query: LookupQuery = async (contact, slow) => {
      const message: KrpcQueryBody = method === "find_node"
        ? { type: "find_node", id: this.#ownId, target, ...(want ? { want } : {}) }
        : { type: "get_peers", id: this.#ownId, infoHash: target };
      const reply = await this.#request(contact, message, slow, contact.id);
      if (reply?.type !== "response") return undefined;
      const usable = (nodes: DhtContact[] | undefined): DhtContact[] =>
        (nodes ?? []).filter((n) => isUsableAddress(n, contact) && !equalBytes(n.id, this.#ownId));
      const nodes = usable(family === 4 ? reply.nodes : reply.nodes6);
      if (want) {
        for (const n of usable(other === 4 ? reply.nodes : reply.nodes6)) this.#maybePing(n);
      }
      return {
        id: reply.id,
        nodes,
        values: method === "get_peers" ? reply.values : undefined,
        token: reply.token,
      };
    };
    return await runLookup(target, seeds, query, { onValues, signal });
  }

  /** Sends a query (paced, with a transaction id) and updates the table from the outcome. */
  async #request(
    to: DhtAddress,
    query: KrpcQueryBody,
    onSlow?: () => void,
    expectedId?: Uint8Array,
  ): Promise<KrpcReply | undefined> {
    if (this.#closing) return undefined;
    if (!(await this.#pacer.acquire())) {
      this.#dropped++;
      return undefined;
    }
    const started = this.#transactions.start(to, onSlow);
    if (!started) {
      this.#dropped++;
      return undefined;
    }
    const message = { ...query, transactionId: started.transactionId } as KrpcQuery;
    if (this.#readOnly) message.readOnly = true;
    if (!this.#sendMessage(message, to)) started.cancel();
    const reply = await started.reply;
    const table = this.#tables.get(addressFamily(to.host));
    if (!table || this.#closing) return reply;
    const now = this.#now();
    if (reply?.type === "response") {
      if (expectedId && !equalBytes(expectedId, reply.id)) table.failed(expectedId, now);
      table.heardResponse({ id: reply.id, host: canonicalHost(to.host), port: to.port }, now);
      if (reply.ip) this.setExternalAddress(reply.ip.host, `dht:${canonicalHost(to.host)}`);
    } else if (reply === undefined && expectedId) {
      table.failed(expectedId, now);
    }
    return reply;
  }

  #sendMessage(message: KrpcMessage, to: DhtAddress): boolean {
    let bytes: Uint8Array;
    try {
      bytes = encodeKrpc(message);
    } catch {
      this.#dropped++;
      return false;
    }
    this.#packetsOut++;
    this.#socket.send(bytes, to.host, to.port).catch(() => {});
    return true;
  }

  #onPacket(packet: UdpMessage): void {
    this.#packetsIn++;
    const from = { host: canonicalHost(packet.host), port: packet.port };
    const now = this.#now();
    if (this.#closing || !this.#flood.allow(addressKey(from), now)) {
      this.#dropped++;
      return;
    }
    let message: KrpcMessage;
    try {
      message = decodeKrpc(packet.data);
    } catch (error) {
      this.#dropped++;
      const t = error instanceof KrpcError ? error.transactionId : undefined;
      if (t && !this.#readOnly) {
        const code = (error as KrpcError).code;
        const text = code === 204 ? "Method Unknown" : "Protocol Error";
        this.#sendMessage({ type: "error", transactionId: t, code, message: text }, from);
      }
      return;
    }
    if (message.type === "response" || message.type === "error") {
      if (!this.#transactions.settle(from, message)) this.#dropped++;
      return;
    }
    const table = this.#tables.get(addressFamily(from.host));
    if (this.#readOnly || !table) {
      this.#dropped++;
      return;
    }
    const reply = answerQuery(message, from, {
      ownId: this.#ownId,
      table4: this.#tables.get(4),
      table6: this.#tables.get(6),
      tokens: this.#tokens,
      peers: this.#peers,
      now,
    });
    this.#sendMessage(reply, from);
    if (message.readOnly || equalBytes(message.id, this.#ownId)) return; // BEP 43: never added
    const contact = { id: message.id, host: from.host, port: from.port };
    if (!table.heardQuery(contact, now)) this.#maybePing(contact);
  }

  /** Pings a node that may belong in the table (it queried us, or came in a `nodes6`). */
  #maybePing(contact: DhtContact): void {
    const table = this.#tables.get(addressFamily(contact.host));
    if (!table || this.#closing || !table.wouldAccept(contact.id, this.#now())) return;
    const key = addressKey(contact);
    if (this.#recentPings.has(key) || this.#recentPings.size >= MAX_RECENT_PINGS) return;
    this.#recentPings.add(key);
    void this.#request(contact, { type: "ping", id: this.#ownId }, undefined, contact.id);
  }

  #scheduleMaintenance(): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#maintain();
      if (!this.#closing) this.#scheduleMaintenance();
    }, MAINTENANCE_INTERVAL_MS);
  }

  #maintain(): void {
    const now = this.#now();
    this.#peers.expire(now);
    this.#recentPings.clear();
    for (const [family, table] of this.#tables) {
      for (const node of table.nodesToPing(now, PINGS_PER_ROUND)) {
        void this.#request(node, { type: "ping", id: this.#ownId }, undefined, node.id);
      }
      for (const target of table.takeStaleBuckets(now, REFRESHES_PER_ROUND)) {
        void this.#lookup(target, "find_node", family, undefined, this.#abort.signal);
      }
    }
    if (this.#tableSize() === 0) void this.bootstrap();
    if (now - this.#lastSave >= SAVE_INTERVAL_MS) void this.#save().catch(() => {});
  }

  async #save(): Promise<void> {
    if (!this.#stateFile) return;
    this.#lastSave = this.#now();
    const nodes = [...this.#tables.values()].flatMap((t) => t.nodes()).map((n) => ({
      id: n.id,
      host: n.host,
      port: n.port,
    }));
    await saveDhtState(this.#stateFile, { nodeId: this.#ownId, nodes });
  }
}

function checkInfoHash(infoHash: Uint8Array): void {
  if (infoHash.length !== NODE_ID_BYTES) {
    throw new RangeError(`Cannot look up: info hash of ${infoHash.length} bytes, expected 20`);
  }
}
