/** One file of a torrent, in the order the torrent lists it. */
export interface TorrentFile {
  /** Path components below the download folder, sanitised; the first is the torrent name. */
  readonly path: readonly string[];
  /** Length in bytes. */
  readonly length: number;
  /** Offset of the file's first byte in the torrent's concatenated data. */
  readonly offset: number;
  /** A BEP 47 padding file: counted in the piece data, never written or shown. */
  readonly padding: boolean;
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
  readonly files: readonly TorrentFile[];
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
  /** `comment`, when present. */
  readonly comment?: string;
  /** `created by`, when present. */
  readonly createdBy?: string;
  /** `creation date` as seconds since 1970, when present. */
  readonly creationDate?: number;
}
