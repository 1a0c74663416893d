#!/usr/bin/python3
"""libtorrent (python3-libtorrent) helper for shoal's interop tests.

Run with /usr/bin/python3 (Debian's Python, where the libtorrent module lives).

Subcommands (each prints one JSON line on stdout, or exits non-zero with a message on stderr):
  info TORRENT                       -> {"infoHash", "name", "files", "numPieces", "pieceLength", "totalSize"}
  create SOURCE OUT [--piece-length N] [--tracker URL]... [--private] [--hybrid]
                                     -> {"ok": true}
  check TORRENT SAVE_DIR             -> {"numPieces", "validPieces"}
  fetch TORRENT SAVE_DIR HOST PORT [plaintext]
                                     downloads from one peer, exits when complete
                                     -> {"seconds"} (for bench/e2e.ts); "plaintext" turns off
                                     libtorrent's encrypted-first (MSE) connection attempt
  peer CONFIG_JSON                   long-running peer: prints {"event": "ready", "port": N}, then
                                     answers JSON-line commands read from stdin:
                                       {"id": 1, "cmd": "status"}
                                       {"id": 2, "cmd": "connect", "host": "127.0.0.1", "port": 6881}
                                     with {"id": ..., "ok": true, ...} or {"id": ..., "ok": false,
                                     "error": "..."}. Exits when stdin closes.
CONFIG_JSON keys: torrent, dir, seed (bool), port (0 = any), peers ([{host, port}]),
uploadLimit (bytes/s, 0 = none), encryption (optional {"policy": "forced" | "enabled" |
"disabled", "level": "plaintext" | "rc4" | "both"}: MSE policy for incoming and outgoing
connections; libtorrent's defaults when absent).
"""

import json
import os
import sys
import time

import libtorrent as lt

CHECKING_STATES = ("checking_files", "checking_resume_data", "queued_for_checking", "allocating")


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def loopback_settings(port):
    s = lt.high_performance_seed()
    s.update({
        "listen_interfaces": "127.0.0.1:%d" % port,
        "outgoing_interfaces": "127.0.0.1",
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "enable_outgoing_utp": False,
        "enable_incoming_utp": False,
        "allow_multiple_connections_per_ip": True,
        "min_reconnect_time": 1,
        "max_out_request_queue": 5000,
        "send_buffer_watermark": 16 * 1024 * 1024,
        "max_queued_disk_bytes": 64 * 1024 * 1024,
        "upload_rate_limit": 0,
        "download_rate_limit": 0,
        "peer_connect_timeout": 3,
        "handshake_timeout": 5,
        "tracker_completion_timeout": 10,
        "tracker_receive_timeout": 5,
        "stop_tracker_timeout": 1,
        "alert_mask": lt.alert.category_t.error_notification
        | lt.alert.category_t.status_notification,
        "alert_queue_size": 10000,
    })
    return s


ENC_POLICIES = {"forced": 0, "enabled": 1, "disabled": 2}
ENC_LEVELS = {"plaintext": 1, "rc4": 2, "both": 3}


def encryption_settings(enc):
    policy = ENC_POLICIES[enc.get("policy", "forced")]
    return {
        "out_enc_policy": policy,
        "in_enc_policy": policy,
        "allowed_enc_level": ENC_LEVELS[enc.get("level", "both")],
    }


def state_name(st):
    return str(st.state).split(".")[-1]


def cmd_info(path):
    ti = lt.torrent_info(path)
    fs = ti.files()
    files = []
    for i in range(fs.num_files()):
        files.append({
            "path": fs.file_path(i).replace(os.sep, "/"),
            "size": fs.file_size(i),
            "pad": bool(fs.file_flags(i) & lt.file_storage.flag_pad_file),
        })
    emit({
        "infoHash": str(ti.info_hashes().v1),
        "name": ti.name(),
        "files": files,
        "numPieces": ti.num_pieces(),
        "pieceLength": ti.piece_length(),
        "totalSize": ti.total_size(),
    })


def cmd_create(args):
    source = None
    out = None
    piece_length = 0
    trackers = []
    private = False
    hybrid = False
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--piece-length":
            piece_length = int(args[i + 1])
            i += 2
        elif a == "--tracker":
            trackers.append(args[i + 1])
            i += 2
        elif a == "--private":
            private = True
            i += 1
        elif a == "--hybrid":
            hybrid = True
            i += 1
        elif source is None:
            source = a
            i += 1
        elif out is None:
            out = a
            i += 1
        else:
            raise SystemExit("create: unexpected argument %r" % a)
    if source is None or out is None:
        raise SystemExit("create: need SOURCE and OUT")
    source = os.path.abspath(source)
    fs = lt.file_storage()
    lt.add_files(fs, source)
    if fs.num_files() == 0:
        raise SystemExit("create: no files under %s" % source)
    flags = 0 if hybrid else lt.create_torrent.v1_only
    ct = lt.create_torrent(fs, piece_length, flags=flags)
    for tier, url in enumerate(trackers):
        ct.add_tracker(url, tier)
    ct.set_priv(private)
    ct.set_creator("shoal interop harness (libtorrent %s)" % lt.__version__)
    lt.set_piece_hashes(ct, os.path.dirname(source))
    with open(out, "wb") as f:
        f.write(lt.bencode(ct.generate()))
    emit({"ok": True})


