import dgram from "node:dgram";

/** A received request, decoded just enough for the tests. */
export interface FakeUdpRequest {
  action: number;
  transactionId: number;
  connectionId: bigint;
  bytes: Uint8Array;
}

/** A scriptable BEP 15 tracker on 127.0.0.1 (node:dgram, independent of src/). */
export interface FakeUdpTracker extends AsyncDisposable {
  url: string;
  port: number;
  requests: FakeUdpRequest[];
}

export const FAKE_CONNECTION_ID = 0x1122334455667788n;

export function connectReply(transactionId: number, connectionId = FAKE_CONNECTION_ID): Uint8Array {
  const out = new Uint8Array(16);
  const view = new DataView(out.buffer);
  view.setUint32(0, 0);
  view.setUint32(4, transactionId);
  view.setBigUint64(8, connectionId);
  return out;
}

export function announceReply(
  transactionId: number,
  interval: number,
  peers: Uint8Array,
  leechers = 1,
  seeders = 2,
): Uint8Array {
  const out = new Uint8Array(20 + peers.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, 1);
  view.setUint32(4, transactionId);
  view.setUint32(8, interval);
  view.setUint32(12, leechers);
  view.setUint32(16, seeders);
  out.set(peers, 20);
  return out;
}

export function errorReply(transactionId: number, message: string): Uint8Array {
  const text = new TextEncoder().encode(message);
  const out = new Uint8Array(8 + text.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, 3);
  view.setUint32(4, transactionId);
  out.set(text, 8);
  return out;
}

/**
 * Starts a UDP tracker; `respond` gets each request (and its index) and returns the datagrams
 * to send back (none to drop it).
 */
export function startFakeUdpTracker(
  respond: (request: FakeUdpRequest, index: number) => Uint8Array[],
  host = "127.0.0.1",
): Promise<FakeUdpTracker> {
  const socket = dgram.createSocket(host.includes(":") ? "udp6" : "udp4");
  const requests: FakeUdpRequest[] = [];
  socket.on("message", (msg: Uint8Array, rinfo: dgram.RemoteInfo) => {
    const bytes = new Uint8Array(msg);
    if (bytes.length < 16) return;
    const view = new DataView(bytes.buffer);
    const request = {
      connectionId: view.getBigUint64(0),
      action: view.getUint32(8),
      transactionId: view.getUint32(12),
      bytes,
    };
    requests.push(request);
    for (const reply of respond(request, requests.length - 1)) {
      socket.send(reply, rinfo.port, rinfo.address);
    }
  });
  return new Promise((resolve) => {
    socket.bind(0, host, () => {
      const { port } = socket.address();
      const urlHost = host.includes(":") ? `[${host}]` : host;
      let closed: Promise<void> | undefined;
      resolve({
        url: `udp://${urlHost}:${port}/announce`,
        port,
        requests,
        [Symbol.asyncDispose]: () => {
          closed ??= new Promise((done) => socket.close(() => done()));
          return closed;
        },
      });
    });
  });
}
