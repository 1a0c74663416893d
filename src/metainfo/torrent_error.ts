/**
 * A `.torrent` file (or one of its paths) that shoal refuses: malformed bencode, a missing or
 * ill-typed field, inconsistent lengths, or a path that would escape the download folder.
 * Messages read `Cannot parse torrent: "piece length" must be a positive integer`.
 * @example
 * ```ts
 * import { parseTorrent, TorrentError } from "@shoal/shoal";
 * import { throws } from "node:assert/strict";
 * throws(() => parseTorrent(new TextEncoder().encode("de")), TorrentError);
 * ```
 */
export class TorrentError extends Error {
  /**
   * Makes the error.
   * @param message What failed and why, starting "Cannot parse torrent: ".
   * @param options `cause` when wrapping another error (a `BencodeError`, for instance).
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TorrentError";
  }
}
