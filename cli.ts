/**
 * The `shoal` command line.
 * @module
 */

/**
 * Runs the shoal command line with the given arguments.
 * @param args Command-line arguments, without the program name.
 * @returns The process exit code.
 * @example
 * ```ts ignore
 * import { main } from "@shoal/shoal/cli";
 * Deno.exit(await main(["info", "file.torrent"]));
 * ```
 */
export function main(args: string[]): Promise<number> {
  console.error(`shoal: not implemented yet: ${args.join(" ")}`);
  return Promise.resolve(2);
}

if (import.meta.main) Deno.exit(await main(Deno.args));
