/**
 * shoal's version, the one place it is written: the CLI, the peer id prefix (BEP 20), the
 * extension handshake's `v` (BEP 10) and a created torrent's `created by` derive from it.
 * @module
 */

/**
 * shoal's version (semver).
 * @example
 * ```ts
 * import { VERSION } from "@shoal/shoal";
 * import { match } from "node:assert/strict";
 * match(VERSION, /^\d+\.\d+\.\d+$/);
 * ```
 */
export const VERSION = "0.1.0";
