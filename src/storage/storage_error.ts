import { errorMessage } from "../util/printable.ts";
/** What a storage operation was doing when it failed; used in error messages. */
export type StorageAction = "reading" | "writing" | "opening" | "creating" | "syncing" | "deleting";

/**
 * A disk problem while storing or reading torrent data, as one clear line naming the path.
 * `code` is the OS error name when there is one (`"ENOSPC"`, `"EACCES"`, `"EROFS"`,
 * `"EISDIR"`, `"ENOTDIR"`, `"ENOENT"`, `"EMFILE"`, ...), `"EMISSING"` when data that should be
 * on disk is not (missing or short file), `"EESCAPE"` for a path that would leave the download
 * folder, and `"EUNKNOWN"` otherwise. The original error, if any, is the `cause`.
 * @example
 * ```ts
 * import { StorageError } from "@shoal/shoal";
 * import { strictEqual } from "node:assert/strict";
 * const error = new StorageError("Data missing: /tmp/a.bin ends before byte 10", "/tmp/a.bin", "EMISSING");
 * strictEqual(error.name, "StorageError");
 * strictEqual(error.code, "EMISSING");
 * ```
 */
export class StorageError extends Error {
  /** The file or folder concerned. */
  readonly path: string;
  /** OS error name (`"ENOSPC"`, ...) or one of `"EMISSING"`, `"EESCAPE"`, `"EUNKNOWN"`. */
  readonly code: string;

  /**
   * Makes the error.
   * @param message One line: what failed and where.
   * @param path The file or folder concerned.
   * @param code OS error name or a shoal code (see the class doc).
   * @param options `cause`: the underlying error.
   */
  constructor(message: string, path: string, code: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StorageError";
    this.path = path;
    this.code = code;
  }
}

const ERRNO_BY_NAME: Readonly<Record<string, string>> = {
  PermissionDenied: "EACCES",
  NotFound: "ENOENT",
  IsADirectory: "EISDIR",
  NotADirectory: "ENOTDIR",
  AlreadyExists: "EEXIST",
  FilesystemLoop: "ELOOP",
};

function errorCode(error: unknown): string {
  if (typeof error !== "object" || error === null) return "EUNKNOWN";
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && code !== "") return code;
  const name = (error as { name?: unknown }).name;
  if (typeof name === "string" && ERRNO_BY_NAME[name]) return ERRNO_BY_NAME[name];
  const message = String((error as { message?: unknown }).message ?? "");
  if (/no space left on device|os error 28\b/i.test(message)) return "ENOSPC";
  if (/disk quota exceeded|os error 122\b/i.test(message)) return "EDQUOT";
  if (/read-only file system|os error 30\b/i.test(message)) return "EROFS";
  if (/permission denied|os error 13\b/i.test(message)) return "EACCES";
  if (/too many open files|os error 24\b/i.test(message)) return "EMFILE";
  return "EUNKNOWN";
}

/**
 * Turns an error from a Deno file operation into a {@linkcode StorageError} with one clear
 * line, e.g. "Disk full while writing /data/a.iso". A `StorageError` is returned unchanged.
 * @param error What the file operation threw.
 * @param path The file or folder concerned.
 * @param action What was being done, for the message.
 * @returns The translated error, with the original as `cause`.
 * @example
 * ```ts
 * import { toStorageError } from "@shoal/shoal/storage";
 * import { strictEqual } from "node:assert/strict";
 * const osError = Object.assign(new Error("No space left on device (os error 28)"), { code: "ENOSPC" });
 * const error = toStorageError(osError, "/data/a.iso", "writing");
 * strictEqual(error.message, "Disk full while writing /data/a.iso");
 * strictEqual(error.cause, osError);
 * ```
 */
export function toStorageError(error: unknown, path: string, action: StorageAction): StorageError {
  if (error instanceof StorageError) return error;
  const code = errorCode(error);
  const detail = errorMessage(error);
  let message: string;
  switch (code) {
    case "ENOSPC":
      message = `Disk full while ${action} ${path}`;
      break;
    case "EDQUOT":
      message = `Disk quota exceeded while ${action} ${path}`;
      break;
    case "EACCES":
    case "EPERM":
      message = `Permission denied ${action} ${path}`;
      break;
    case "EROFS":
      message = `Read-only file system: cannot write ${path}`;
      break;
    case "EISDIR":
      message = `A folder is in the way: ${path} should be a file`;
      break;
    case "ENOTDIR":
      message = `A file is in the way: a parent of ${path} should be a folder`;
      break;
    case "EEXIST":
      message = `A file is in the way: ${path} should be a folder`;
      break;
    case "ENOENT":
      message = `Not found while ${action} ${path}`;
      break;
    case "EMFILE":
    case "ENFILE":
      message = `Too many open files while ${action} ${path}`;
      break;
    case "ENAMETOOLONG":
      message = `Name too long: ${path}`;
      break;
    default:
      message = `Cannot finish ${action} ${path}: ${detail}`;
  }
  return new StorageError(message, path, code, { cause: error });
}
