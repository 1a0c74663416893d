import { ok, strictEqual } from "node:assert/strict";
import { StorageError, toStorageError } from "../../src/storage/storage_error.ts";

function osError(message: string, code?: string): Error {
  const error = new Error(message);
  if (code) Object.assign(error, { code });
  return error;
}

Deno.test("toStorageError() turns OS errors into one clear line, keeping the cause", () => {
  const cases: [Error, string, string][] = [
    [
      osError("No space left on device (os error 28)", "ENOSPC"),
      "ENOSPC",
      "Disk full while writing /d/a",
    ],
    [osError("No space left on device (os error 28)"), "ENOSPC", "Disk full while writing /d/a"],
    [
      new Deno.errors.PermissionDenied("Permission denied (os error 13)"),
      "EACCES",
      "Permission denied writing /d/a",
    ],
    [
      osError("Permission denied (os error 13)", "EACCES"),
      "EACCES",
      "Permission denied writing /d/a",
    ],
    [
      osError("Read-only file system (os error 30)"),
      "EROFS",
      "Read-only file system: cannot write /d/a",
    ],
    [
      osError("Is a directory (os error 21)", "EISDIR"),
      "EISDIR",
      "A folder is in the way: /d/a should be a file",
    ],
    [
      new Deno.errors.NotADirectory("Not a directory"),
      "ENOTDIR",
      "A file is in the way: a parent of /d/a should be a folder",
    ],
    [
      new Deno.errors.AlreadyExists("File exists"),
      "EEXIST",
      "A file is in the way: /d/a should be a folder",
    ],
    [
      osError("Disk quota exceeded (os error 122)"),
      "EDQUOT",
      "Disk quota exceeded while writing /d/a",
    ],
    [
      osError("Too many open files (os error 24)"),
      "EMFILE",
      "Too many open files while writing /d/a",
    ],
    [
      osError("Input/output error (os error 5)", "EIO"),
      "EIO",
      "Cannot finish writing /d/a: Input/output error (os error 5)",
    ],
    [osError("weird"), "EUNKNOWN", "Cannot finish writing /d/a: weird"],
  ];
  for (const [cause, code, message] of cases) {
    const error = toStorageError(cause, "/d/a", "writing");
    ok(error instanceof StorageError);
    ok(error instanceof Error);
    strictEqual(error.name, "StorageError");
    strictEqual(error.code, code, cause.message);
    strictEqual(error.message, message);
    strictEqual(error.path, "/d/a");
    strictEqual(error.cause, cause);
  }
});

Deno.test("toStorageError() names the action and passes StorageErrors through", () => {
  const denied = toStorageError(new Deno.errors.PermissionDenied("x"), "/d/b", "reading");
  strictEqual(denied.message, "Permission denied reading /d/b");
  strictEqual(toStorageError(denied, "/other", "writing"), denied);
  const text = toStorageError("not an Error", "/d/c", "syncing");
  strictEqual(text.message, "Cannot finish syncing /d/c: not an Error");
});
