import { decodeUtf8Codepoint } from "./repair_utf8.ts";

/**
 * No sanitised file or folder name is longer than this, in UTF-8 bytes (with the `windows`
 * option the cut counts characters instead: at most 249 of them, as NTFS counts).
 */
export const MAX_PATH_COMPONENT_BYTES: number = 255;

/** Options for {@linkcode sanitizePathComponent} and {@linkcode sanitizeTorrentPath}. */
export interface SanitizePathOptions {
  /**
   * Also apply libtorrent's Windows rules: `?<>"|*:` become `_`, trailing dots and spaces are
   * removed, and the length cut counts characters instead of bytes. Pass
   * `Deno.build.os === "windows"` to lay files out as libtorrent does on the same system.
   * Default `false` (libtorrent's rules on Linux and macOS).
   */
  windows?: boolean;
}

// Where libtorrent starts looking for an extension to keep while cutting a long name.
const CUT_AT = 240;
// How close to the end the kept extension's dot must be (libtorrent looks at the last 9 bytes).
const EXTENSION_WINDOW = 10;
const DOT = 0x2e, UNDERSCORE = 0x5f, SPACE = 0x20;
// Characters that turn the direction of the text around and can disguise an extension.
const BIDI_CONTROLS = new Set([0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x200e, 0x200f]);
const WINDOWS_RESERVED = new Set([...'?<>"|*:'].map((c) => c.charCodeAt(0)));
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });

/**
 * Removed outright: path separators, direction overrides, and NUL (libtorrent looks characters
 * up with `strchr`, which also finds the terminating NUL).
 */
function isFiltered(codepoint: number): boolean {
  return codepoint === 0 || codepoint === 0x2f || codepoint === 0x5c ||
    BIDI_CONTROLS.has(codepoint);
}

/** Kept as they are; anything else valid is replaced by `_`. */
function isAllowed(codepoint: number, windows: boolean): boolean {
  if (codepoint < 0x20) return false;
  return !(windows && WINDOWS_RESERVED.has(codepoint));
}

/**
 * Whether the rules would keep `bytes` as they are: printable ASCII without separators, short
 * enough not to be cut, not only dots (and with `windows`, no reserved or trailing character).
 */
function isPlainAscii(bytes: Uint8Array, windows: boolean): boolean {
  if (bytes.length >= CUT_AT) return false;
  let dots = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b < SPACE || b > 0x7e || b === 0x2f || b === 0x5c) return false;
    if (b === DOT) dots++;
    if (windows && WINDOWS_RESERVED.has(b)) return false;
  }
  if (dots === bytes.length && dots <= 2) return false;
  const last = bytes[bytes.length - 1];
  return !(windows && (last === DOT || last === SPACE));
}

function lastDot(bytes: Uint8Array, after: number): number {
  for (let j = bytes.length - 1; j > Math.max(bytes.length - EXTENSION_WINDOW, after); j--) {
    if (bytes[j] === DOT) return j;
  }
  return -1;
}

/**
 * Makes one file or folder name from a torrent safe to create inside the download folder, with
 * exactly the rules of libtorrent 2.0.8 (`sanitize_append_path_element`), so that shoal lays out
 * the same files as libtorrent for the same torrent:
 * - `"."`, `".."`, and a name left empty once separators are removed (`"/"`) are dropped:
 *   the function returns `""` and callers skip the component;
 * - an empty name becomes `"_"`;
 * - `/`, `\`, NUL and the Unicode direction overrides (U+202A..U+202E, U+200E, U+200F) are
 *   removed; on POSIX `\` is therefore never a separator either;
 * - other control characters (below U+0020) and every invalid UTF-8 sequence become `_`;
 * - a name longer than 240 bytes is cut there, keeping an extension that starts within its last
 *   9 bytes; the result is at most {@linkcode MAX_PATH_COMPONENT_BYTES} bytes (with `windows`,
 *   the cut is at 240 characters).
 * The result never holds a separator and is never `""` (unless dropped), `"."` or `".."`, so a
 * path made of such names stays below the folder it is joined to.
 * @param component One raw path component: the torrent's bytes, or text.
 * @param options `windows` to add libtorrent's Windows rules.
 * @returns The safe name, or `""` when the component is dropped.
 * @example
 * ```ts
 * import { sanitizePathComponent } from "@shoal/shoal/metainfo";
 * import { strictEqual } from "node:assert/strict";
 * strictEqual(sanitizePathComponent("a\\b\u202e.txt"), "ab.txt");
 * strictEqual(sanitizePathComponent("tab\there"), "tab_here");
 * strictEqual(sanitizePathComponent(".."), "");
 * strictEqual(sanitizePathComponent(""), "_");
 * strictEqual(sanitizePathComponent("what?", { windows: true }), "what_");
 * ```
 */
