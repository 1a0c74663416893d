// The registry of fuzz targets, in the order `deno task fuzz` runs them.
import { bencodeTarget } from "./bencode_target.ts";
import { dhtStateTarget } from "./dht_state_target.ts";
import { extensionTarget } from "./extension_target.ts";
import { handshakeTarget } from "./handshake_target.ts";
import { krpcTarget } from "./krpc_target.ts";
import { magnetTarget } from "./magnet_target.ts";
import { messageTarget } from "./message_target.ts";
import { metadataTarget } from "./metadata_target.ts";
import { mseAcceptTarget } from "./mse_accept_target.ts";
import { mseConnectTarget } from "./mse_connect_target.ts";
import { pexTarget } from "./pex_target.ts";
import type { FuzzTarget } from "./fuzz_target.ts";
import { torrentTarget } from "./torrent_target.ts";
import { trackerHttpTarget } from "./tracker_http_target.ts";
import { trackerUdpTarget } from "./tracker_udp_target.ts";

/** Every fuzz target. */
export const FUZZ_TARGETS: readonly FuzzTarget[] = [
  bencodeTarget,
  torrentTarget,
  magnetTarget,
  handshakeTarget,
  messageTarget,
  extensionTarget,
  pexTarget,
  metadataTarget,
  trackerHttpTarget,
  trackerUdpTarget,
  krpcTarget,
  dhtStateTarget,
  mseAcceptTarget,
  mseConnectTarget,
];

/**
 * Finds a target by name.
 * @param name The target's name.
 * @returns The target.
 * @throws {RangeError} If there is none by that name.
 */
export function findTarget(name: string): FuzzTarget {
  const target = FUZZ_TARGETS.find((t) => t.name === name);
  if (!target) {
    throw new RangeError(
      `no fuzz target "${name}"; targets: ${FUZZ_TARGETS.map((t) => t.name).join(", ")}`,
    );
  }
  return target;
}
