#!/usr/bin/python3
"""A test DHT of libtorrent (python3-libtorrent 2.0.8) nodes on 127.0.0.1, for shoal's tests.

Run with /usr/bin/python3 (Debian's Python, where the libtorrent module lives).

  lt_dht.py CONFIG_JSON
    CONFIG_JSON keys: nodes (count, default 8), ports (optional list of UDP/TCP ports, 0 = any).
    Starts that many sessions, each a DHT node seeded with add_dht_node for every other, waits
    until each routing table holds the others (or 10 s pass), then prints
      {"event": "ready", "nodes": [{"host": "127.0.0.1", "port": N}, ...]}
    and answers JSON-line commands read from stdin, one reply line each:
      {"id": 1, "cmd": "announce", "infoHash": HEX, "port": P, "timeoutMs": T, "minNodes": M,
       "torrent": PATH, "dir": SAVE_DIR}
          a new session listening on P (0 = any) joins the DHT, adds the magnet of HEX (or, with
          "torrent" and "dir", that torrent in seed mode: a seeder others can download from) and
          force_dht_announce()s it; replies once M distinct DHT nodes (default 1) received it
          (dht_announce_alert) or T ms passed: {"port": P, "announces": [{"node", "host", "port"}]}.
          Announcing sessions are DHT nodes too: "node" >= the node count names one of them.
      {"id": 2, "cmd": "get_peers", "infoHash": HEX, "node": I, "timeoutMs": T}
          node I runs dht_get_peers; replies with its dht_get_peers_reply_alert:
          {"peers": [{"host", "port"}]}
      {"id": 3, "cmd": "add_node", "host": H, "port": P}   every node add_dht_node((H, P))
      {"id": 4, "cmd": "table_sizes"}                      {"sizes": [nodes per routing table]}
      {"id": 5, "cmd": "announces", "infoHash": HEX}       announces every node received so far
    Replies are {"id": ..., "ok": true, ...} or {"id": ..., "ok": false, "error": "..."}.
    Exits when stdin closes.

Settings that make a loopback DHT work (RESEARCH.md 1.4): listen_interfaces as an IP literal,
dht_restrict_routing_ips and dht_restrict_search_ips off (every node is 127.0.0.1),
dht_block_ratelimit raised, no bootstrap routers (never the public ones), add_dht_node for
neighbours.
"""

import json
import os
import select
import shutil
import sys
import tempfile
import time

import libtorrent as lt

ALERTS = (
    lt.alert.category_t.dht_notification
    | lt.alert.category_t.dht_operation_notification
    | lt.alert.category_t.error_notification
    | lt.alert.category_t.status_notification
)


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def dht_settings(port):
    return {
        "listen_interfaces": "127.0.0.1:%d" % port,
        "outgoing_interfaces": "127.0.0.1",
        "enable_dht": True,
        "dht_bootstrap_nodes": "",
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "dht_restrict_routing_ips": False,
        "dht_restrict_search_ips": False,
        "dht_block_ratelimit": 100000,
        "dht_upload_rate_limit": 10000000,
        "allow_multiple_connections_per_ip": True,
        "alert_mask": ALERTS,
        "alert_queue_size": 100000,
    }


