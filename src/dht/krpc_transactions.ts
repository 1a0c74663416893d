import { bytesToBinary } from "../bytes/bytes.ts";
import { addressKey, type DhtAddress } from "./dht_address.ts";
import type { KrpcErrorReply, KrpcResponse } from "./krpc.ts";

/** After this long without an answer a query counts as slow (the lookup widens). */
export const QUERY_SLOW_MS = 2_000;
/** After this long without an answer a query has failed. */
export const QUERY_TIMEOUT_MS = 5_000;
/** The most queries awaiting an answer at once. */
export const MAX_PENDING_QUERIES = 1024;

/** Limits of {@linkcode KrpcTransactions} (defaults: the exported constants). */
export interface KrpcTransactionsOptions {
  /** Short timeout in ms. */
  slowMs?: number;
  /** Full timeout in ms. */
  timeoutMs?: number;
  /** Most pending queries. */
  maxPending?: number;
}

/** A reply to one of our queries. */
export type KrpcReply = KrpcResponse | KrpcErrorReply;

interface Pending {
  address: string;
  resolve: (reply: KrpcReply | undefined) => void;
  slowTimer: ReturnType<typeof setTimeout> | undefined;
  timer: ReturnType<typeof setTimeout>;
}

/** A query that was given a transaction id. */
export interface StartedTransaction {
  /** The 2-byte transaction id to send. */
  transactionId: Uint8Array;
  /** The reply, or `undefined` on timeout, cancellation or close. */
  reply: Promise<KrpcReply | undefined>;
  /** Gives up on the query now (e.g. the send failed). */
  cancel(): void;
}

/**
 * Our outstanding KRPC queries: each gets a 2-byte transaction id, and a reply is accepted only
 * with that id and from the address the query went to. Each query has a short timeout (`onSlow`)
 * and a full one; at most `maxPending` are outstanding.
 * @example
 * ```ts
 * import { KrpcTransactions } from "@shoal/shoal/dht";
 * import { ok, strictEqual } from "node:assert/strict";
 * const transactions = new KrpcTransactions();
 * const to = { host: "10.0.0.1", port: 6881 };
 * const started = transactions.start(to)!;
 * const reply = { type: "response", transactionId: started.transactionId, id: new Uint8Array(20) } as const;
 * ok(!transactions.settle({ host: "10.0.0.2", port: 6881 }, reply)); // wrong sender
 * ok(transactions.settle(to, reply));
 * strictEqual((await started.reply)?.type, "response");
 * transactions.close();
 * ```
 */
export class KrpcTransactions {
  #pending = new Map<string, Pending>();
  #next = Math.floor(Math.random() * 0x10000);
  #slowMs: number;
  #timeoutMs: number;
  #maxPending: number;
  #closed = false;

  /**
   * Makes an empty table.
   * @param options Timeouts and cap.
   */
  constructor(options: KrpcTransactionsOptions = {}) {
    this.#slowMs = options.slowMs ?? QUERY_SLOW_MS;
    this.#timeoutMs = options.timeoutMs ?? QUERY_TIMEOUT_MS;
    this.#maxPending = options.maxPending ?? MAX_PENDING_QUERIES;
  }

  /** Queries awaiting an answer. */
  get size(): number {
    return this.#pending.size;
  }

  /**
   * Registers a query about to be sent.
   * @param to Where it goes.
   * @param onSlow Called once if the short timeout passes first.
   * @returns The transaction, or `undefined` when `maxPending` are outstanding or after close.
   */
  start(to: DhtAddress, onSlow?: () => void): StartedTransaction | undefined {
    if (this.#closed || this.#pending.size >= this.#maxPending) return undefined;
    let id: Uint8Array;
    let key: string;
    do {
      this.#next = (this.#next + 1) & 0xffff;
      id = new Uint8Array([this.#next >> 8, this.#next & 0xff]);
      key = bytesToBinary(id);
    } while (this.#pending.has(key));
    let resolve!: (reply: KrpcReply | undefined) => void;
    const reply = new Promise<KrpcReply | undefined>((r) => (resolve = r));
    const entry: Pending = {
      address: addressKey(to),
      resolve,
      slowTimer: onSlow
        ? setTimeout(() => {
          entry.slowTimer = undefined;
          onSlow();
        }, this.#slowMs)
        : undefined,
      timer: setTimeout(() => this.#finish(key, undefined), this.#timeoutMs),
    };
    this.#pending.set(key, entry);
    return { transactionId: id, reply, cancel: () => this.#finish(key, undefined) };
  }

  /**
   * Hands a reply to the query it answers.
   * @param from The sender's address.
   * @param reply The decoded reply.
   * @returns `true` when it matched a pending query from that address.
   */
  settle(from: DhtAddress, reply: KrpcReply): boolean {
    const key = bytesToBinary(reply.transactionId);
    const entry = this.#pending.get(key);
    if (!entry || entry.address !== addressKey(from)) return false;
    this.#finish(key, reply);
    return true;
  }

  /** Fails every pending query and refuses new ones. */
  close(): void {
    this.#closed = true;
    for (const key of [...this.#pending.keys()]) this.#finish(key, undefined);
  }

  #finish(key: string, reply: KrpcReply | undefined): void {
    const entry = this.#pending.get(key);
    if (!entry) return;
    this.#pending.delete(key);
    clearTimeout(entry.timer);
    if (entry.slowTimer !== undefined) clearTimeout(entry.slowTimer);
    entry.resolve(reply);
  }
}
