#!/usr/bin/python3
"""Times a fresh libtorrent (python3-libtorrent 2.0.8) session fetching a magnet over a test DHT.

Run with /usr/bin/python3 (Debian's Python, where the libtorrent module lives); used by
bench/magnet_bench.ts.

  lt_magnet_timing.py CONFIG_JSON
    CONFIG_JSON keys: magnet (URI), dir (save path), nodes ([{host, port}]: the DHT nodes to
    enter by), bootstrap ("node", the default: add_dht_node, as tests/interop/lt_magnet.py
    does; "router": the nodes as dht_bootstrap_nodes, with which 2.0.8 bootstraps but never
    announces the torrent), warm (before adding the magnet, wait at most 10 s for
    dht_bootstrap_alert or a routing table of warmNodes nodes, default 8), limitS (give up after this many seconds).
    A new session is made (DHT on, LSD, UPnP, NAT-PMP and uTP off, 127.0.0.1 only, never a
    public router); the magnet is added at once (warm: once bootstrapped); then it prints JSON
    lines, times in ms from just before add_torrent:
      {"event": "bootstrapped", "ms": T, "nodes": N}      (warm) ms from the session's start
      {"event": "metadata", "ms": T}                      metadata_received_alert
      {"event": "piece", "ms": T, "index": I}             the first piece_finished_alert
      {"event": "complete", "ms": T}                      torrent_finished_alert
      {"event": "dht", "at": "metadata"|"piece", "out": N, "in": N}
          the session's DHT message counters (dht.dht_messages_out / _in) when it had the
          metadata and the first piece (warm: less those before the magnet was added)
      {"event": "error", "message": "..."}                a torrent error, or the time limit
    and exits after "complete" (or when stdin closes, or at the limit).
Alerts are waited for with wait_for_alert (no polling interval), so a time is late by the
alert queue's hand-over only.
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


def counters(values, out_at, in_at):
    """The DHT message counters of a session_stats_alert's values (a dict or a list)."""
    if isinstance(values, dict):
        return {"out": values["dht.dht_messages_out"], "in": values["dht.dht_messages_in"]}
    return {"out": values[out_at], "in": values[in_at]}


def main():
    cfg = json.loads(sys.argv[1])
    nodes = [(n["host"], int(n["port"])) for n in cfg["nodes"]]
    endpoints = ",".join("%s:%d" % n for n in nodes)
    as_router = cfg.get("bootstrap", "node") == "router"
    ses = lt.session({
        "listen_interfaces": "127.0.0.1:0",
        "outgoing_interfaces": "127.0.0.1",
        "enable_dht": True,
        # Never the public routers: the test nodes, or nothing (then add_dht_node below).
        "dht_bootstrap_nodes": endpoints if as_router else "",
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "enable_outgoing_utp": False,
        "enable_incoming_utp": False,
        # Needed on loopback, where every node is 127.0.0.1 (RESEARCH.md 1.4).
        "dht_restrict_routing_ips": False,
        "dht_restrict_search_ips": False,
        "dht_block_ratelimit": 100000,
        "allow_multiple_connections_per_ip": True,
        "alert_mask": lt.alert.category_t.error_notification
        | lt.alert.category_t.status_notification
        | lt.alert.category_t.piece_progress_notification
        | lt.alert.category_t.stats_notification
        | lt.alert.category_t.dht_notification,
        "alert_queue_size": 10000,
    })
    if not as_router:
        for n in nodes:
            ses.add_dht_node(n)
    params = lt.parse_magnet_uri(cfg["magnet"])
    params.save_path = os.path.abspath(cfg["dir"])
    params.flags &= ~lt.torrent_flags.auto_managed
    params.flags &= ~lt.torrent_flags.paused
    names = {m.name: m.value_index for m in lt.session_stats_metrics()}
    out_at, in_at = names["dht.dht_messages_out"], names["dht.dht_messages_in"]
    stats_for = []  # which milestone each posted stats request is for, in order
    if cfg.get("warm"):
        # Bootstrapped: dht_bootstrap_alert, or (add_dht_node gives none) a routing table of
        # warmNodes nodes, asked for every 20 ms.
        started = time.monotonic()
        nodes = 0
        bootstrapped = False
        while not bootstrapped and time.monotonic() < started + 10:
            ses.post_dht_stats()
            ses.wait_for_alert(20)
            for a in ses.pop_alerts():
                if isinstance(a, lt.dht_bootstrap_alert):
                    bootstrapped = True
                elif isinstance(a, lt.dht_stats_alert):
                    nodes = sum(b["num_nodes"] for b in a.routing_table)
                    bootstrapped = bootstrapped or nodes >= int(cfg.get("warmNodes", 8))
        emit({
            "event": "bootstrapped",
            "ms": round((time.monotonic() - started) * 1000.0, 1),
            "nodes": nodes,
        })
    base = {"out": 0, "in": 0}  # warm: the counters before the magnet (bootstrap excluded)
    if cfg.get("warm"):
        ses.post_session_stats()
        wait_until = time.monotonic() + 5
        while time.monotonic() < wait_until and base["out"] == 0:
            ses.wait_for_alert(50)
            for a in ses.pop_alerts():
                if isinstance(a, lt.session_stats_alert):
                    base = counters(a.values, out_at, in_at)
    t0 = time.monotonic()
    ses.add_torrent(params)
    deadline = t0 + float(cfg.get("limitS", 60))
    ms = lambda: round((time.monotonic() - t0) * 1000.0, 1)
    got_piece = False
    finished = False
    while time.monotonic() < deadline and not (finished and not stats_for):
        if select.select([sys.stdin], [], [], 0)[0] and not os.read(sys.stdin.fileno(), 4096):
            return
        ses.wait_for_alert(50)
        for alert in ses.pop_alerts():
            if isinstance(alert, lt.metadata_received_alert):
                emit({"event": "metadata", "ms": ms()})
                stats_for.append("metadata")
                ses.post_session_stats()
            elif isinstance(alert, lt.piece_finished_alert) and not got_piece:
                got_piece = True
                emit({"event": "piece", "ms": ms(), "index": alert.piece_index})
                stats_for.append("piece")
                ses.post_session_stats()
            elif isinstance(alert, lt.torrent_finished_alert):
                emit({"event": "complete", "ms": ms()})
                finished = True
            elif isinstance(alert, lt.session_stats_alert) and stats_for:
                now = counters(alert.values, out_at, in_at)
                emit({
                    "event": "dht",
                    "at": stats_for.pop(0),
                    "out": now["out"] - base["out"],
                    "in": now["in"] - base["in"],
                })
            elif isinstance(alert, (lt.torrent_error_alert, lt.file_error_alert)):
                emit({"event": "error", "message": alert.message()})
                return
    if not finished:
        emit({"event": "error", "message": "time limit of %s s" % cfg.get("limitS", 60)})


if __name__ == "__main__":
    main()
