#!/usr/bin/python3
"""Reads every .torrent file of a folder with libtorrent (python3-libtorrent) and prints one JSON
line per file, in name order, for shoal's corpus interop test.

Run with /usr/bin/python3 (Debian's Python, where the libtorrent module lives):
  lt_read_torrents.py DIR
Each line is {"id": FILE_NAME_WITHOUT_.torrent, "ok": false, "error": "..."} when libtorrent
refuses the file, else {"id", "ok": true, "infoHash", "name", "files": [{"path", "size", "pad",
"executable", "hidden", "symlink"}], "numPieces", "pieceLength", "totalSize", "private",
"comment", "createdBy", "creationDate"}; "symlink" is the link's target ("" for other files).
"""

import json
import os
import sys

import libtorrent as lt


def describe(ti):
    fs = ti.files()
    files = []
    for i in range(fs.num_files()):
        flags = fs.file_flags(i)
        files.append({
            "path": fs.file_path(i).replace(os.sep, "/"),
            "size": fs.file_size(i),
            "pad": bool(flags & lt.file_storage.flag_pad_file),
            "executable": bool(flags & lt.file_storage.flag_executable),
            "hidden": bool(flags & lt.file_storage.flag_hidden),
            "symlink": fs.symlink(i).replace(os.sep, "/")
            if flags & lt.file_storage.flag_symlink else "",
        })
    return {
        "ok": True,
        "infoHash": str(ti.info_hashes().v1),
        "name": ti.name(),
        "files": files,
        "numPieces": ti.num_pieces(),
        "pieceLength": ti.piece_length(),
        "totalSize": ti.total_size(),
        "private": bool(ti.priv()),
        "comment": ti.comment(),
        "createdBy": ti.creator(),
        "creationDate": ti.creation_date(),
    }


def main():
    folder = sys.argv[1]
    for entry in sorted(os.listdir(folder)):
        if not entry.endswith(".torrent"):
            continue
        try:
            out = describe(lt.torrent_info(os.path.join(folder, entry)))
        except Exception as error:  # libtorrent raises RuntimeError for a refused file
            out = {"ok": False, "error": str(error)}
        out["id"] = entry[: -len(".torrent")]
        sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
