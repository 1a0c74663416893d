// Fuzz target: the BEP 10 extension handshake payload (src/wire/extension.ts).
import {
  decodeExtensionHandshake,
  encodeExtensionHandshake,
  type ExtensionHandshake,
} from "../../src/wire/extension.ts";
import { encodeIpAddress } from "../../src/wire/peer_address.ts";
import { ProtocolError } from "../../src/wire/protocol_error.ts";
import { type FuzzTarget, invariant, invariantEqual, mustNotThrow } from "./fuzz_target.ts";

const SEEDS: readonly ExtensionHandshake[] = [
  { m: {} },
  { m: { ut_metadata: 3, ut_pex: 1 }, v: "shoal 0.1.0", p: 6881, reqq: 250, metadata_size: 31337 },
  { m: { ut_metadata: 0, lt_donthave: 255 }, yourip: "127.0.0.1" },
  { m: { ut_holepunch: 4 }, yourip: "2001:db8::1", v: "µTorrent 3.5" },
];

const inRange = (n: number | undefined, min: number, max: number): boolean =>
  n === undefined || (Number.isSafeInteger(n) && n >= min && n <= max);

/** `decodeExtensionHandshake`: fields in range, and the decoded handshake round trips. */
export const extensionTarget: FuzzTarget = {
  name: "extension",
  description: "decodeExtensionHandshake: only ProtocolError escapes; m ids in 0..255, p in " +
    "1..65535, reqq and metadata_size positive safe integers, yourip an IP; decode(encode(h)) = h",
  allowed: [ProtocolError],
  profile: "bencode",
  dictionary: [
    "1:m",
    "1:v",
    "1:p",
    "4:reqq",
    "13:metadata_size",
    "6:yourip",
    "11:ut_metadata",
    "6:ut_pex",
    "9:__proto__",
    "11:constructor",
    "4:\x7f\x00\x00\x01",
  ],
  corpus: () => SEEDS.map(encodeExtensionHandshake),
  run(input) {
    const h = decodeExtensionHandshake(input);
    invariant(Object.getPrototypeOf(h.m) === Object.prototype, "m lost its prototype");
    for (const [name, id] of Object.entries(h.m)) {
      invariant(Number.isInteger(id) && id >= 0 && id <= 255, () => `m.${name} = ${id}`);
    }
    invariant(inRange(h.p, 1, 65535), `p ${h.p}`);
    invariant(inRange(h.reqq, 1, Number.MAX_SAFE_INTEGER), `reqq ${h.reqq}`);
    invariant(inRange(h.metadata_size, 1, Number.MAX_SAFE_INTEGER), `metadata_size`);
    if (h.yourip !== undefined) {
      mustNotThrow("encodeIpAddress(yourip)", () => encodeIpAddress(h.yourip!));
    }
    const again = mustNotThrow(
      "encodeExtensionHandshake(decoded)",
      () => encodeExtensionHandshake(h),
    );
    invariantEqual(
      mustNotThrow("decodeExtensionHandshake(re-encoded)", () => decodeExtensionHandshake(again)),
      h,
      "decode(encode(decode(x)))",
    );
    return "accepted";
  },
};
