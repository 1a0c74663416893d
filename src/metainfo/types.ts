/** One file of a torrent, in the order the torrent lists it. */
export interface FileEntry {
  /** Path components below the download folder, sanitised; the first is the torrent name. */
  readonly path: readonly string[];
  /** Length in bytes. */
  readonly length: number;
  /** Offset of the file's first byte in the torrent's concatenated data. */
  readonly offset: number;
  /** A BEP 47 padding file: counted in the piece data, never written or shown. */
  readonly padding: boolean;
  /** BEP 47 `attr` `x`: set the file's executable bits once it is complete. Absent means no. */
  readonly executable?: boolean;
  /** BEP 47 `attr` `h`: a hidden file (meaningful on Windows). Absent means no. */
  readonly hidden?: boolean;
  /**
   * BEP 47 `attr` `l`: this entry is a symbolic link, not data (its `length` is 0); its target
   * is {@linkcode FileEntry.symlinkPath}. Absent means no.
   */
  readonly symlink?: boolean;
  /**
   * The target of a symlink, present exactly when `symlink` is: path components below the
   * download folder, the torrent's name first, like `path`. It always names a file or folder
   * of this torrent (a link whose target did not is made to point to itself, as libtorrent
   * does), but storage should still check that the resolved target stays inside the torrent's
   * folder before creating the link.
   */
  readonly symlinkPath?: readonly string[];
}

/** The parts of a v1 info dictionary every later layer needs. */
export interface TorrentInfo {
  /** SHA-1 of the info dictionary's original bytes (20 bytes). */
  readonly infoHash: Uint8Array;
  /** The info hash as 40 lowercase hex digits. */
  readonly infoHashHex: string;
  /** The info dictionary's original bytes (served to peers by BEP 9). */
  readonly infoBytes: Uint8Array;
  /** The torrent's name (sanitised): the file name, or the top folder of a multi-file torrent. */
  readonly name: string;
  /** Nominal piece length in bytes. */
  readonly pieceLength: number;
  /** Number of pieces. */
  readonly pieceCount: number;
  /** Concatenated 20-byte SHA-1 hashes of every piece. */
  readonly pieceHashes: Uint8Array;
  /** Sum of every file's length, padding included. */
  readonly totalLength: number;
  /** Every file, padding files included (flagged). */
  readonly files: readonly FileEntry[];
  /** `true` when the info dictionary has `files` (a folder), `false` for one file. */
  readonly multiFile: boolean;
  /** BEP 27 private flag: no DHT, no PEX. */
  readonly private: boolean;
}

/** A parsed `.torrent` file. */
export interface Metainfo extends TorrentInfo {
  /** Announce URLs by tier (BEP 12); the plain `announce` is a one-URL tier when no list exists. */
  readonly announce: readonly (readonly string[])[];
  /** BEP 19 web seeds (`url-list`). */
  readonly urlList: readonly string[];
  /** BEP 17 HTTP seeds (`httpseeds`). */
  readonly httpSeeds: readonly string[];
  /** BEP 5 DHT nodes of a trackerless torrent (`nodes`), to join the DHT through. */
  readonly nodes: readonly { readonly host: string; readonly port: number }[];
  /** `comment`, when present. */
  readonly comment?: string;
  /** `created by`, when present. */
  readonly createdBy?: string;
  /**
   * `creation date` as seconds since 1970, when present and representable: a negative value,
   * or one `new Date(seconds * 1000)` cannot hold, is dropped with a warning.
   */
  readonly creationDate?: number;
  /**
   * What was sanitised, renamed or ignored while reading the file, one line each (what changed
   * and to what), for the CLI to show; empty for a clean torrent. At most
   * {@linkcode MAX_TORRENT_WARNINGS} lines, the last one counting any others.
   */
  readonly warnings: readonly string[];
}

/** The most lines {@linkcode Metainfo.warnings} holds (the last one counts any others). */
export const MAX_TORRENT_WARNINGS: number = 100;
