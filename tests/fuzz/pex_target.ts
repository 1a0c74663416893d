// Fuzz target: the BEP 11 ut_pex payload (src/wire/pex.ts).
import { decodePex, encodePex, type PexMessage } from "../../src/wire/pex.ts";
import type { PeerAddress } from "../../src/wire/peer_address.ts";
import { ProtocolError } from "../../src/wire/protocol_error.ts";
import { type FuzzTarget, invariant, invariantEqual, mustNotThrow } from "./fuzz_target.ts";

const SEEDS: readonly Partial<PexMessage>[] = [
  {},
  {
    added: [{ host: "127.0.0.1", port: 6881 }, { host: "10.0.0.2", port: 1 }],
    addedFlags: [0x01, 0x12],
    dropped: [{ host: "192.168.1.1", port: 65535 }],
  },
  {
    added6: [{ host: "::1", port: 51413 }, { host: "2001:db8::2", port: 80 }],
    added6Flags: [0x04, 0],
    dropped6: [{ host: "fe80::1", port: 443 }],
  },
];

function checkPeers(peers: PeerAddress[], family: 4 | 6, what: string): void {
  for (const { host, port } of peers) {
    invariant(Number.isInteger(port) && port >= 1 && port <= 65535, `${what} port ${port}`);
    invariant(host.includes(":") === (family === 6), `${what} host ${host} is not IPv${family}`);
  }
}

/** `decodePex`: peers of the right family with real ports; flags per peer; round trips. */
export const pexTarget: FuzzTarget = {
  name: "pex",
  description: "decodePex: only ProtocolError escapes; peers have ports 1..65535 and the " +
    "family of their list; one flag byte per added peer; decode(encode(p)) = p",
  allowed: [ProtocolError],
  profile: "bencode",
  dictionary: ["5:added", "7:added.f", "6:added6", "8:added6.f", "7:dropped", "8:dropped6"],
  corpus: () => SEEDS.map(encodePex),
  run(input) {
    const p = decodePex(input);
    checkPeers(p.added, 4, "added");
    checkPeers(p.added6, 6, "added6");
    checkPeers(p.dropped, 4, "dropped");
    checkPeers(p.dropped6, 6, "dropped6");
    invariant(p.addedFlags.length === p.added.length, "added.f and added differ in length");
    invariant(p.added6Flags.length === p.added6.length, "added6.f and added6 differ in length");
    for (const f of [...p.addedFlags, ...p.added6Flags]) {
      invariant(Number.isInteger(f) && f >= 0 && f <= 255, `flag ${f}`);
    }
    const again = mustNotThrow("encodePex(decoded)", () => encodePex(p));
    invariantEqual(
      mustNotThrow("decodePex(re-encoded)", () => decodePex(again)),
      p,
      "decode(encode(decode(x)))",
    );
    return "accepted";
  },
};
