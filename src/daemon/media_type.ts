/**
 * Media types by file extension. Types a browser would run as active content on the daemon's
 * origin (HTML, SVG, XML, JavaScript) are deliberately absent: a file from a torrent is
 * untrusted, and served as such it could call the API with the daemon's own origin.
 */
const TYPES: Readonly<Record<string, string>> = {
  // video
  mp4: "video/mp4",
  m4v: "video/mp4",
  mov: "video/quicktime",
  webm: "video/webm",
  mkv: "video/x-matroska",
  ogv: "video/ogg",
  avi: "video/x-msvideo",
  ts: "video/mp2t",
  m2ts: "video/mp2t",
  mpg: "video/mpeg",
  mpeg: "video/mpeg",
  // audio
  mp3: "audio/mpeg",
  m4a: "audio/mp4",
  m4b: "audio/mp4",
  aac: "audio/aac",
  flac: "audio/flac",
  wav: "audio/wav",
  ogg: "audio/ogg",
  oga: "audio/ogg",
  opus: "audio/ogg",
  weba: "audio/webm",
  // subtitles and text
  vtt: "text/vtt; charset=utf-8",
  srt: "text/plain; charset=utf-8",
  txt: "text/plain; charset=utf-8",
  nfo: "text/plain; charset=utf-8",
  md: "text/plain; charset=utf-8",
  // images and documents
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  png: "image/png",
  gif: "image/gif",
  webp: "image/webp",
  avif: "image/avif",
  pdf: "application/pdf",
  epub: "application/epub+zip",
  zip: "application/zip",
  iso: "application/x-iso9660-image",
};

/** The type of anything not listed. */
export const FALLBACK_MEDIA_TYPE = "application/octet-stream";

/**
 * The `Content-Type` to serve a torrent's file with, from its extension (case-insensitive).
 * Unknown extensions, and any type a browser would execute (HTML, SVG, XML, scripts), get
 * `application/octet-stream`.
 * @param path The file's path or name.
 * @returns A media type.
 * @example
 * ```ts
 * import { mediaTypeFor } from "@shoal/shoal/daemon";
 * import { strictEqual } from "node:assert/strict";
 * strictEqual(mediaTypeFor("Show/S01E01.WEBM"), "video/webm");
 * strictEqual(mediaTypeFor("readme.html"), "application/octet-stream");
 * ```
 */
export function mediaTypeFor(path: string): string {
  const name = path.slice(path.lastIndexOf("/") + 1);
  const dot = name.lastIndexOf(".");
  if (dot <= 0) return FALLBACK_MEDIA_TYPE;
  return TYPES[name.slice(dot + 1).toLowerCase()] ?? FALLBACK_MEDIA_TYPE;
}
