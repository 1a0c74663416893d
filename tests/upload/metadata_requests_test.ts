import { deepStrictEqual, match, strictEqual, throws } from "node:assert/strict";
import {
  checkMetadataRequest,
  MAX_METADATA_REQUEST_STRIKES,
  MAX_QUEUED_METADATA_REQUESTS,
  metadataDataReply,
  type MetadataRequestContext,
} from "../../src/upload/metadata_requests.ts";
import {
  decodeMetadataMessage,
  encodeMetadataMessage,
  METADATA_PIECE_SIZE,
} from "../../src/wire/metadata.ts";
import { randomBytes } from "../test_util.ts";

const SIZE = 3 * METADATA_PIECE_SIZE + 1; // four pieces, the last of one byte

function context(fields: Partial<MetadataRequestContext> = {}): MetadataRequestContext {
  return { metadataSize: SIZE, queued: 0, strikes: 0, ...fields };
}

Deno.test("checkMetadataRequest() serves every piece of verified metadata", () => {
  for (let piece = 0; piece < 4; piece++) {
    deepStrictEqual(checkMetadataRequest(piece, context()), { action: "serve" });
  }
});

Deno.test("checkMetadataRequest() rejects, without a strike, while we have no metadata", () => {
  deepStrictEqual(checkMetadataRequest(0, context({ metadataSize: undefined })), {
    action: "reject",
    reason: "we have no verified metadata yet",
    strike: false,
  });
});

Deno.test("checkMetadataRequest() rejects a piece index out of range with a strike", () => {
  for (const piece of [4, 5, 1 << 30, -1, 1.5, NaN]) {
    const verdict = checkMetadataRequest(piece, context());
    strictEqual(verdict.action, "reject", `piece ${piece}`);
    strictEqual(verdict.action === "reject" && verdict.strike, true);
  }
  const verdict = checkMetadataRequest(4, context());
  match(verdict.action === "reject" ? verdict.reason : "", /piece 4 of 4/);
});

Deno.test("checkMetadataRequest() rejects past the queue cap and drops a flooding peer", () => {
  // Simulate a peer that sends requests and never reads our replies.
  let queued = 0, strikes = 0, served = 0, sent = 0;
  while (true) {
    const verdict = checkMetadataRequest(sent++ % 4, context({ queued, strikes }));
    if (verdict.action === "drop") {
      match(verdict.reason, /flooded ut_metadata: 1024 refused requests/);
      break;
    }
    if (verdict.action === "serve") {
      served++;
      queued++;
    } else if (verdict.strike) strikes++;
  }
  strictEqual(served, MAX_QUEUED_METADATA_REQUESTS);
  strictEqual(strikes, MAX_METADATA_REQUEST_STRIKES);
  strictEqual(sent, MAX_QUEUED_METADATA_REQUESTS + MAX_METADATA_REQUEST_STRIKES + 1);
});

Deno.test("checkMetadataRequest() takes custom caps", () => {
  strictEqual(checkMetadataRequest(0, context({ queued: 2, maxQueued: 2 })).action, "reject");
  strictEqual(checkMetadataRequest(0, context({ queued: 1, maxQueued: 2 })).action, "serve");
  strictEqual(checkMetadataRequest(0, context({ strikes: 3, maxStrikes: 3 })).action, "drop");
  strictEqual(checkMetadataRequest(0, context({ strikes: 2, maxStrikes: 3 })).action, "serve");
});

Deno.test("metadataDataReply() pieces decode and reassemble to the info bytes", () => {
  const info = randomBytes(14_292_960, 3);
  const count = Math.ceil(info.length / METADATA_PIECE_SIZE);
  const joined = new Uint8Array(info.length);
  for (let piece = 0; piece < count; piece++) {
    const message = decodeMetadataMessage(encodeMetadataMessage(metadataDataReply(info, piece)));
    if (message.type !== "data") throw new Error(`piece ${piece}: ${message.type}`);
    strictEqual(message.piece, piece);
    strictEqual(message.totalSize, info.length);
    joined.set(message.data, piece * METADATA_PIECE_SIZE);
  }
  deepStrictEqual(joined, info);
  strictEqual(metadataDataReply(info, count - 1).data.length, info.length % METADATA_PIECE_SIZE);
});

Deno.test("metadataDataReply() throws for a piece it does not have", () => {
  for (const piece of [4, -1, 0.5]) {
    throws(() => metadataDataReply(new Uint8Array(SIZE), piece), /piece .* is not in 0..3/);
  }
});
