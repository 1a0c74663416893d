// The Client in a few lines: add a torrent with two of its files selected, watch its events,
// stream one file from 1 MiB on while it downloads, raise another file's priority, pause and
// resume, wait until the selection is done, and remove the torrent (keeping its data).
//
//   deno run -A examples/client.ts <file.torrent | magnet:?...> [HOST:PORT of a peer]
import { Client } from "@shoal/shoal";

const [source, peer] = Deno.args;
if (!source) throw new Error("usage: examples/client.ts <file.torrent | magnet:?...> [HOST:PORT]");
const peers = peer ? [{ host: peer.split(":")[0], port: Number(peer.split(":")[1]) }] : [];

await using client = new Client({ dir: "downloads", port: 6881, dht: peers.length === 0 });
const torrent = await client.add(source, { files: [0, 2], peers });
console.log(`added ${torrent.name} (${torrent.state})`);

// Events: any number of consumers, each sees every event from the moment it starts.
const watching = (async () => {
  for await (const event of torrent.events()) {
    if (event.type === "state") console.log(`state: ${event.state}`);
    if (event.type === "complete") console.log(`complete in ${event.seconds.toFixed(1)} s`);
  }
})();

const file = torrent.files[0]; // { index, path, length, priority, bytesDone }
let streamed = 0;
for await (const chunk of file.stream({ start: 1 << 20 })) streamed += chunk.length; // in order
console.log(`streamed ${streamed} bytes of ${file.path} from offset 1 MiB`);

torrent.setFilePriority(1, "high"); // "skip" | "normal" | "high": file 1 is fetched now too
torrent.pause();
torrent.resume();
await torrent.done; // the selected files are complete
for (const f of torrent.files) {
  console.log(`${f.index} ${f.path}: ${f.bytesDone}/${f.length} ${f.priority}`);
}
await client.remove(torrent, { deleteData: false });
await watching; // its events end when it is removed
