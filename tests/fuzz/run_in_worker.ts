// Runs one target in a worker and watches it: a case that makes no progress for `hangMs` is a
// hang, so the worker is stopped, the case is reported (its input rebuilt here from the seed
// and case number) and a new worker carries on from the next case. A worker that dies (an
// unhandled rejection in an async codec, say) is reported the same way.
import type { FuzzTarget } from "./fuzz_target.ts";
import { InvariantError } from "./fuzz_target.ts";
import type { FuzzWorkerMessage, FuzzWorkerRequest } from "./fuzz_worker.ts";
import { loadTarget } from "./fuzz_worker.ts";
import {
  crashOf,
  DEFAULT_CASE_MS,
  type FuzzCounts,
  type FuzzCrash,
  type FuzzResult,
  makeCase,
} from "./run_fuzz.ts";

/** The default time without progress after which a case is a hang. */
export const DEFAULT_HANG_MS = 10_000;

/** Options for {@linkcode fuzzInWorker}. */
export interface FuzzInWorkerOptions {
  /** The run's seed. */
  seed: number;
  /** How many cases. */
  cases: number;
  /** The slow-case limit ({@linkcode DEFAULT_CASE_MS}). */
  caseMs?: number;
  /** The hang limit ({@linkcode DEFAULT_HANG_MS}). */
  hangMs?: number;
  /** A module exporting the target, when it is not in the registry. */
  moduleUrl?: string;
  /** Called with each new distinct crash as soon as it is known. */
  onCrash?(crash: FuzzCrash): void;
}

type Segment =
  | { done: FuzzResult }
  | { stoppedAt: number; counts: FuzzCounts; why: "hang" | "died"; error: unknown };

const WORKER_URL = new URL("./fuzz_worker.ts", import.meta.url);
const POLL_MS = 50;
const STARTUP_MS = 60_000;

function runSegment(
  request: Omit<FuzzWorkerRequest, "progress">,
  hangMs: number,
  crashes: Map<string, FuzzCrash>,
  onCrash: ((crash: FuzzCrash) => void) | undefined,
): Promise<Segment> {
  const progressBuffer = new SharedArrayBuffer(6 * 4);
  const progress = new Int32Array(progressBuffer);
  progress[0] = -1;
  const worker = new Worker(WORKER_URL, { type: "module" });
  return new Promise<Segment>((resolve, reject) => {
    let lastIndex = -1;
    let lastChange = performance.now();
    const finish = (): void => {
      clearInterval(timer);
      worker.terminate();
    };
    const counts = (): FuzzCounts => ({
      cases: progress[1],
      accepted: progress[2],
      rejected: progress[3],
      incomplete: progress[4],
      ignored: progress[5],
    });
    const timer = setInterval(() => {
      const index = Atomics.load(progress, 0);
      const now = performance.now();
      if (index !== lastIndex) {
        lastIndex = index;
        lastChange = now;
        return;
      }
      if (index < 0 && now - lastChange > STARTUP_MS) {
        finish();
        reject(new Error(`fuzz worker for ${request.name} did not start within ${STARTUP_MS} ms`));
      } else if (index >= 0 && now - lastChange > hangMs) {
        finish();
        resolve({
          stoppedAt: index,
          counts: counts(),
          why: "hang",
          error: new InvariantError(`case made no progress for ${hangMs} ms; worker stopped`),
        });
      }
    }, POLL_MS);
    worker.onmessage = (event: MessageEvent<FuzzWorkerMessage>) => {
      const message = event.data;
      if (message.type === "crash") {
        if (!crashes.has(message.crash.signature)) onCrash?.(message.crash);
        crashes.set(message.crash.signature, message.crash);
      } else if (message.type === "done") {
        finish();
        resolve({ done: message.result });
      } else {
        finish();
        reject(new Error(`fuzz worker for ${request.name} failed: ${message.message}`));
      }
    };
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      const index = Atomics.load(progress, 0);
      finish();
      if (index < 0) reject(new Error(`fuzz worker for ${request.name}: ${event.message}`));
      else {
        resolve({
          stoppedAt: index,
          counts: counts(),
          why: "died",
          error: event.error instanceof Error ? event.error : new Error(event.message),
        });
      }
    };
    worker.postMessage({ ...request, progress: progressBuffer } satisfies FuzzWorkerRequest);
  });
}

function add(into: FuzzCounts, more: FuzzCounts): void {
  into.cases += more.cases;
  into.accepted += more.accepted;
  into.rejected += more.rejected;
  into.incomplete += more.incomplete;
  into.ignored += more.ignored;
}

function merge(into: Map<string, FuzzCrash>, crash: FuzzCrash): void {
  const seen = into.get(crash.signature);
  if (!seen) into.set(crash.signature, { ...crash });
  else if (crash.caseIndex !== seen.caseIndex) {
    seen.count += crash.count;
    if (crash.caseIndex < seen.caseIndex) seen.caseIndex = crash.caseIndex;
  }
}

/**
 * Runs `cases` cases of the target `name` in workers, restarting after each hang.
 * @param name The target's name.
 * @param options Seed, cases, limits.
 * @returns The merged result of every segment.
 */
export async function fuzzInWorker(
  name: string,
  options: FuzzInWorkerOptions,
): Promise<FuzzResult> {
  const caseMs = options.caseMs ?? DEFAULT_CASE_MS;
  const hangMs = options.hangMs ?? DEFAULT_HANG_MS;
  let target: FuzzTarget | undefined;
  const totals: FuzzCounts = { cases: 0, accepted: 0, rejected: 0, incomplete: 0, ignored: 0 };
  const all = new Map<string, FuzzCrash>();
  let distinctRejections = 0;
  const begin = performance.now();
  for (let start = 0; start < options.cases;) {
    const posted = new Map<string, FuzzCrash>();
    const segment = await runSegment(
      {
        name,
        moduleUrl: options.moduleUrl,
        seed: options.seed,
        start,
        cases: options.cases,
        caseMs,
      },
      hangMs,
      posted,
      options.onCrash,
    );
    if ("done" in segment) {
      const result = segment.done;
      add(totals, result);
      distinctRejections = Math.max(distinctRejections, result.distinctRejections);
      for (const crash of [...result.crashes, ...result.known]) merge(all, crash);
      break;
    }
    for (const crash of posted.values()) merge(all, crash);
    add(totals, segment.counts);
    totals.cases++;
    target ??= await loadTarget(name, options.moduleUrl);
    const { input } = makeCase(target, options.seed, segment.stoppedAt);
    const crash = crashOf(
      target,
      options.seed,
      segment.stoppedAt,
      segment.why === "hang" ? "hang" : "exception",
      segment.error,
      input,
    );
    if (!all.has(crash.signature)) options.onCrash?.(crash);
    merge(all, crash);
    start = segment.stoppedAt + 1;
  }
  const crashes = [...all.values()];
  return {
    target: name,
    seed: options.seed,
    ...totals,
    ms: performance.now() - begin,
    distinctRejections,
    crashes: crashes.filter((c) => c.known === undefined),
    known: crashes.filter((c) => c.known !== undefined),
  };
}
