/**
 * Peer connections: TCP with the BEP 3 handshake, a framed message reader and serialised
 * writes (`connectPeer`, `acceptPeer`, `PeerConnection`), Message Stream Encryption
 * (`mseConnect`, `mseAccept`), and the token-bucket `RateLimiter`.
 * @module
 */
export { PeerError } from "./peer_error.ts";
export {
  acceptPeer,
  type AcceptPeerOptions,
  CONNECT_TIMEOUT_MS,
  connectPeer,
  type ConnectPeerOptions,
} from "./connect_peer.ts";
export {
  IDLE_TIMEOUT_MS,
  KEEP_ALIVE_INTERVAL_MS,
  PeerConnection,
  type PeerConnectionInit,
  type PeerConnectionOptions,
  READ_BUFFER_BYTES,
} from "./connection.ts";
export {
  isPlainHandshakeStart,
  MSE_HANDSHAKE_TIMEOUT_MS,
  MSE_MAX_INITIAL_PAYLOAD_BYTES,
  mseAccept,
  type MseAccepted,
  type MseAcceptOptions,
  MseConn,
  mseConnect,
  type MseConnectOptions,
  type MseConnInit,
  PrefixedConn,
} from "./mse.ts";
export { RateLimiter, type RateLimiterOptions } from "./rate_limiter.ts";
// Referenced by the signatures above.
export { type MseAllow, type MseCiphers, Rc4 } from "../wire/mse_crypto.ts";
export type { HandshakeExtensions } from "../wire/handshake.ts";
export type { PeerMessage } from "../wire/message.ts";
export type { PeerAddress } from "../wire/peer_address.ts";