class Dht:
    def __init__(self, count, ports):
        self.sessions = []
        for i in range(count):
            port = ports[i] if i < len(ports) else 0
            self.sessions.append(lt.session(dht_settings(port)))
        self.ports = [s.listen_port() for s in self.sessions]
        self.announces = []  # (node index, info hash hex, ip, port)
        self.get_peers_replies = {}  # (node, info hash hex) -> peers
        self.table_sizes = [0] * count
        self.extra = []  # announcing sessions
        self.save_root = tempfile.mkdtemp(prefix="lt_dht_")
        for i, s in enumerate(self.sessions):
            for j, p in enumerate(self.ports):
                if i != j:
                    s.add_dht_node(("127.0.0.1", p))

    def pump(self):
        for i, s in enumerate(self.sessions + self.extra):
            for a in s.pop_alerts():
                if isinstance(a, lt.dht_announce_alert):
                    self.announces.append((i, str(a.info_hash), a.ip, a.port))
                elif isinstance(a, lt.dht_get_peers_reply_alert):
                    peers = [{"host": h, "port": p} for (h, p) in a.peers()]
                    self.get_peers_replies[(i, str(a.info_hash))] = peers
                elif isinstance(a, lt.dht_stats_alert) and i < len(self.table_sizes):
                    self.table_sizes[i] = sum(b["num_nodes"] for b in a.routing_table)

    def refresh_sizes(self):
        for s in self.sessions:
            s.post_dht_stats()
        deadline = time.time() + 2
        before = list(self.table_sizes)
        while time.time() < deadline:
            time.sleep(0.05)
            self.pump()
            if self.table_sizes != before or all(n > 0 for n in self.table_sizes):
                break
        return self.table_sizes

    def wait_converged(self, limit_s):
        want = len(self.sessions) - 1
        deadline = time.time() + limit_s
        while time.time() < deadline:
            sizes = self.refresh_sizes()
            if all(n >= want for n in sizes):
                return
            time.sleep(0.2)

    def announces_for(self, info_hash):
        return [
            {"node": n, "host": ip, "port": port}
            for (n, h, ip, port) in self.announces
            if h == info_hash
        ]

    def announce(self, info_hash, port, timeout_ms, min_nodes, torrent, save_dir):
        s = lt.session(dht_settings(port))
        self.extra.append(s)
        for p in self.ports:
            s.add_dht_node(("127.0.0.1", p))
        if torrent:
            params = lt.add_torrent_params()
            params.ti = lt.torrent_info(torrent)
            params.save_path = save_dir
            params.flags |= lt.torrent_flags.seed_mode
            if str(params.ti.info_hashes().v1) != info_hash:
                raise ValueError("the torrent's info hash is not %s" % info_hash)
        else:
            params = lt.parse_magnet_uri("magnet:?xt=urn:btih:" + info_hash)
            params.save_path = os.path.join(self.save_root, str(len(self.extra)))
        handle = s.add_torrent(params)
        deadline = time.time() + timeout_ms / 1000.0
        next_kick = 0
        while time.time() < deadline:
            if time.time() >= next_kick:
                handle.force_dht_announce()
                next_kick = time.time() + 2
            time.sleep(0.05)
            self.pump()
            if len({a["node"] for a in self.announces_for(info_hash)}) >= min_nodes:
                break
        return {"port": s.listen_port(), "announces": self.announces_for(info_hash)}

    def get_peers(self, info_hash, node, timeout_ms):
        key = (node, info_hash)
        self.get_peers_replies.pop(key, None)
        self.sessions[node].dht_get_peers(lt.sha1_hash(bytes.fromhex(info_hash)))
        deadline = time.time() + timeout_ms / 1000.0
        while time.time() < deadline:
            time.sleep(0.005)
            self.pump()
            if key in self.get_peers_replies:
                return {"peers": self.get_peers_replies[key]}
        raise RuntimeError("no dht_get_peers reply within %d ms" % timeout_ms)


def main():
    config = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    dht = Dht(int(config.get("nodes", 8)), config.get("ports", []))
    dht.wait_converged(10)
    emit({"event": "ready", "nodes": [{"host": "127.0.0.1", "port": p} for p in dht.ports]})
    buffer = b""
    while True:
        readable, _, _ = select.select([sys.stdin], [], [], 0.1)
        dht.pump()
        if not readable:
            continue
        chunk = os.read(sys.stdin.fileno(), 65536)
        if not chunk:
            break
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            if not line.strip():
                continue
            request = json.loads(line)
            rid = request.get("id")
            try:
                cmd = request["cmd"]
                if cmd == "announce":
                    reply = dht.announce(
                        request["infoHash"].lower(),
                        int(request.get("port", 0)),
                        int(request.get("timeoutMs", 10000)),
                        int(request.get("minNodes", 1)),
                        request.get("torrent"),
                        request.get("dir"),
                    )
                elif cmd == "get_peers":
                    reply = dht.get_peers(
                        request["infoHash"].lower(),
                        int(request.get("node", 0)),
                        int(request.get("timeoutMs", 10000)),
                    )
                elif cmd == "add_node":
                    for s in dht.sessions:
                        s.add_dht_node((request["host"], int(request["port"])))
                    reply = {}
                elif cmd == "table_sizes":
                    reply = {"sizes": dht.refresh_sizes()}
                elif cmd == "announces":
                    reply = {"announces": dht.announces_for(request["infoHash"].lower())}
                else:
                    raise ValueError("unknown command %r" % cmd)
                reply.update({"id": rid, "ok": True})
                emit(reply)
            except Exception as error:  # noqa: BLE001 - every failure goes back to the caller
                emit({"id": rid, "ok": False, "error": str(error)})
    shutil.rmtree(dht.save_root, ignore_errors=True)


if __name__ == "__main__":
    main()
