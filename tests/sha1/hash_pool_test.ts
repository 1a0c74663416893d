import { createHash } from "node:crypto";
import { deepStrictEqual, ok, rejects, strictEqual, throws } from "node:assert/strict";
import { HashPool } from "@shoal/shoal";
import { encodeHex } from "@shoal/shoal/bytes";
import { MAX_DEFAULT_HASH_POOL_SIZE } from "@shoal/shoal/sha1";

function nodeSha1(data: Uint8Array): string {
  return createHash("sha1").update(data).digest("hex");
}

function randomBytes(length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let off = 0; off < length; off += 65536) {
    crypto.getRandomValues(out.subarray(off, off + 65536));
  }
  return out;
}

Deno.test("HashPool hashes many concurrent jobs of random sizes like node:crypto", async () => {
  await using pool = new HashPool({ size: 2 });
  strictEqual(pool.size, 2);
  const inputs: { data: Uint8Array; copy: Uint8Array; whole: boolean }[] = [];
  for (let i = 0; i < 200; i++) {
    const length = Math.random() < 0.2
      ? Math.floor(Math.random() * 130)
      : Math.floor(Math.random() * 600_000);
    const whole = i % 2 === 0;
    const data = whole ? randomBytes(length) : randomBytes(length + 7).subarray(3, 3 + length);
    inputs.push({ data, copy: data.slice(), whole });
  }
  const results = await Promise.all(inputs.map(({ data }) => pool.hash(data)));
  strictEqual(pool.startError, undefined, "workers started");
  for (let i = 0; i < inputs.length; i++) {
    const { data, copy, whole } = inputs[i];
    const result = results[i];
    strictEqual(encodeHex(result.digest), nodeSha1(copy), `job ${i}`);
    strictEqual(result.digest.length, 20);
    strictEqual(result.data.byteOffset, whole ? 0 : 3);
    deepStrictEqual(result.data, copy);
    if (whole && copy.length > 0) {
      strictEqual(data.byteLength, 0, "a whole-buffer input is transferred (detached)");
      strictEqual(result.data.buffer.byteLength, copy.length);
    } else if (!whole) {
      strictEqual(result.data, data, "a partial view is copied and returned as is");
    }
  }
});

Deno.test("HashPool copies a partial view at call time, so the caller may reuse it", async () => {
  await using pool = new HashPool({ size: 1 });
  const buffer = randomBytes(1000);
  const view = buffer.subarray(1, 999);
  const expected = nodeSha1(view);
  const pending = pool.hash(view);
  view.fill(0); // after the call: must not change the digest
  const { digest, data } = await pending;
  strictEqual(encodeHex(digest), expected);
  strictEqual(data, view);
  strictEqual(buffer.byteLength, 1000, "not detached");
});

Deno.test("HashPool transfers a whole-buffer input and hands the same bytes back", async () => {
  await using pool = new HashPool({ size: 1 });
  const data = randomBytes(256 * 1024);
  const copy = data.slice();
  const result = await pool.hash(data);
  strictEqual(data.byteLength, 0);
  strictEqual(data.buffer.byteLength, 0);
  strictEqual(result.data.byteOffset, 0);
  strictEqual(result.data.byteLength, copy.byteLength);
  deepStrictEqual(result.data, copy);
  strictEqual(encodeHex(result.digest), nodeSha1(copy));
  // The returned bytes can go round again.
  strictEqual(encodeHex((await pool.hash(result.data)).digest), nodeSha1(copy));
});

Deno.test("HashPool shares a SharedArrayBuffer view without copying or detaching", async () => {
  await using pool = new HashPool({ size: 1 });
  const shared = new Uint8Array(new SharedArrayBuffer(5000));
  shared.set(randomBytes(5000));
  const view = shared.subarray(5, 4005);
  const result = await pool.hash(view);
  strictEqual(result.data, view);
  strictEqual(encodeHex(result.digest), nodeSha1(view.slice()));
});

Deno.test("HashPool rejects a detached input with TypeError", async () => {
  await using pool = new HashPool({ size: 1 });
  const data = randomBytes(64);
  await pool.hash(data);
  await rejects(pool.hash(data), { name: "TypeError", message: /detached/ });
});

Deno.test("HashPool settles jobs first in, first out with one worker", async () => {
  await using pool = new HashPool({ size: 1 });
  const order: number[] = [];
  const jobs = [];
  for (let i = 0; i < 20; i++) {
    jobs.push(pool.hash(randomBytes((20 - i) * 10_000)).then(() => order.push(i)));
  }
  strictEqual(pool.queued, 20, "queued until the worker is ready");
  await Promise.all(jobs);
  deepStrictEqual(order, [...Array(20).keys()]);
  strictEqual(pool.queued, 0);
});

