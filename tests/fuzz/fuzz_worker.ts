// Worker entry: runs a range of cases of one target and publishes progress in shared memory,
// so the thread that started it can see a case that never ends and stop the worker.
/// <reference lib="deno.worker" />
import type { FuzzTarget } from "./fuzz_target.ts";
import { type FuzzCrash, type FuzzResult, runFuzzTarget } from "./run_fuzz.ts";
import { findTarget } from "./targets.ts";

/** What the worker is asked to run. */
export interface FuzzWorkerRequest {
  /** The target's name. */
  name: string;
  /** A module exporting the target, for targets outside the registry (the harness's tests). */
  moduleUrl?: string;
  /** The run's seed. */
  seed: number;
  /** The first case number. */
  start: number;
  /** The case number to stop before. */
  cases: number;
  /** The slow-case limit. */
  caseMs: number;
  /** Int32Array view: [case index, cases, accepted, rejected, incomplete, ignored]. */
  progress: SharedArrayBuffer;
}

/** What the worker sends back. */
export type FuzzWorkerMessage =
  | { type: "crash"; crash: FuzzCrash }
  | { type: "done"; result: FuzzResult }
  | { type: "failed"; message: string };

/**
 * Finds a target by name in the registry or in a given module.
 * @param name The target's name.
 * @param moduleUrl A module whose exports include it, if not the registry.
 * @returns The target.
 */
export async function loadTarget(name: string, moduleUrl?: string): Promise<FuzzTarget> {
  if (moduleUrl === undefined) return findTarget(name);
  const module = await import(moduleUrl) as Record<string, unknown>;
  const target = Object.values(module).find((value): value is FuzzTarget =>
    typeof value === "object" && value !== null && (value as FuzzTarget).name === name &&
    typeof (value as FuzzTarget).run === "function"
  );
  if (!target) throw new Error(`${moduleUrl} exports no fuzz target named ${name}`);
  return target;
}

self.onmessage = async (event: MessageEvent<FuzzWorkerRequest>) => {
  const request = event.data;
  const progress = new Int32Array(request.progress);
  const post = (message: FuzzWorkerMessage): void => self.postMessage(message);
  try {
    const target = await loadTarget(request.name, request.moduleUrl);
    const result = await runFuzzTarget(target, {
      seed: request.seed,
      cases: request.cases,
      start: request.start,
      caseMs: request.caseMs,
      onCase(index, counts) {
        progress[1] = counts.cases;
        progress[2] = counts.accepted;
        progress[3] = counts.rejected;
        progress[4] = counts.incomplete;
        progress[5] = counts.ignored;
        Atomics.store(progress, 0, index);
      },
      onCrash: (crash) => post({ type: "crash", crash }),
    });
    post({ type: "done", result });
  } catch (error) {
    post({
      type: "failed",
      message: error instanceof Error ? error.stack ?? error.message : String(error),
    });
  }
};
