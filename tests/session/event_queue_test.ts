import { deepStrictEqual, rejects, strictEqual } from "node:assert/strict";
import { EventQueue } from "../../src/session/event_queue.ts";

async function collect<T>(queue: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of queue) out.push(item);
  return out;
}

/** Lets every pending promise callback run (a zero timer fires after all microtasks). */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

Deno.test("EventQueue yields pushed items in order, then ends on close()", async () => {
  const queue = new EventQueue<number>();
  for (let i = 0; i < 5; i++) queue.push(i);
  queue.close();
  deepStrictEqual(await collect(queue), [0, 1, 2, 3, 4]);
});

Deno.test("EventQueue closed while empty ends the loop at once", async () => {
  const queue = new EventQueue<string>();
  queue.close();
  deepStrictEqual(await collect(queue), []);
});

Deno.test("EventQueue ignores push() after close()", async () => {
  const queue = new EventQueue<number>();
  queue.push(1);
  queue.close();
  queue.push(2);
  deepStrictEqual(await collect(queue), [1]);
});

Deno.test("EventQueue keeps falsy items (0, '', undefined, null)", async () => {
  const queue = new EventQueue<unknown>();
  const items = [0, "", undefined, null, false, NaN];
  for (const item of items) queue.push(item);
  queue.close();
  deepStrictEqual(await collect(queue), items);
});

Deno.test("EventQueue wakes a waiting consumer on push() and on close()", async () => {
  const queue = new EventQueue<number>();
  const seen: number[] = [];
  let ended = false;
  const consumer = (async () => {
    for await (const n of queue) seen.push(n);
    ended = true;
  })();
  await settle();
  deepStrictEqual(seen, []);
  queue.push(1);
  await settle();
  deepStrictEqual(seen, [1]);
  queue.push(2);
  queue.push(3);
  await settle();
  deepStrictEqual(seen, [1, 2, 3]);
  strictEqual(ended, false);
  queue.close();
  await consumer;
  strictEqual(ended, true);
});

Deno.test("EventQueue.fail() delivers the queued items, then throws that error", async () => {
  const queue = new EventQueue<number>();
  const error = new RangeError("boom");
  queue.push(1);
  queue.push(2);
  queue.fail(error);
  const seen: number[] = [];
  await rejects(
    async () => {
      for await (const n of queue) seen.push(n);
    },
    (thrown) => thrown === error,
  );
  deepStrictEqual(seen, [1, 2]);
});

Deno.test("EventQueue.fail() wakes a waiting consumer with the error", async () => {
  const queue = new EventQueue<number>();
  const error = new Error("late failure");
  const consumer = collect(queue);
  await settle();
  queue.fail(error);
  await rejects(consumer, (thrown) => thrown === error);
});

Deno.test("EventQueue.fail() after close() is ignored", async () => {
  const queue = new EventQueue<number>();
  queue.push(7);
  queue.close();
  queue.fail(new Error("too late"));
  deepStrictEqual(await collect(queue), [7]);
});

Deno.test("EventQueue keeps the first error when fail() is called twice", async () => {
  const queue = new EventQueue<number>();
  const first = new Error("first");
  queue.fail(first);
  queue.fail(new Error("second"));
  queue.push(1); // ignored: failing closes the queue
  await rejects(collect(queue), (thrown) => thrown === first);
});

Deno.test("EventQueue.fail() can carry a non-Error value", async () => {
  const queue = new EventQueue<number>();
  queue.fail("plain string");
  await rejects(collect(queue), (thrown) => thrown === "plain string");
});

Deno.test("EventQueue keeps order across many items (internal compaction)", async () => {
  const queue = new EventQueue<number>();
  const total = 10_000;
  const seen: number[] = [];
  const consumer = (async () => {
    for await (const n of queue) seen.push(n);
  })();
  // Push in bursts so the consumer sometimes drains the queue and sometimes lags far behind.
  let next = 0;
  while (next < total) {
    const burst = 1 + (next * 7919) % 3000;
    for (let i = 0; i < burst && next < total; i++) queue.push(next++);
    if (next % 2 === 0) await settle();
    else await Promise.resolve();
  }
  queue.close();
  await consumer;
  strictEqual(seen.length, total);
  for (let i = 0; i < total; i++) {
    if (seen[i] !== i) throw new Error(`item ${i} is ${seen[i]}`);
  }
});

Deno.test("EventQueue: a loop that breaks leaves the rest for the next loop", async () => {
  const queue = new EventQueue<number>();
  for (let i = 0; i < 4; i++) queue.push(i);
  queue.close();
  const first: number[] = [];
  for await (const n of queue) {
    first.push(n);
    if (n === 1) break;
  }
  deepStrictEqual(first, [0, 1]);
  deepStrictEqual(await collect(queue), [2, 3]);
});
