/**
 * Small I/O helpers: `sleep`, `withDeadline`, `writeAll`, `closeQuietly`.
 * @module
 */
export { closeQuietly, sleep, withDeadline, writeAll } from "./io_helpers.ts";
