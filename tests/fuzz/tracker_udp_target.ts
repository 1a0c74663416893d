// Fuzz target: BEP 15 UDP tracker responses (src/tracker/udp_tracker_packets.ts). The project
// encodes only requests, so the seeds are written here, field by field as BEP 15 lays them out.
import { decodeUdpTrackerResponse } from "../../src/tracker/udp_tracker_packets.ts";
import { encodeCompactPeers } from "../../src/wire/peer_address.ts";
import type { Mutation } from "./byte_mutations.ts";
import { type FuzzTarget, invariant } from "./fuzz_target.ts";

function packet(action: number, transactionId: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + body.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, action);
  view.setUint32(4, transactionId);
  out.set(body, 8);
  return out;
}

function u32s(...values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  values.forEach((v, i) => new DataView(out.buffer).setUint32(i * 4, v));
  return out;
}

function seeds(): Uint8Array[] {
  const connectionId = new Uint8Array(8);
  new DataView(connectionId.buffer).setBigUint64(0, 0x0123456789abcdefn);
  const peers4 = encodeCompactPeers([
    { host: "127.0.0.1", port: 6881 },
    { host: "10.0.0.1", port: 1 },
    { host: "255.255.255.255", port: 65535 },
  ], 4);
  const peers6 = encodeCompactPeers([{ host: "::1", port: 51413 }], 6);
  return [
    packet(0, 1, connectionId),
    packet(1, 2, new Uint8Array([...u32s(1800, 3, 4), ...peers4])),
    packet(1, 3, new Uint8Array([...u32s(60, 0, 1), ...peers6])),
    packet(2, 4, u32s(1, 2, 3, 4, 5, 6)),
    packet(3, 5, new TextEncoder().encode("torrent not registered")),
  ];
}

/** The action set to a boundary, or the packet cut or padded to a length the decoder checks. */
const packetShape: Mutation = (input, rng) => {
  if (rng.chance(0.4) && input.length >= 4) {
    const out = input.slice();
    new DataView(out.buffer).setUint32(0, rng.pick([0, 1, 2, 3, 4, 0x80000000, 0xffffffff]));
    return out;
  }
  const length = rng.pick([0, 4, 7, 8, 15, 16, 17, 19, 20, 21, 25, 26, 37, 38, 39, 44, 45]);
  const out = new Uint8Array(length);
  out.set(input.subarray(0, length));
  return out;
};

const u32 = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 0xffffffff;

/** `decodeUdpTrackerResponse`: never throws; counts and peers agree with the packet's size. */
export const trackerUdpTarget: FuzzTarget = {
  name: "tracker-udp",
  description: "decodeUdpTrackerResponse: never throws (junk gives undefined); every field is " +
    "a 32-bit count; announce peers match the family, have ports 1..65535 and fit the packet; " +
    "scrape has one entry per 12 bytes",
  allowed: [],
  profile: "binary",
  mutations: [[packetShape, 1]],
  corpus: seeds,
  run(input, { rng, mutated }) {
    const family = !mutated && input.length === 38 ? 6 : mutated && rng.chance(0.3) ? 6 : 4;
    const response = decodeUdpTrackerResponse(input, family);
    if (response === undefined) return "ignored";
    invariant(input.length >= 8 && u32(response.transactionId), "transaction id");
    switch (response.type) {
      case "connect":
        invariant(input.length >= 16, "connect from a short packet");
        invariant(
          response.connectionId >= 0n && response.connectionId < 2n ** 64n,
          "connection id",
        );
        break;
      case "announce": {
        const size = family === 4 ? 6 : 18;
        invariant(input.length >= 20, "announce from a short packet");
        invariant(
          u32(response.intervalSeconds) && u32(response.leechers) && u32(response.seeders),
          "announce counts",
        );
        invariant(response.droppedBytes === (input.length - 20) % size, "dropped bytes");
        invariant(response.peers.length <= Math.floor((input.length - 20) / size), "peer count");
        for (const { host, port } of response.peers) {
          invariant(port >= 1 && port <= 65535, `port ${port}`);
          invariant(host.includes(":") === (family === 6), `host ${host}`);
        }
        break;
      }
      case "scrape":
        invariant(response.entries.length === Math.floor((input.length - 8) / 12), "entries");
        for (const e of response.entries) {
          invariant(u32(e.seeders) && u32(e.completed) && u32(e.leechers), "scrape counts");
        }
        break;
      case "error":
        invariant(typeof response.message === "string", "error message");
        break;
    }
    return "accepted";
  },
};
