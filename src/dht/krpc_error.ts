/** KRPC error codes (BEP 5). */
export const KRPC_ERROR = {
  /** Generic error. */
  generic: 201,
  /** Server error. */
  server: 202,
  /** Protocol error: a malformed packet, an invalid argument or a bad token. */
  protocol: 203,
  /** Method unknown. */
  methodUnknown: 204,
} as const;

/**
 * A KRPC packet (BEP 5) that cannot be decoded or encoded. When the packet was a query with a
 * usable transaction id, `transactionId` is set so a node can answer with error `code`.
 * @example
 * ```ts
 * import { decodeKrpc, KrpcError } from "@shoal/shoal/dht";
 * import { throws } from "node:assert/strict";
 * throws(() => decodeKrpc(new TextEncoder().encode("i42e")), KrpcError);
 * ```
 */
export class KrpcError extends SyntaxError {
  /** The KRPC error code that fits (203 protocol error, 204 method unknown). */
  readonly code: number;
  /** The query's transaction id, when the packet was a query that can be answered. */
  readonly transactionId: Uint8Array | undefined;
  /**
   * Makes the error.
   * @param message What failed and why ("Cannot decode KRPC: ...").
   * @param options `code` (default 203), `transactionId` of an answerable query, `cause`.
   */
  constructor(
    message: string,
    options: { code?: number; transactionId?: Uint8Array; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "KrpcError";
    this.code = options.code ?? KRPC_ERROR.protocol;
    this.transactionId = options.transactionId;
  }
}
