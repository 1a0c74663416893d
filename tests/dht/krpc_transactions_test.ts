import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { KrpcTransactions } from "../../src/dht/krpc_transactions.ts";

const to = { host: "10.0.0.1", port: 6881 };
const reply = (transactionId: Uint8Array) =>
  ({ type: "response", transactionId, id: new Uint8Array(20) }) as const;

Deno.test("KrpcTransactions matches a reply by transaction id and sender address", async () => {
  const transactions = new KrpcTransactions();
  const a = transactions.start(to)!;
  const b = transactions.start(to)!;
  ok(a.transactionId.length === 2 && !a.transactionId.every((x, i) => x === b.transactionId[i]));
  ok(
    !transactions.settle({ host: "10.0.0.1", port: 6882 }, reply(a.transactionId)),
    "another port",
  );
  ok(
    !transactions.settle({ host: "10.0.0.2", port: 6881 }, reply(a.transactionId)),
    "another host",
  );
  ok(!transactions.settle(to, reply(new Uint8Array([0, 0, 0]))), "unknown id");
  ok(
    transactions.settle({ host: "::ffff:10.0.0.1", port: 6881 }, reply(a.transactionId)),
    "mapped form",
  );
  ok(!transactions.settle(to, reply(a.transactionId)), "a reply settles once");
  deepStrictEqual((await a.reply)?.transactionId, a.transactionId);
  strictEqual(transactions.size, 1);
  transactions.close();
  strictEqual(await b.reply, undefined);
  strictEqual(transactions.start(to), undefined, "closed");
});

Deno.test("KrpcTransactions reports slow queries, then times them out", async () => {
  const transactions = new KrpcTransactions({ slowMs: 5, timeoutMs: 30 });
  let slowAt = 0;
  const start = performance.now();
  const started = transactions.start(to, () => (slowAt = performance.now() - start))!;
  strictEqual(await started.reply, undefined);
  const total = performance.now() - start;
  ok(slowAt >= 4 && slowAt < total, `slow at ${slowAt} ms, timed out at ${total} ms`);
  ok(total >= 29);
  strictEqual(transactions.size, 0);
});

Deno.test("KrpcTransactions refuses queries beyond its cap", () => {
  const transactions = new KrpcTransactions({ maxPending: 3 });
  const started = [1, 2, 3].map(() => transactions.start(to));
  ok(started.every((s) => s !== undefined));
  strictEqual(transactions.start(to), undefined);
  started[0]!.cancel();
  ok(transactions.start(to) !== undefined);
  transactions.close();
});
