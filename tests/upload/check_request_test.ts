import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { BLOCK_SIZE, type PieceGeometry } from "../../src/metainfo/geometry.ts";
import { checkRequest, type RequestContext } from "../../src/upload/check_request.ts";

// Three full pieces of 32 KiB and a short last piece of 10,000 bytes.
const GEOMETRY: PieceGeometry = {
  pieceLength: 32768,
  pieceCount: 4,
  totalLength: 3 * 32768 + 10000,
};
const LAST = 3;
const LAST_SIZE = 10000;

function context(fields: Partial<RequestContext> = {}, have = (_: number) => true): RequestContext {
  return { geometry: GEOMETRY, have, amChoking: false, queued: 0, maxQueued: 250, ...fields };
}

function verdict(index: number, begin: number, length: number, ctx = context()): string {
  return checkRequest({ index, begin, length }, ctx).action;
}

Deno.test("checkRequest() serves every in-range block of a piece we have", () => {
  for (let index = 0; index < LAST; index++) {
    strictEqual(verdict(index, 0, BLOCK_SIZE), "serve");
    strictEqual(verdict(index, BLOCK_SIZE, BLOCK_SIZE), "serve");
  }
  strictEqual(verdict(LAST, 0, LAST_SIZE), "serve");
  deepStrictEqual(checkRequest({ index: 0, begin: 0, length: BLOCK_SIZE }, context()), {
    action: "serve",
  });
});

Deno.test("checkRequest() serves unaligned and short blocks that stay inside the piece", () => {
  strictEqual(verdict(0, 1, 1), "serve");
  strictEqual(verdict(0, 100, BLOCK_SIZE), "serve");
  strictEqual(verdict(0, 32767, 1), "serve");
  strictEqual(verdict(LAST, LAST_SIZE - 1, 1), "serve");
  strictEqual(verdict(LAST, LAST_SIZE - 5000, 5000), "serve");
});

Deno.test("checkRequest() rejects (not drops) a valid request while we choke the peer", () => {
  const result = checkRequest(
    { index: 1, begin: 0, length: BLOCK_SIZE },
    context({ amChoking: true }),
  );
  strictEqual(result.action, "reject");
  ok(result.action === "reject" && /chok/.test(result.reason), JSON.stringify(result));
});

Deno.test("checkRequest() drops a peer that asks for a piece we do not have", () => {
  const ctx = context({}, (i) => i !== 2);
  strictEqual(verdict(1, 0, BLOCK_SIZE, ctx), "serve");
  const result = checkRequest({ index: 2, begin: 0, length: BLOCK_SIZE }, ctx);
  strictEqual(result.action, "drop");
  ok(result.action === "drop" && result.reason.includes("2"), JSON.stringify(result));
});

Deno.test("checkRequest() asks have() only about the requested piece", () => {
  const asked: number[] = [];
  checkRequest({ index: 2, begin: 0, length: 1 }, context({}, (i) => (asked.push(i), true)));
  deepStrictEqual(asked, [2]);
});

Deno.test("checkRequest() drops a request for a piece index past the end", () => {
  for (const index of [GEOMETRY.pieceCount, GEOMETRY.pieceCount + 1, 2 ** 32 - 1]) {
    const result = checkRequest({ index, begin: 0, length: BLOCK_SIZE }, context());
    strictEqual(result.action, "drop", `index ${index}`);
    ok(result.action === "drop" && result.reason.includes(String(index)));
  }
});

Deno.test("checkRequest() drops a block that runs past the end of a full piece", () => {
  strictEqual(verdict(0, 32768 - BLOCK_SIZE + 1, BLOCK_SIZE), "drop");
  strictEqual(verdict(0, 32768, 1), "drop");
  strictEqual(verdict(0, 32767, 2), "drop");
  strictEqual(verdict(1, 2 ** 32 - 1, 1), "drop");
});

Deno.test("checkRequest() drops a block that runs past the end of the short last piece", () => {
  strictEqual(verdict(LAST, 0, LAST_SIZE + 1), "drop");
  strictEqual(verdict(LAST, LAST_SIZE, 1), "drop");
  strictEqual(verdict(LAST, LAST_SIZE - 1, 2), "drop");
  // A begin that would be fine in a full piece is out of range in the last one.
  strictEqual(verdict(LAST, BLOCK_SIZE, BLOCK_SIZE), "drop");
  const result = checkRequest({ index: LAST, begin: 9000, length: 2000 }, context());
  ok(result.action === "drop" && result.reason.includes(String(LAST_SIZE)), JSON.stringify(result));
});

