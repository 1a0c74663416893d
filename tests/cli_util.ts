// Running cli.ts as a user would, for the CLI tests.
import { notStrictEqual, ok, strictEqual } from "node:assert/strict";

/** Path of cli.ts. */
export const CLI: string = decodeURIComponent(new URL("../cli.ts", import.meta.url).pathname);

/** How one CLI run ended. */
export interface CliResult {
  code: number;
  signal: Deno.Signal | null;
  stdout: string;
  stderr: string;
}

/** A state folder for the CLI under test, never the user's own. */
const STATE_HOME: string = Deno.makeTempDirSync({ prefix: "shoal-test-state-" });

/**
 * The arguments as a test runs them: commands that start a client (`info --fetch` too) get
 * `--no-dht` unless the test names its own DHT nodes, so no test ever reaches the DHT's public
 * routers.
 * @param args The arguments.
 * @returns The arguments to run.
 */
export function testArgs(args: readonly string[]): string[] {
  const clientCommand = ["download", "seed", "cat", "daemon"].includes(args[0]) ||
    (args[0] === "info" && args.includes("--fetch"));
  const ownDht = args.includes("--dht-node") || args.includes("--no-dht");
  return clientCommand && !ownDht ? [...args, "--no-dht"] : [...args];
}

/** `deno run -A cli.ts ...args`, with output piped and colour off. */
export function cliCommand(args: string[], cwd?: string): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...testArgs(args)],
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { SHOAL_DEBUG: "", NO_COLOR: "1", XDG_STATE_HOME: STATE_HOME },
  });
}

/** Runs the CLI to completion, killing it (and failing) after `timeoutMs`. */
export async function runCli(
  args: string[],
  options: { cwd?: string; timeoutMs: number },
): Promise<CliResult> {
  const child = cliCommand(args, options.cwd).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, options.timeoutMs);
  try {
    const { code, signal, stdout, stderr } = await child.output();
    const decoder = new TextDecoder();
    const result = { code, signal, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
    if (timedOut) {
      throw new Error(
        `shoal ${args.join(" ")} did not exit in ${options.timeoutMs} ms: ${
          JSON.stringify(result)
        }`,
      );
    }
    return result;
  } finally {
    clearTimeout(timer);
  }
}

/** The lines of some output, without the empty one after a final newline. */
export function linesOf(text: string): string[] {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  return lines;
}

/**
 * A failure as users must see it: non-zero exit (exactly `exitCode` when given), exactly one
 * `shoal: ...` line on stderr matching `pattern`, no stack trace.
 * @returns The stderr line.
 */
export function assertOneLineFailure(
  result: CliResult,
  pattern: RegExp,
  what: string,
  exitCode?: number,
): string {
  const context = `${what}: exit ${result.code}, stderr ${JSON.stringify(result.stderr)}, ` +
    `stdout ${JSON.stringify(result.stdout.slice(-2000))}`;
  notStrictEqual(result.code, 0, context);
  if (exitCode !== undefined) strictEqual(result.code, exitCode, `exit ${exitCode}, ${context}`);
  strictEqual(result.signal, null, context);
  ok(!result.stderr.includes("    at "), `stack trace in ${context}`);
  ok(!/uncaught/i.test(result.stderr), `uncaught error in ${context}`);
  const lines = linesOf(result.stderr);
  strictEqual(lines.length, 1, `one stderr line expected in ${context}`);
  ok(lines[0].startsWith("shoal: "), context);
  ok(pattern.test(lines[0]), `${context} should match ${pattern}`);
  return lines[0];
}
