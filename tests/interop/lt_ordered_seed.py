#!/usr/bin/python3
"""A libtorrent (python3-libtorrent 2.0.8) seeder that answers requests in the order they came,
for shoal's streaming interop test.

Run with /usr/bin/python3 (Debian's Python, where the libtorrent module lives).

  lt_ordered_seed.py CONFIG_JSON
    CONFIG_JSON keys: torrent, dir (save path holding the complete data), uploadLimit (bytes/s,
    0 = none).
    Checks the data (no seed mode: a piece is not hashed on its first request), then prints
      {"event": "ready", "port": N, "pieces": P}
    once it seeds, and keeps seeding until stdin closes; each line read on stdin is answered with
      {"uploaded": BYTES, "peers": N}

lt_peer.py's seeder reads up to 16 MiB of requested blocks at once on ten disk threads and
sends each block as its read completes, which reorders a deep request queue by seconds. Here one
disk thread and a small send buffer keep the blocks in request order, and a 20 ms tick hands out
upload quota in small steps instead of a burst a second (pieces that arrive together may verify
in any order), so the order in which the downloader verifies pieces follows the order in which it
asked for them.
"""

import json
import os
import sys
import time

import libtorrent as lt


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main():
    cfg = json.loads(sys.argv[1])
    ses = lt.session({
        "listen_interfaces": "127.0.0.1:0",
        "outgoing_interfaces": "127.0.0.1",
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "enable_outgoing_utp": False,
        "enable_incoming_utp": False,
        "allow_multiple_connections_per_ip": True,
        "min_reconnect_time": 1,
        "aio_threads": 1,
        "tick_interval": 20,
        "send_buffer_watermark": 64 * 1024,
        "send_buffer_low_watermark": 16 * 1024,
        "send_buffer_watermark_factor": 1,
        "max_allowed_in_request_queue": 5000,
        "alert_mask": lt.alert.category_t.error_notification,
    })
    p = lt.add_torrent_params()
    p.ti = lt.torrent_info(cfg["torrent"])
    p.save_path = os.path.abspath(cfg["dir"])
    p.flags &= ~lt.torrent_flags.auto_managed
    p.flags &= ~lt.torrent_flags.paused
    h = ses.add_torrent(p)
    limit = int(cfg.get("uploadLimit") or 0)
    if limit > 0:
        h.set_upload_limit(limit)
    deadline = time.time() + 30
    while time.time() < deadline:
        ses.pop_alerts()
        st = h.status()
        if st.is_seeding and ses.listen_port() != 0:
            break
        if st.errc.value() != 0:
            raise SystemExit("seed: %s" % st.errc.message())
        time.sleep(0.02)
    else:
        raise SystemExit("seed: not seeding after 30 s")
    emit({"event": "ready", "port": ses.listen_port(), "pieces": h.status().num_pieces})
    for _line in sys.stdin:
        ses.pop_alerts()
        st = h.status()
        emit({"uploaded": st.total_payload_upload, "peers": st.num_peers})


if __name__ == "__main__":
    main()