Deno.test("checkRequest() drops a zero-length request", () => {
  strictEqual(verdict(0, 0, 0), "drop");
  strictEqual(verdict(0, 100, 0), "drop");
});

Deno.test("checkRequest() drops a block longer than BLOCK_SIZE (16 KiB), up to 128 KiB and over", () => {
  strictEqual(verdict(0, 0, BLOCK_SIZE), "serve");
  for (const length of [BLOCK_SIZE + 1, 32768, 131072, 131073, 2 ** 32 - 1]) {
    const result = checkRequest({ index: 0, begin: 0, length }, context());
    strictEqual(result.action, "drop", `length ${length}`);
    ok(result.action === "drop" && result.reason.includes(String(length)));
  }
});

Deno.test("checkRequest() rejects (not drops) a request beyond a full queue", () => {
  strictEqual(verdict(0, 0, BLOCK_SIZE, context({ queued: 249, maxQueued: 250 })), "serve");
  const result = checkRequest(
    { index: 0, begin: 0, length: BLOCK_SIZE },
    context({ queued: 250, maxQueued: 250 }),
  );
  strictEqual(result.action, "reject");
  ok(result.action === "reject" && result.reason.includes("250"), JSON.stringify(result));
  strictEqual(verdict(0, 0, BLOCK_SIZE, context({ queued: 1000, maxQueued: 250 })), "reject");
  strictEqual(verdict(0, 0, BLOCK_SIZE, context({ queued: 0, maxQueued: 0 })), "reject");
  strictEqual(verdict(0, 0, BLOCK_SIZE, context({ queued: 250, amChoking: true })), "reject");
});

Deno.test("checkRequest() drops a malformed request even when the queue is full", () => {
  const full = (have?: (i: number) => boolean) => context({ queued: 250, maxQueued: 250 }, have);
  strictEqual(verdict(GEOMETRY.pieceCount, 0, BLOCK_SIZE, full()), "drop");
  strictEqual(verdict(0, 0, 0, full()), "drop");
  strictEqual(verdict(0, 0, BLOCK_SIZE + 1, full()), "drop");
  strictEqual(verdict(LAST, LAST_SIZE, 1, full()), "drop");
  strictEqual(verdict(0, 0, BLOCK_SIZE, full(() => false)), "drop");
});

Deno.test("checkRequest() drops a malformed request even while we choke the peer", () => {
  const choked = (fields: Partial<RequestContext> = {}, have?: (i: number) => boolean) =>
    context({ amChoking: true, ...fields }, have);
  strictEqual(verdict(GEOMETRY.pieceCount, 0, BLOCK_SIZE, choked()), "drop");
  strictEqual(verdict(0, 0, 0, choked()), "drop");
  strictEqual(verdict(0, 0, BLOCK_SIZE + 1, choked()), "drop");
  strictEqual(verdict(LAST, LAST_SIZE, 1, choked()), "drop");
  strictEqual(verdict(0, 0, BLOCK_SIZE, choked({}, () => false)), "drop");
});

Deno.test("checkRequest() gives a reason for every reject and drop", () => {
  const cases: [number, number, number, RequestContext][] = [
    [9, 0, 1, context()],
    [0, 0, 0, context()],
    [0, 0, BLOCK_SIZE + 1, context()],
    [0, 32768, 1, context()],
    [0, 0, 1, context({}, () => false)],
    [0, 0, 1, context({ queued: 250 })],
    [0, 0, 1, context({ amChoking: true })],
  ];
  for (const [index, begin, length, ctx] of cases) {
    const result = checkRequest({ index, begin, length }, ctx);
    if (result.action === "serve") throw new Error(`${index}/${begin}/${length} was served`);
    ok(result.reason.length > 0);
  }
});

Deno.test("checkRequest() drops negative, fractional and non-numeric fields", () => {
  for (
    const [index, begin, length] of [
      [-1, 0, 1],
      [0.5, 0, 1],
      [NaN, 0, 1],
      [0, -1, 1],
      [0, 0.5, 1],
      [0, 0, -1],
      [0, 0, NaN],
    ]
  ) {
    strictEqual(verdict(index, begin, length), "drop", `${index} ${begin} ${length}`);
  }
});