Deno.test("HashPool.verify() says whether the digest matches", async () => {
  await using pool = new HashPool({ size: 1 });
  const data = randomBytes(10_000);
  const expected = createHash("sha1").update(data).digest();
  const good = await pool.verify(data.slice(), new Uint8Array(expected));
  strictEqual(good.ok, true);
  deepStrictEqual(good.data, data);
  const bad = data.slice();
  bad[5000] ^= 1;
  strictEqual((await pool.verify(bad, new Uint8Array(expected))).ok, false);
  strictEqual((await pool.verify(data.slice(), new Uint8Array(19))).ok, false);
});

Deno.test("HashPool.close() rejects running and queued jobs", async () => {
  const pool = new HashPool({ size: 1 });
  const jobs = [];
  for (let i = 0; i < 6; i++) jobs.push(pool.hash(randomBytes(4 * 1024 * 1024)));
  const outcomes = Promise.allSettled(jobs);
  // Let the worker start and take the first job.
  await new Promise((resolve) => setTimeout(resolve, 0));
  pool.close();
  for (const outcome of await outcomes) {
    strictEqual(outcome.status, "rejected");
    ok(outcome.reason instanceof Error);
    ok(/closed/.test(outcome.reason.message), outcome.reason.message);
  }
});

Deno.test("HashPool.close() twice is fine, and hashing after close rejects", async () => {
  const pool = new HashPool({ size: 2 });
  await pool.hash(randomBytes(100));
  pool.close();
  pool.close();
  await pool[Symbol.asyncDispose]();
  await rejects(pool.hash(randomBytes(100)), /closed/);
  await rejects(pool.verify(randomBytes(100), new Uint8Array(20)), /closed/);
});

Deno.test("HashPool rejects the batches of a failing worker and replaces the worker", async () => {
  const sha1Url = new URL("../../src/sha1/sha1.ts", import.meta.url).href;
  const source = `
    import { sha1 } from ${JSON.stringify(sha1Url)};
    onmessage = (event) => {
      const { id, items } = event.data;
      if (items.some((item) => item.byteLength === 13)) throw new Error("boom on 13 bytes");
      const views = items.map((i) => new Uint8Array(i.buffer, i.byteOffset, i.byteLength));
      const digests = views.map((view) => sha1(view));
      const buffers = items.map((item) => item.buffer);
      postMessage({ id, digests, buffers }, [...digests.map((d) => d.buffer), ...buffers]);
    };
    postMessage({ ready: true });
  `;
  const workerUrl = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
  try {
    await using pool = new HashPool({ size: 1, workerUrl });
    const first = randomBytes(10);
    const expectedFirst = nodeSha1(first);
    strictEqual(encodeHex((await pool.hash(first)).digest), expectedFirst);
    await rejects(pool.hash(randomBytes(13)), (error: Error) => {
      ok(error instanceof Error);
      ok(/boom on 13 bytes/.test(error.message), error.message);
      return true;
    });
    const second = randomBytes(50);
    const expectedSecond = nodeSha1(second);
    strictEqual(
      encodeHex((await pool.hash(second)).digest),
      expectedSecond,
      "the replacement worker hashes the next job",
    );
    // The batch with the failing job is rejected whole, and so is the batch the broken worker
    // held behind it (its bytes went with the worker): none is left pending.
    const outcomes = await Promise.allSettled([
      pool.hashMany([13, 20, 30, 40].map(randomBytes)),
      pool.hashMany([50, 60, 70, 80].map(randomBytes)),
    ]);
    deepStrictEqual(outcomes.map((o) => o.status), ["rejected", "rejected"]);
    for (const outcome of outcomes) {
      if (outcome.status === "rejected") ok(outcome.reason instanceof Error);
    }
    strictEqual(pool.size, 1);
    const last = [30, 31, 32].map(randomBytes);
    const expectedLast = last.map(nodeSha1);
    deepStrictEqual(
      (await pool.hashMany(last)).map((r) => encodeHex(r.digest)),
      expectedLast,
      "a later batch runs on a new worker",
    );
  } finally {
    URL.revokeObjectURL(workerUrl);
  }
});

