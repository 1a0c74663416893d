import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import {
  type PickerView,
  pickPiece,
  RANDOM_FIRST_PIECES,
} from "../../src/scheduler/piece_picker.ts";

function view(overrides: Partial<PickerView> & { availability: number[] }): PickerView {
  return {
    pieceCount: overrides.availability.length,
    haveCount: RANDOM_FIRST_PIECES,
    have: () => false,
    inProgress: () => false,
    peerHas: () => true,
    ...overrides,
  };
}

Deno.test("pickPiece() picks the rarest piece the peer has", () => {
  strictEqual(pickPiece(view({ availability: [3, 2, 1, 4] })), 2);
  strictEqual(pickPiece(view({ availability: [3, 2, 1, 4], peerHas: (i) => i !== 2 })), 1);
});

Deno.test("pickPiece() skips pieces we have and pieces in progress", () => {
  const availability = [1, 1, 1, 5];
  strictEqual(pickPiece(view({ availability, have: (i) => i === 0, inProgress: (i) => i < 3 })), 3);
});

Deno.test("pickPiece() returns undefined when the peer has nothing we need", () => {
  strictEqual(pickPiece(view({ availability: [1, 1], have: () => true })), undefined);
  strictEqual(pickPiece(view({ availability: [1, 1], peerHas: () => false })), undefined);
  strictEqual(pickPiece(view({ availability: [] })), undefined);
});

Deno.test("pickPiece() breaks ties at random, covering every tied piece", () => {
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const seen = new Set<number>();
  for (let i = 0; i < 400; i++) {
    const piece = pickPiece(view({ availability: [2, 1, 1, 1, 3], random }));
    ok(piece !== undefined && piece >= 1 && piece <= 3, `picked ${piece}`);
    seen.add(piece);
  }
  deepStrictEqual([...seen].sort(), [1, 2, 3]);
});

Deno.test("pickPiece() ignores rarity until the first few pieces are in", () => {
  let seed = 1;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const seen = new Set<number>();
  for (let i = 0; i < 400; i++) {
    seen.add(pickPiece(view({ availability: [9, 1, 9, 9], haveCount: 0, random }))!);
  }
  strictEqual(seen.size, 4);
});
