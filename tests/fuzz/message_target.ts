// Fuzz target: the peer wire frame decoder (src/wire/message.ts), fed a stream of frames the
// way a connection's reader feeds it.
import { BLOCK_SIZE } from "../../src/metainfo/geometry.ts";
import {
  decodeMessage,
  type DecodeMessageOptions,
  encodeMessage,
  MAX_FRAME_BYTES,
  type PeerMessage,
} from "../../src/wire/message.ts";
import { ProtocolError } from "../../src/wire/protocol_error.ts";
import {
  type FuzzTarget,
  invariant,
  invariantEqual,
  mustNotThrow,
  prefixLengths,
} from "./fuzz_target.ts";
import type { Prng } from "./prng.ts";
import { type Mutation, replaceRange } from "./byte_mutations.ts";

const MESSAGES: readonly PeerMessage[] = [
  { type: "keep-alive" },
  { type: "choke" },
  { type: "unchoke" },
  { type: "interested" },
  { type: "not-interested" },
  { type: "have", index: 7 },
  { type: "bitfield", bytes: new Uint8Array([0xff, 0x80]) },
  { type: "request", index: 1, begin: 16384, length: 16384 },
  { type: "piece", index: 2, begin: 0, block: new Uint8Array(32).fill(0xab) },
  { type: "cancel", index: 1, begin: 16384, length: 16384 },
  { type: "port", port: 6881 },
  { type: "suggest", index: 3 },
  { type: "have-all" },
  { type: "have-none" },
  { type: "reject", index: 4, begin: 0, length: 1 },
  { type: "allowed-fast", index: 0xffffffff },
  { type: "extended", id: 0, payload: new TextEncoder().encode("d1:md6:ut_pexi1eee") },
  { type: "extended", id: 3, payload: new Uint8Array(0) },
];

const u32 = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 0xffffffff;

function checkFields(message: PeerMessage): void {
  switch (message.type) {
    case "have":
    case "suggest":
    case "allowed-fast":
      invariant(u32(message.index), "index out of range");
      break;
    case "request":
    case "cancel":
    case "reject":
      invariant(u32(message.index) && u32(message.begin), "index or begin out of range");
      invariant(message.length >= 1 && message.length <= BLOCK_SIZE, `length ${message.length}`);
      break;
    case "piece":
      invariant(u32(message.index) && u32(message.begin), "index or begin out of range");
      invariant(
        message.block.length >= 1 && message.block.length <= BLOCK_SIZE,
        `block of ${message.block.length} bytes`,
      );
      break;
    case "port":
      invariant(message.port >= 0 && message.port <= 65535, `port ${message.port}`);
      break;
    case "extended":
      invariant(message.id >= 0 && message.id <= 255, `extended id ${message.id}`);
      break;
  }
}

/** Where each frame starts, by walking the length prefixes (the last may run past the end). */
function frameStarts(input: Uint8Array): number[] {
  const starts: number[] = [];
  for (let at = 0; at + 4 <= input.length && starts.length < 64;) {
    starts.push(at);
    at += 4 +
      (((input[at] << 24) | (input[at + 1] << 16) | (input[at + 2] << 8) | input[at + 3]) >>> 0);
  }
  return starts;
}

const BODY_LENGTHS: readonly number[] = [0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 12, 13, 14, 16]
  .concat([16392, 16393, 16394, 16395]);
const HUGE_LENGTHS: readonly number[] = [MAX_FRAME_BYTES - 1, MAX_FRAME_BYTES, MAX_FRAME_BYTES + 1];
const IDS: readonly number[] = [
  0,
  1,
  2,
  3,
  4,
  5,
  6,
  7,
  8,
  9,
  10,
  12,
  13,
  14,
  15,
  16,
  17,
  18,
  19,
  20,
  21,
  255,
];
const WORDS: readonly number[] = [0, 1, 16383, 16384, 16385, 0x7fffffff, 0x80000000, 0xffffffff];

/** A frame's length prefix set to a boundary, alone or with its body resized to match. */
const frameLength: Mutation = (input, rng) => {
  const starts = frameStarts(input);
  if (starts.length === 0) return undefined;
  const at = rng.pick(starts);
  const huge = rng.chance(0.1);
  const length = rng.pick(huge ? HUGE_LENGTHS : BODY_LENGTHS);
  const out = rng.chance(huge ? 0.9 : 0.5) ? input.slice() : (() => {
    const oldEnd = Math.min(
      input.length,
      at + 4 + ((new DataView(input.buffer, input.byteOffset).getUint32(at)) >>> 0),
    );
    const body = new Uint8Array(length);
    body.set(input.subarray(at + 4, Math.min(oldEnd, at + 4 + length)));
    return replaceRange(input, at + 4, oldEnd, body);
  })();
  new DataView(out.buffer).setUint32(at, length);
  return out;
};

