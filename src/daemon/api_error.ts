/**
 * A request the API refuses: it carries the HTTP status to answer with, and its message
 * becomes the `{ error }` body. Nothing has changed when one is thrown.
 * @example
 * ```ts
 * import { ApiError } from "@shoal/shoal/daemon";
 * import { strictEqual } from "node:assert/strict";
 * const error = new ApiError(404, "Cannot find torrent 00ff: no such info hash");
 * strictEqual(error.status, 404);
 * ```
 */
export class ApiError extends Error {
  /** The HTTP status code (4xx or 5xx). */
  readonly status: number;
  /** Extra response headers (`WWW-Authenticate`, `Allow`...). */
  readonly headers: Readonly<Record<string, string>>;

  /**
   * Makes the error.
   * @param status The HTTP status code.
   * @param message One line: what was refused and why.
   * @param options `headers` to send with the answer, `cause` when wrapping.
   */
  constructor(
    status: number,
    message: string,
    options: ErrorOptions & { headers?: Record<string, string> } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = "ApiError";
    this.status = status;
    this.headers = options.headers ?? {};
  }
}
