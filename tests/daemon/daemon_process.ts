// `shoal daemon` as a child process (deno run cli.ts daemon --json ...) for the tests
// that restart it or kill it: its JSON log lines are parsed, the listening URL read from them,
// and the process is stopped by its PID (SIGTERM, then SIGKILL) in an idempotent dispose.

const REPO = new URL("../../", import.meta.url);
const ENTRY = new URL("cli.ts", REPO).pathname;
const CONFIG = new URL("deno.json", REPO).pathname;

/** One JSON log line of the daemon. */
export interface LogLine {
  event: string;
  level: string;
  message: string;
  [field: string]: unknown;
}

/** A running daemon process. */
export class DaemonProcess implements AsyncDisposable {
  readonly pid: number;
  /** Every log line so far. */
  readonly lines: LogLine[] = [];
  /** Its exit status. */
  readonly status: Promise<Deno.CommandStatus>;
  /** The API's base URL, once it listens. */
  url = "";
  readonly #child: Deno.ChildProcess;
  readonly #stderr: Promise<void>;
  readonly #timer: ReturnType<typeof setTimeout>;
  readonly #waiters = new Set<{ test: (l: LogLine) => boolean; resolve: (l: LogLine) => void }>();
  #exited = false;
  #disposed: Promise<void> | undefined;

  private constructor(args: string[], limitMs: number) {
    this.#child = new Deno.Command(Deno.execPath(), {
      // No test reaches the public DHT routers.
      args: ["run", "-A", "--config", CONFIG, ENTRY, "daemon", "--json", "--no-dht", ...args],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    this.pid = this.#child.pid;
    this.#timer = setTimeout(() => this.signal("SIGKILL"), limitMs);
    this.status = this.#child.status.then((status) => {
      this.#exited = true;
      clearTimeout(this.#timer);
      return status;
    });
    this.#stderr = this.#read();
  }

  /**
   * Starts a daemon and waits until it listens.
   * @param args Flags after `--json --no-dht`.
   * @param options `limitMs`: killed after this long (default 120 s).
   */
  static async start(args: string[], options: { limitMs?: number } = {}): Promise<DaemonProcess> {
    const daemon = new DaemonProcess(args, options.limitMs ?? 120_000);
    try {
      const listening = await Promise.race([
        daemon.waitFor((l) => l.event === "listening"),
        daemon.status.then((s) => {
          throw new Error(`daemon exited with ${s.code} before listening:\n${daemon.text()}`);
        }),
      ]);
      daemon.url = String(listening.url);
      return daemon;
    } catch (error) {
      await daemon[Symbol.asyncDispose]();
      throw error;
    }
  }

  async #read(): Promise<void> {
    let rest = "";
    for await (const chunk of this.#child.stderr.pipeThrough(new TextDecoderStream())) {
      rest += chunk;
      let nl;
      while ((nl = rest.indexOf("\n")) >= 0) {
        const text = rest.slice(0, nl);
        rest = rest.slice(nl + 1);
        let line: LogLine;
        try {
          line = JSON.parse(text);
        } catch {
          line = { event: "text", level: "info", message: text };
        }
        this.lines.push(line);
        for (const waiter of this.#waiters) {
          if (waiter.test(line)) {
            this.#waiters.delete(waiter);
            waiter.resolve(line);
          }
        }
      }
    }
  }

  /** All log lines as text, for failure messages. */
  text(): string {
    return this.lines.map((l) => JSON.stringify(l)).join("\n");
  }

  /** Resolves with the first log line (seen or to come) that `test` accepts. */
  waitFor(test: (line: LogLine) => boolean): Promise<LogLine> {
    const seen = this.lines.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.#waiters.add({ test, resolve }));
  }

  /** Sends a signal by PID unless it has exited. */
  signal(signal: Deno.Signal): void {
    if (this.#exited) return;
    try {
      Deno.kill(this.pid, signal);
    } catch {
      // gone
    }
  }

  /** Stops it (SIGTERM, then SIGKILL after 5 s) and waits for it. */
  [Symbol.asyncDispose](): Promise<void> {
    this.#disposed ??= (async () => {
      this.signal("SIGTERM");
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          this.signal("SIGKILL");
          resolve();
        }, 5000);
      });
      await Promise.race([this.status, late]);
      clearTimeout(timer);
      await this.status;
      await this.#stderr.catch(() => {});
    })();
    return this.#disposed;
  }
}