export function sanitizePathComponent(
  component: Uint8Array | string,
  options: SanitizePathOptions = {},
): string {
  const bytes = typeof component === "string" ? encoder.encode(component) : component;
  const windows = options.windows ?? false;
  if (bytes.length === 1 && bytes[0] === DOT) return "";
  if (bytes.length === 0) return "_";
  if (isPlainAscii(bytes, windows)) {
    // Short ASCII names (most of them) without a call into the text decoder.
    if (bytes.length > 64) return decoder.decode(bytes);
    let text = "";
    for (let i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
    return text;
  }
  const out: number[] = [];
  let added = 0, characters = 0, dots = 0;
  let keptExtension = false;
  for (let i = 0; i < bytes.length;) {
    const { codepoint, length } = decodeUtf8Codepoint(bytes, i);
    if (codepoint >= 0 && isFiltered(codepoint)) {
      i += length;
      continue;
    }
    if (codepoint < 0 || !isAllowed(codepoint, windows)) {
      out.push(UNDERSCORE);
      added++;
      characters++;
      i += length;
      continue;
    }
    for (let k = i; k < i + length; k++) out.push(bytes[k]);
    if (codepoint === DOT) dots++;
    added += length;
    characters++;
    if ((windows ? characters : added) >= CUT_AT && !keptExtension) {
      const dot = lastDot(bytes, i);
      if (dot === -1) break;
      keptExtension = true;
      i = dot;
      continue;
    }
    i += length;
  }
  if (added === dots && added <= 2) return "";
  if (windows) {
    while (out.length > 0 && (out[out.length - 1] === DOT || out[out.length - 1] === SPACE)) {
      out.pop();
    }
    if (out.length === 0) return "";
  }
  return decoder.decode(new Uint8Array(out));
}

/**
 * Makes a file's path from a torrent safe: every component goes through
 * {@linkcode sanitizePathComponent} and dropped ones are skipped; a path left with no component
 * becomes `["_"]`, as in libtorrent. Joining the result under a folder stays inside it.
 * @param components The raw path components, as the torrent lists them.
 * @param options `windows` to add libtorrent's Windows rules.
 * @returns The safe components (at least one).
 * @example
 * ```ts
 * import { sanitizeTorrentPath } from "@shoal/shoal/metainfo";
 * import { deepStrictEqual } from "node:assert/strict";
 * deepStrictEqual(sanitizeTorrentPath(["..", "etc", ".", "passwd"]), ["etc", "passwd"]);
 * deepStrictEqual(sanitizeTorrentPath(["docs", "", "a.txt"]), ["docs", "_", "a.txt"]);
 * deepStrictEqual(sanitizeTorrentPath(["/etc/passwd"]), ["etcpasswd"]);
 * deepStrictEqual(sanitizeTorrentPath([".."]), ["_"]);
 * ```
 */
export function sanitizeTorrentPath(
  components: readonly (Uint8Array | string)[],
  options: SanitizePathOptions = {},
): string[] {
  const out: string[] = [];
  for (const component of components) {
    const safe = sanitizePathComponent(component, options);
    if (safe !== "") out.push(safe);
  }
  return out.length > 0 ? out : ["_"];
}