/** A frame's id, or one of its 32-bit fields, set to a boundary. */
const frameField: Mutation = (input, rng) => {
  const starts = frameStarts(input).filter((at) => at + 5 <= input.length);
  if (starts.length === 0) return undefined;
  const at = rng.pick(starts);
  const out = input.slice();
  if (rng.chance(0.4)) {
    out[at + 4] = rng.pick(IDS);
    return out;
  }
  const field = at + rng.pick([5, 9, 13]);
  if (field + 4 > out.length) return undefined;
  new DataView(out.buffer).setUint32(field, rng.pick(WORDS));
  return out;
};

/** A whole frame dropped, repeated, or taken from another seed. */
const frameSplice: Mutation = (input, rng, { corpus }) => {
  const starts = frameStarts(input);
  const at = starts.length > 0 ? rng.pick(starts) : 0;
  const next = starts.find((s) => s > at) ?? input.length;
  const choice = rng.below(3);
  if (choice === 0) return replaceRange(input, at, next, new Uint8Array(0));
  if (choice === 1) return replaceRange(input, at, at, input.slice(at, next));
  const other = rng.pick(corpus);
  const from = frameStarts(other);
  if (from.length === 0) return undefined;
  const start = rng.pick(from);
  const end = from.find((s) => s > start) ?? other.length;
  return replaceRange(input, at, at, other.subarray(start, end));
};

function options(rng: Prng): DecodeMessageOptions | undefined {
  if (rng.chance(0.8)) return undefined;
  return { maxLength: rng.pick([0, 1, 5, 13, 16393, MAX_FRAME_BYTES]) };
}

/** `decodeMessage` over a stream: frames re-encode to their bytes; prefixes are incomplete. */
export const messageTarget: FuzzTarget = {
  name: "message",
  description: "decodeMessage over a stream of frames: only ProtocolError escapes; sizes stay " +
    "inside the buffer; indices, lengths (1..16 KiB), ports and ids in range; each frame " +
    "re-encodes to its own bytes; every proper prefix of a frame is undefined",
  allowed: [ProtocolError],
  profile: "binary",
  mutations: [[frameLength, 3], [frameField, 3], [frameSplice, 2]],
  dictionary: ["\x00\x00\x00\x00", "\x00\x00\x40\x09\x07", "\x00\x00\x00\x0d\x06", "\x14\x00d"],
  corpus: () => [
    ...MESSAGES.map(encodeMessage),
    encodeMessage({ type: "piece", index: 0, begin: 0, block: new Uint8Array(BLOCK_SIZE).fill(1) }),
    new Uint8Array(MESSAGES.flatMap((m) => [...encodeMessage(m)])),
  ],
  run(input, { rng, mutated }) {
    const opts = mutated ? options(rng) : undefined;
    const maxLength = opts?.maxLength ?? MAX_FRAME_BYTES;
    let rest = input;
    let frames = 0;
    // A megabyte of zeros is 262,144 keep-alives: past a thousand frames nothing new is learnt.
    while (frames < 1000) {
      const decoded = decodeMessage(rest, opts);
      if (decoded === undefined) break;
      const { message, size } = decoded;
      invariant(size >= 4 && size <= rest.length, () => `size ${size} of ${rest.length} bytes`);
      invariant(size - 4 <= maxLength, `frame over maxLength ${maxLength}`);
      checkFields(message);
      const frame = rest.subarray(0, size);
      const again = mustNotThrow(`encodeMessage(${message.type})`, () => encodeMessage(message));
      invariantEqual(again, frame.slice(), `encode(decode(${message.type}))`);
      for (const n of prefixLengths(size, rng)) {
        const part = mustNotThrow(
          `decodeMessage(first ${n} bytes of ${message.type})`,
          () => decodeMessage(frame.subarray(0, n), opts),
        );
        invariant(part === undefined, `first ${n} bytes of a ${message.type} frame decoded`);
      }
      rest = rest.subarray(size);
      frames++;
    }
    return frames > 0 ? "accepted" : "incomplete";
  },
};