/** A worker whose "digest" says how many items came in its batch (first byte). */
function batchSizeWorkerUrl(): string {
  const source = `
    onmessage = (event) => {
      const { id, items } = event.data;
      const digests = items.map(() => new Uint8Array(20).fill(items.length));
      const buffers = items.map((item) => item.buffer);
      postMessage({ id, digests, buffers }, [...digests.map((d) => d.buffer), ...buffers]);
    };
    postMessage({ ready: true });
  `;
  return URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
}

Deno.test("HashPool sends jobs queued together in batches of up to four, a lone job alone", async () => {
  const workerUrl = batchSizeWorkerUrl();
  try {
    await using pool = new HashPool({ size: 1, workerUrl });
    const sizes = (results: { digest: Uint8Array }[]) => results.map((r) => r.digest[0]);
    deepStrictEqual(sizes(await pool.hashMany([1, 2, 3, 4].map(randomBytes))), [4, 4, 4, 4]);
    deepStrictEqual(sizes(await pool.hashMany([1, 2, 3, 4, 5, 6].map(randomBytes))), [
      4,
      4,
      4,
      4,
      2,
      2,
    ]);
    // Separate hash() calls in one tick keep each other company too.
    const three = await Promise.all([1, 2, 3].map((n) => pool.hash(randomBytes(n))));
    deepStrictEqual(sizes(three), [3, 3, 3]);
    // A lone job does not wait for ever.
    deepStrictEqual(sizes([await pool.hash(randomBytes(7))]), [1]);
    strictEqual(pool.queued, 0);
  } finally {
    URL.revokeObjectURL(workerUrl);
  }
});

Deno.test("HashPool.hashMany() hashes like node:crypto, in order, on workers and without", async () => {
  for (const size of [2, 0]) {
    await using pool = new HashPool({ size });
    const inputs = [
      ...Array.from({ length: 9 }, () => randomBytes(256 * 1024)),
      randomBytes(1000),
      randomBytes(300_001).subarray(1),
      randomBytes(0),
    ];
    const expected = inputs.map(nodeSha1);
    const results = await pool.hashMany(inputs);
    deepStrictEqual(results.map((r) => encodeHex(r.digest)), expected, `size ${size}`);
    deepStrictEqual(results.map((r) => nodeSha1(r.data)), expected, "the bytes came back");
    strictEqual(pool.startError, undefined);
  }
});

Deno.test("HashPool.hashMany() with a detached input rejects and queues nothing", async () => {
  await using pool = new HashPool({ size: 1 });
  const detached = randomBytes(64);
  await pool.hash(detached);
  const fine = randomBytes(64);
  await rejects(pool.hashMany([fine, detached]), { name: "TypeError", message: /detached/ });
  strictEqual(pool.queued, 0);
  strictEqual(fine.byteLength, 64, "the good input was not taken");
  strictEqual((await pool.hashMany([fine])).length, 1);
  pool.close();
  await rejects(pool.hashMany([randomBytes(64)]), /closed/);
});

Deno.test("HashPool falls back to the main thread when its worker cannot start", async () => {
  const workerUrl = new URL("./no_such_hash_worker.ts", import.meta.url);
  await using pool = new HashPool({ size: 2, workerUrl });
  const inputs = [randomBytes(1000), randomBytes(70_000).subarray(1, 60_001), randomBytes(0)];
  const expected = inputs.map((data) => nodeSha1(data));
  const results = await Promise.all(inputs.map((data) => pool.hash(data)));
  deepStrictEqual(results.map((r) => encodeHex(r.digest)), expected);
  deepStrictEqual(results.map((r) => nodeSha1(r.data)), expected, "no bytes lost");
  strictEqual(pool.size, 0);
  ok(pool.startError !== undefined);
  strictEqual(encodeHex((await pool.hash(inputs[1])).digest), expected[1]);
});

Deno.test("HashPool with size 0 hashes on the main thread without touching the input", async () => {
  await using pool = new HashPool({ size: 0 });
  const data = randomBytes(3000);
  const result = await pool.hash(data);
  strictEqual(result.data, data);
  strictEqual(encodeHex(result.digest), nodeSha1(data));
});

Deno.test("HashPool sizes itself from hardwareConcurrency and rejects bad sizes", () => {
  const pool = new HashPool();
  ok(pool.size >= 1 && pool.size <= MAX_DEFAULT_HASH_POOL_SIZE);
  strictEqual(pool.size, Math.min(MAX_DEFAULT_HASH_POOL_SIZE, navigator.hardwareConcurrency));
  pool.close();
  throws(() => new HashPool({ size: -1 }), RangeError);
  throws(() => new HashPool({ size: 1.5 }), RangeError);
});
