/**
 * The daemon cannot start: an unsafe configuration (a non-loopback address without
 * authentication), a state folder another daemon holds, or an address that cannot be bound.
 * @example
 * ```ts
 * import { DaemonError } from "@shoal/shoal/daemon";
 * import { strictEqual } from "node:assert/strict";
 * strictEqual(new DaemonError("Cannot start: x").name, "DaemonError");
 * ```
 */
export class DaemonError extends Error {
  /**
   * Makes the error.
   * @param message One line, starting "Cannot ...".
   * @param options `cause` when wrapping another error.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DaemonError";
  }
}
