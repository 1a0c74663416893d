/**
 * The peer wire codecs: the BEP 3 handshake and messages (with the fast extension, BEP 6),
 * the extension protocol (BEP 10) and its payloads (ut_metadata, BEP 9; ut_pex, BEP 11),
 * compact peer addresses, peer ids (BEP 20), and the Message Stream Encryption crypto. Pure.
 * @module
 */

export { ProtocolError } from "./protocol_error.ts";
export { ALLOWED_FAST_COUNT, allowedFastSet } from "./allowed_fast.ts";
export {
  decodeCompactPeers,
  decodeIpAddress,
  encodeCompactPeer,
  encodeCompactPeers,
  encodeIpAddress,
  formatPeerAddress,
  type PeerAddress,
} from "./peer_address.ts";
export {
  decodeHandshake,
  decodeReserved,
  encodeHandshake,
  encodeReserved,
  type Handshake,
  HANDSHAKE_LENGTH,
  type HandshakeExtensions,
  type HandshakeInput,
  OUR_RESERVED,
} from "./handshake.ts";
export {
  type DecodedMessage,
  decodeMessage,
  type DecodeMessageOptions,
  encodedMessageLength,
  encodeMessage,
  encodeMessageInto,
  encodePieceHeader,
  MAX_FRAME_BYTES,
  type PeerMessage,
  type PeerMessageType,
  PIECE_HEADER_BYTES,
} from "./message.ts";
export {
  decodeExtensionHandshake,
  encodeExtensionHandshake,
  EXTENSION_HANDSHAKE_ID,
  type ExtensionHandshake,
} from "./extension.ts";
export {
  decodeMetadataMessage,
  encodeMetadataMessage,
  METADATA_PIECE_SIZE,
  type MetadataMessage,
} from "./metadata.ts";
export {
  decodePex,
  encodePex,
  PEX_FLAG_ENCRYPTION,
  PEX_FLAG_HOLEPUNCH,
  PEX_FLAG_REACHABLE,
  PEX_FLAG_SEED,
  PEX_FLAG_UTP,
  type PexMessage,
} from "./pex.ts";
export { generatePeerId, PEER_ID_PREFIX } from "./peer_id.ts";
export {
  computeMseSecret,
  CRYPTO_PLAINTEXT,
  CRYPTO_RC4,
  deriveMseCiphers,
  encodeMsePublicKey,
  generateMsePrivateKey,
  MSE_KEY_BYTES,
  MSE_MAX_PAD_BYTES,
  MSE_PRIVATE_KEY_BYTES,
  MSE_RC4_DISCARD_BYTES,
  MSE_VC_BYTES,
  type MseAllow,
  type MseCiphers,
  mseCryptoBits,
  mseMaskReq2Hash,
  mseReq1Hash,
  mseReq2Hash,
  Rc4,
  selectMseCrypto,
} from "./mse_crypto.ts";
