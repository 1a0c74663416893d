import { deepStrictEqual, rejects, strictEqual } from "node:assert/strict";
import { openUdpSocket, type UdpMessage } from "../../src/tracker/udp_socket.ts";

Deno.test("openUdpSocket() sends and receives datagrams through handlers and messages()", async () => {
  await using a = await openUdpSocket({ host: "127.0.0.1" });
  await using b = await openUdpSocket({ host: "127.0.0.1" });
  strictEqual(a.family, 4);
  strictEqual(a.localHost, "127.0.0.1");
  const seen: UdpMessage[] = [];
  const off = a.onMessage((m) => seen.push(m));
  const iterator = a.messages()[Symbol.asyncIterator]();
  await b.send(new Uint8Array([1]), "127.0.0.1", a.localPort);
  const first = await iterator.next();
  deepStrictEqual(first.value, { data: new Uint8Array([1]), host: "127.0.0.1", port: b.localPort });
  deepStrictEqual(seen.map((m) => [...m.data]), [[1]]);
  off();
  await b.send(new Uint8Array([2]), "127.0.0.1", a.localPort);
  deepStrictEqual((await iterator.next()).value?.data, new Uint8Array([2]));
  strictEqual(seen.length, 1);
  await iterator.return?.();
});

Deno.test("openUdpSocket() ends messages() on close and close is idempotent", async () => {
  const socket = await openUdpSocket({ host: "127.0.0.1" });
  const iterator = socket.messages()[Symbol.asyncIterator]();
  const next = iterator.next();
  await socket.close();
  await socket.close();
  strictEqual((await next).done, true);
  strictEqual(socket.closed, true);
  await rejects(socket.send(new Uint8Array(1), "127.0.0.1", 9), /closed/);
});

Deno.test("openUdpSocket() ends messages() when its signal aborts", async () => {
  await using socket = await openUdpSocket({ host: "127.0.0.1" });
  const controller = new AbortController();
  const iterator = socket.messages({ signal: controller.signal })[Symbol.asyncIterator]();
  const next = iterator.next();
  controller.abort();
  strictEqual((await next).done, true);
});

Deno.test("openUdpSocket() works over IPv6 loopback", async () => {
  let a;
  try {
    a = await openUdpSocket({ host: "::1" });
  } catch {
    return; // no IPv6 on this machine: nothing to check
  }
  await using socketA = a;
  await using b = await openUdpSocket({ host: "::1" });
  strictEqual(socketA.family, 6);
  const got = socketA.messages()[Symbol.asyncIterator]();
  await b.send(new Uint8Array([6]), "::1", socketA.localPort);
  const message = (await got.next()).value;
  deepStrictEqual(message?.data, new Uint8Array([6]));
  strictEqual(message?.host, "::1");
  await got.return?.();
});

Deno.test("openUdpSocket() rejects a port that is taken", async () => {
  await using a = await openUdpSocket({ host: "127.0.0.1" });
  await rejects(openUdpSocket({ host: "127.0.0.1", port: a.localPort }));
});
