import { TorrentError } from "./torrent_error.ts";

/** The longest file or folder name most file systems accept, in UTF-8 bytes. */
export const MAX_PATH_COMPONENT_BYTES: number = 255;

// Control characters, path separators and the characters Windows reserves in names.
// deno-lint-ignore no-control-regex
const UNSAFE_CHARACTERS = /[\u0000-\u001f\u007f/\\<>:"|?*]/g;
const DRIVE_LETTER = /^[A-Za-z]:(?:[\\/]|$)/;
const TRAILING_DOTS_AND_SPACES = /[. ]+$/;
const encoder = new TextEncoder();

function describe(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}

function truncateUtf8(text: string, maxBytes: number): string {
  let bytes = 0;
  let out = "";
  for (const ch of text) {
    const size = encoder.encode(ch).length;
    if (bytes + size > maxBytes) break;
    bytes += size;
    out += ch;
  }
  return out;
}

function capLength(component: string): string {
  if (encoder.encode(component).length <= MAX_PATH_COMPONENT_BYTES) return component;
  // Keep a short extension, as libtorrent does, and cut the stem at a character boundary.
  const dot = component.lastIndexOf(".");
  const extension = dot > 0 && component.length - dot <= 16 ? component.slice(dot) : "";
  const stemBytes = MAX_PATH_COMPONENT_BYTES - encoder.encode(extension).length;
  const stem = truncateUtf8(component.slice(0, component.length - extension.length), stemBytes);
  return stem + extension;
}

/**
 * Makes one file or folder name from a torrent safe to create inside the download folder.
 *
 * The rules (the same on every platform, so a torrent lays out the same files everywhere):
 * - `""` and `"."` are dropped: the function returns `""` and callers skip the component.
 * - `".."`, or a component holding a `..` segment between `/` or `\`, is refused.
 * - A component that looks absolute (starts with `/` or `\`, or a drive such as `C:\`) is refused.
 * - NUL and every other control character, `/`, `\` and the Windows-reserved `<>:"|?*`
 *   are each replaced with `_`.
 * - Trailing dots and spaces are trimmed; a name left empty by that becomes `_`.
 * - The result is cut to 255 UTF-8 bytes, keeping a short extension.
 * Refusing rather than rewriting traversal attempts makes a hostile torrent fail loudly
 * instead of quietly writing somewhere unexpected.
 * @param component One raw path component (already decoded as text).
 * @param fileDescription Names the file in error messages, e.g. `file 3 ("a/b")`.
 * @returns The safe component, or `""` when the component should be dropped.
 * @throws {TorrentError} For `..` or an absolute-looking component.
 * @example
 * ```ts
 * import { sanitizePathComponent } from "@shoal/shoal";
 * import { strictEqual, throws } from "node:assert/strict";
 * strictEqual(sanitizePathComponent("what? why.", "file 0"), "what_ why");
 * strictEqual(sanitizePathComponent(".", "file 0"), "");
 * throws(() => sanitizePathComponent("..", "file 0"), /file 0 has a "\.\." component/);
 * ```
 */
export function sanitizePathComponent(component: string, fileDescription: string): string {
  if (component === "" || component === ".") return "";
  if (component.split(/[\\/]/).includes("..")) {
    throw new TorrentError(
      `Cannot parse torrent: ${fileDescription} has a ".." component ${describe(component)}`,
    );
  }
  if (component.startsWith("/") || component.startsWith("\\") || DRIVE_LETTER.test(component)) {
    throw new TorrentError(
      `Cannot parse torrent: ${fileDescription} has an absolute path ${describe(component)}`,
    );
  }
  let safe = component.replace(UNSAFE_CHARACTERS, "_").replace(TRAILING_DOTS_AND_SPACES, "");
  if (safe === "") return "_";
  safe = capLength(safe).replace(TRAILING_DOTS_AND_SPACES, "");
  return safe === "" ? "_" : safe;
}

/**
 * Makes a file's path from a torrent safe: every component goes through
 * {@linkcode sanitizePathComponent}, dropped components are skipped, and a path left with no
 * component is refused. The result can never hold `..`, an empty component, a separator,
 * or start at the file system's root, so joining it under the download folder stays inside it.
 * @param components The raw path components, as the torrent lists them.
 * @param fileDescription Names the file in error messages, e.g. `file 3 ("a/b")`.
 * @returns The safe components (at least one).
 * @throws {TorrentError} For `..`, an absolute-looking component, or an empty path.
 * @example
 * ```ts
 * import { sanitizeTorrentPath } from "@shoal/shoal";
 * import { deepStrictEqual, throws } from "node:assert/strict";
 * deepStrictEqual(sanitizeTorrentPath(["docs", "", ".", "a|b.txt"], "file 1"), ["docs", "a_b.txt"]);
 * throws(() => sanitizeTorrentPath(["..", "etc", "passwd"], "file 2"));
 * throws(() => sanitizeTorrentPath(["/etc/passwd"], "file 3"));
 * ```
 */
export function sanitizeTorrentPath(
  components: readonly string[],
  fileDescription: string,
): string[] {
  const out: string[] = [];
  for (const component of components) {
    const safe = sanitizePathComponent(component, fileDescription);
    if (safe !== "") out.push(safe);
  }
  if (out.length === 0) {
    throw new TorrentError(`Cannot parse torrent: ${fileDescription} has an empty path`);
  }
  return out;
}
