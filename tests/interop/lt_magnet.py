#!/usr/bin/python3
"""A libtorrent (python3-libtorrent 2.0.8) downloader of a magnet link, for shoal's interop tests.

Run with /usr/bin/python3 (Debian's Python, where the libtorrent module lives).

  lt_magnet.py CONFIG_JSON
    CONFIG_JSON keys: magnet (URI), dir (save path), dhtNodes ([{host, port}]: join that DHT,
    never a public router; none = no DHT), peers ([{host, port}] to connect to directly).
    Prints JSON lines:
      {"event": "ready", "port": N}                 listening (TCP and, with a DHT, UDP)
      {"event": "metadata", "peers": [[h, p], ...]} the info dictionary arrived; every peer it
                                                    was connected to until then
      {"event": "complete", "peers": [[h, p], ...]} every piece verified; every peer it was
                                                    ever connected to
    and exits after "complete", or when stdin closes.

Settings for a loopback DHT as in lt_dht.py (RESEARCH.md 1.4): an IP literal to listen on,
dht_restrict_routing_ips and dht_restrict_search_ips off, a high dht_block_ratelimit, no
bootstrap routers, add_dht_node for each given node.
"""

import json
import os
import select
import sys
import time

import libtorrent as lt


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main():
    cfg = json.loads(sys.argv[1])
    nodes = cfg.get("dhtNodes") or []
    ses = lt.session({
        "listen_interfaces": "127.0.0.1:0",
        "outgoing_interfaces": "127.0.0.1",
        "enable_dht": bool(nodes),
        "dht_bootstrap_nodes": "",
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "enable_outgoing_utp": False,
        "enable_incoming_utp": False,
        "dht_restrict_routing_ips": False,
        "dht_restrict_search_ips": False,
        "dht_block_ratelimit": 100000,
        "allow_multiple_connections_per_ip": True,
        "min_reconnect_time": 1,
        "peer_connect_timeout": 3,
        "alert_mask": lt.alert.category_t.error_notification
        | lt.alert.category_t.status_notification
        | lt.alert.category_t.connect_notification
        | lt.alert.category_t.peer_notification,
    })
    for node in nodes:
        ses.add_dht_node((node["host"], int(node["port"])))
    params = lt.parse_magnet_uri(cfg["magnet"])
    params.save_path = os.path.abspath(cfg["dir"])
    params.flags &= ~lt.torrent_flags.auto_managed
    params.flags &= ~lt.torrent_flags.paused
    handle = ses.add_torrent(params)
    for peer in cfg.get("peers") or []:
        handle.connect_peer((peer["host"], int(peer["port"])))
    port = 0
    deadline = time.time() + 10
    while port == 0 and time.time() < deadline:
        time.sleep(0.02)
        port = ses.listen_port()
    emit({"event": "ready", "port": port})
    seen = set()
    had_metadata = False
    while True:
        readable, _, _ = select.select([sys.stdin], [], [], 0.05)
        if readable and not os.read(sys.stdin.fileno(), 65536):
            return
        # Every connection, however short, is seen through its alerts.
        for alert in ses.pop_alerts():
            if isinstance(alert, (lt.peer_connect_alert, lt.peer_disconnected_alert)):
                seen.add((alert.endpoint[0], alert.endpoint[1]))
        seen.update((p.ip[0], p.ip[1]) for p in handle.get_peer_info())
        st = handle.status()
        if st.has_metadata and not had_metadata:
            had_metadata = True
            emit({"event": "metadata", "peers": sorted(seen)})
        if st.is_seeding or (had_metadata and st.is_finished):
            emit({"event": "complete", "peers": sorted(seen)})
            return


if __name__ == "__main__":
    main()