def cmd_check(torrent, save_dir):
    ses = lt.session(loopback_settings(0))
    ses.apply_settings({"listen_interfaces": ""})
    ti = lt.torrent_info(torrent)
    p = lt.add_torrent_params()
    p.ti = ti
    p.save_path = os.path.abspath(save_dir)
    p.flags = (p.flags | lt.torrent_flags.upload_mode) & ~lt.torrent_flags.auto_managed \
        & ~lt.torrent_flags.paused
    h = ses.add_torrent(p)
    h.force_recheck()
    deadline = time.time() + 600
    checked = False
    while time.time() < deadline:
        for a in ses.pop_alerts():
            if isinstance(a, lt.torrent_checked_alert):
                checked = True
        st = h.status()
        if checked and state_name(st) not in CHECKING_STATES:
            emit({"numPieces": ti.num_pieces(), "validPieces": st.num_pieces})
            return
        ses.wait_for_alert(100)
    raise SystemExit("check: timed out")


def cmd_fetch(torrent, save_dir, host, port, mode=""):
    settings = loopback_settings(0)
    if mode == "plaintext":
        settings["out_enc_policy"] = 2  # pe_disabled
        settings["in_enc_policy"] = 2
    ses = lt.session(settings)
    p = lt.add_torrent_params()
    p.ti = lt.torrent_info(torrent)
    p.save_path = os.path.abspath(save_dir)
    p.flags &= ~lt.torrent_flags.auto_managed
    p.flags &= ~lt.torrent_flags.paused
    start = time.monotonic()
    h = ses.add_torrent(p)
    h.connect_peer((host, int(port)))
    deadline = time.time() + 3600
    while time.time() < deadline:
        ses.pop_alerts()
        st = h.status()
        if st.is_seeding or st.is_finished:
            emit({"seconds": time.monotonic() - start})
            return
        if st.errc.value() != 0:
            raise SystemExit("fetch: %s" % st.errc.message())
        if st.num_peers == 0 and time.monotonic() - start > 5:
            h.connect_peer((host, int(port)))
        ses.wait_for_alert(50)
    raise SystemExit("fetch: timed out")


def cmd_peer(config_json):
    cfg = json.loads(config_json)
    settings = loopback_settings(int(cfg.get("port") or 0))
    if cfg.get("encryption"):
        settings.update(encryption_settings(cfg["encryption"]))
    ses = lt.session(settings)
    ti = lt.torrent_info(cfg["torrent"])
    p = lt.add_torrent_params()
    p.ti = ti
    p.save_path = os.path.abspath(cfg["dir"])
    p.flags &= ~lt.torrent_flags.auto_managed
    p.flags &= ~lt.torrent_flags.paused
    if cfg.get("seed"):
        p.flags |= lt.torrent_flags.seed_mode
    h = ses.add_torrent(p)
    limit = int(cfg.get("uploadLimit") or 0)
    if limit > 0:
        h.set_upload_limit(limit)
    deadline = time.time() + 10
    port = ses.listen_port()
    while port == 0 and time.time() < deadline:
        time.sleep(0.02)
        port = ses.listen_port()
    if port == 0:
        raise SystemExit("peer: libtorrent did not start listening")
    for peer in cfg.get("peers") or []:
        h.connect_peer((peer["host"], int(peer["port"])))
    emit({"event": "ready", "port": port, "version": lt.__version__})
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        ses.pop_alerts()
        req_id = None
        try:
            req = json.loads(line)
            req_id = req.get("id")
            cmd = req.get("cmd")
            if cmd == "status":
                st = h.status()
                emit({
                    "id": req_id,
                    "ok": True,
                    "progress": st.progress,
                    "state": state_name(st),
                    "peers": st.num_peers,
                    "uploaded": st.total_payload_upload,
                    "downloaded": st.total_payload_download,
                    "pieces": st.num_pieces,
                    "error": str(st.errc.message()) if st.errc.value() != 0 else "",
                })
            elif cmd == "connect":
                h.connect_peer((req["host"], int(req["port"])))
                emit({"id": req_id, "ok": True})
            else:
                emit({"id": req_id, "ok": False, "error": "unknown command %r" % cmd})
        except Exception as e:  # report, keep serving
            emit({"id": req_id, "ok": False, "error": str(e)})
    ses.remove_torrent(h)
    del ses


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    sub = sys.argv[1]
    if sub == "info" and len(sys.argv) == 3:
        cmd_info(sys.argv[2])
    elif sub == "create":
        cmd_create(sys.argv[2:])
    elif sub == "check" and len(sys.argv) == 4:
        cmd_check(sys.argv[2], sys.argv[3])
    elif sub == "fetch" and len(sys.argv) in (6, 7):
        cmd_fetch(*sys.argv[2:])
    elif sub == "peer" and len(sys.argv) == 3:
        cmd_peer(sys.argv[2])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
