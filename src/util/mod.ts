/**
 * Small helpers every layer may use: `sleep`, `withDeadline`, `writeAll`, `closeQuietly`,
 * `writeFileAtomic`, `readCapped`, `printable`, `errorMessage`.
 * @module
 */
export { closeQuietly, sleep, withDeadline, writeAll } from "./io_helpers.ts";
export { writeFileAtomic } from "./write_file_atomic.ts";
export { readCapped } from "./read_capped.ts";
export { errorMessage, printable } from "./printable.ts";
