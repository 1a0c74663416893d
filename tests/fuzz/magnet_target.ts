// Fuzz target: magnet URIs (src/metainfo/magnet.ts), mutated as UTF-8 text.
import { formatMagnet, MagnetError, parseMagnet } from "../../src/metainfo/magnet.ts";
import { type FuzzTarget, invariant, invariantEqual, mustNotThrow } from "./fuzz_target.ts";

const HASH = "c12fe1c06bba254a9dc9f519b335aa7c1367a88a";
const text = new TextEncoder();
const lenient = new TextDecoder();

const SEEDS: readonly string[] = [
  `magnet:?xt=urn:btih:${HASH}`,
  formatMagnet({
    infoHash: HASH,
    name: "a name & more",
    trackers: ["http://127.0.0.1:6969/announce", "udp://[::1]:1/x"],
    webSeeds: ["http://127.0.0.1/ws"],
    peers: [{ host: "127.0.0.1", port: 6881 }, { host: "::1", port: 51413 }],
    selectOnly: [0, 2, 3, 4, 9],
  }),
  "magnet:?xt=urn:btih:YEX6DQDLXISUVHOJ6UM3GNNKPQJWPKEK&dn=base+32&tr.1=http%3A%2F%2F127.0.0.1%2F",
  `magnet:?xt=urn:btmh:1220${"ab".repeat(32)}&xt=urn:btih:${HASH}&so=0-3,7`,
];

/** `parseMagnet`: a 20-byte hash, valid peers and indices; formatMagnet round trips it. */
export const magnetTarget: FuzzTarget = {
  name: "magnet",
  description: "parseMagnet: only MagnetError escapes; the info hash is 20 bytes with matching " +
    "hex; peers have ports 1..65535; so indices ascend, are unique and at most 1,000,000; " +
    "parseMagnet(formatMagnet(link)) gives the link back",
  allowed: [MagnetError],
  profile: "text",
  dictionary: [
    "&",
    "=",
    "%",
    "%2",
    "%zz",
    "%00",
    "%C3%A9",
    "%ED%A0%80",
    "+",
    "xt=urn:btih:",
    "xt=urn:btmh:",
    "dn=",
    "tr=",
    "ws=",
    "x.pe=",
    "so=",
    "so=0-999999",
    "so=5-1",
    ".1",
    "[::1]:",
    ":65536",
    ":0",
    "magnet:?",
    "\u0000",
    " ",
  ],
  corpus: () => SEEDS.map((s) => text.encode(s)),
  run(input) {
    const link = parseMagnet(lenient.decode(input));
    invariant(link.infoHash.length === 20, "info hash length");
    invariant(/^[0-9a-f]{40}$/.test(link.infoHashHex), "info hash hex");
    for (const peer of link.peers) {
      invariant(peer.port >= 1 && peer.port <= 65535 && peer.host !== "", "peer");
    }
    const so = link.selectOnly ?? [];
    invariant(so.length <= 1_000_000, "too many so indices");
    for (let i = 0; i < so.length; i++) {
      invariant(Number.isSafeInteger(so[i]) && so[i] >= 0, "so index");
      invariant(i === 0 || so[i] > so[i - 1], "so not ascending and unique");
    }
    const again = mustNotThrow(
      "parseMagnet(formatMagnet(link))",
      () => parseMagnet(formatMagnet(link)),
    );
    invariantEqual(again, link, "parse(format(parse(x)))");
    return "accepted";
  },
};
