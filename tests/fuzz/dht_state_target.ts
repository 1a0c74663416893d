// Fuzz target: the DHT state file (src/dht/dht_state.ts), JSON read back at start-up.
import { decodeDhtState, encodeDhtState } from "../../src/dht/dht_state.ts";
import { encodeIpAddress } from "../../src/wire/peer_address.ts";
import { type FuzzTarget, invariant, invariantEqual, mustNotThrow } from "./fuzz_target.ts";

const id = (seed: number): Uint8Array => new Uint8Array(20).map((_, i) => (seed + i * 13) & 0xff);

/** `decodeDhtState`: a 20-byte id and usable nodes; encode/decode round trips. */
export const dhtStateTarget: FuzzTarget = {
  name: "dht-state",
  description: "decodeDhtState: only SyntaxError escapes; the node id is 20 bytes; nodes have " +
    "20-byte ids, IP hosts and ports 1..65535, at most 2,000; decode(encode(s)) = s",
  allowed: [SyntaxError],
  profile: "text",
  dictionary: ['"version":1', '"nodeId":', '"nodes":', "[", "]", "{", "}", ",", '"', "null", "1e3"],
  corpus: () => [
    encodeDhtState({ nodeId: id(1), nodes: [] }),
    encodeDhtState({
      nodeId: id(2),
      nodes: [
        { id: id(3), host: "127.0.0.1", port: 6881 },
        { id: id(4), host: "::1", port: 65535 },
        { id: id(5), host: "10.0.0.1", port: 1 },
      ],
    }),
  ],
  run(input) {
    const state = decodeDhtState(input);
    invariant(state.nodeId.length === 20, "node id length");
    invariant(state.nodes.length <= 2000, "too many nodes");
    for (const node of state.nodes) {
      invariant(node.id.length === 20, "node id");
      invariant(Number.isInteger(node.port) && node.port >= 1 && node.port <= 65535, "port");
      mustNotThrow("encodeIpAddress(host)", () => encodeIpAddress(node.host));
    }
    invariantEqual(
      mustNotThrow(
        "decodeDhtState(encodeDhtState(s))",
        () => decodeDhtState(encodeDhtState(state)),
      ),
      state,
      "decode(encode(decode(x)))",
    );
    return "accepted";
  },
};
