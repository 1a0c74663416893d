// A headless Chromium driven over the DevTools protocol, raw, over Deno's WebSocket (no
// dependency). Each browser gets its own profile folder and is stopped by its PID.

/** Where Debian puts Chromium. */
export const CHROMIUM = "/usr/bin/chromium";

/** Whether Chromium is installed. */
export function hasChromium(): boolean {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
}

/** `CI` is set to something truthy. */
export function isCi(): boolean {
  const ci = Deno.env.get("CI");
  return ci !== undefined && ci !== "" && ci !== "0" && ci.toLowerCase() !== "false";
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
  method: string;
  /** Where the command was sent from (for the error's stack). */
  from: Error;
}

type Listener = (params: Record<string, unknown>, sessionId?: string) => void;

/** A running headless Chromium. */
export class Browser implements AsyncDisposable {
  readonly pid: number;
  readonly #child: Deno.ChildProcess;
  readonly #profile: string;
  readonly #socket: WebSocket;
  readonly #pending = new Map<number, Pending>();
  readonly #listeners = new Set<{ method: string; fn: Listener }>();
  readonly #stderr: Promise<void>;
  readonly #timer: ReturnType<typeof setTimeout>;
  #nextId = 1;
  #disposed: Promise<void> | undefined;
  /** The last lines Chromium wrote on stderr (for failure messages). */
  log: string[] = [];

  private constructor(
    child: Deno.ChildProcess,
    profile: string,
    socket: WebSocket,
    stderr: Promise<void>,
    timer: ReturnType<typeof setTimeout>,
    log: string[],
  ) {
    this.#child = child;
    this.pid = child.pid;
    this.#profile = profile;
    this.#socket = socket;
    this.#stderr = stderr;
    this.#timer = timer;
    this.log = log;
    socket.addEventListener("message", (event) => this.#onMessage(String(event.data)));
    socket.addEventListener("close", () => {
      for (const pending of this.#pending.values()) {
        pending.reject(new Error(`DevTools closed during ${pending.method}`));
      }
      this.#pending.clear();
    });
  }

  /**
   * Starts Chromium headless with its own profile, and connects to its DevTools endpoint.
   * @param options `limitMs`: killed after this long whatever happens (default 120 s); `args`:
   *   more Chromium flags.
   */
  static async launch(options: { limitMs?: number; args?: string[] } = {}): Promise<Browser> {
    const profile = await Deno.makeTempDir({ prefix: "shoal-chromium-" });
    const child = new Deno.Command(CHROMIUM, {
      args: [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--no-default-browser-check",
        "--mute-audio",
        "--autoplay-policy=no-user-gesture-required",
        `--user-data-dir=${profile}`,
        "--remote-debugging-port=0",
        ...options.args ?? [],
        "about:blank",
      ],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const timer = setTimeout(() => {
      try {
        Deno.kill(child.pid, "SIGKILL");
      } catch {
        // gone
      }
    }, options.limitMs ?? 120_000);
    const endpoint = Promise.withResolvers<string>();
    const log: string[] = [];
    const stderr = (async () => {
      let buffer = "";
      for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) {
        buffer += text;
        let newline;
        while ((newline = buffer.indexOf("\n")) >= 0) {
          const line = buffer.slice(0, newline);
          buffer = buffer.slice(newline + 1);
          if (!line.includes("dbus")) log.push(line);
          if (log.length > 200) log.shift();
          const match = /DevTools listening on (ws:\/\/\S+)/.exec(line);
          if (match) endpoint.resolve(match[1]);
        }
      }
      endpoint.reject(new Error(`Chromium exited before DevTools listened:\n${log.join("\n")}`));
    })();
    try {
      const url = await endpoint.promise;
      const socket = new WebSocket(url);
      await new Promise<void>((resolve, reject) => {
        socket.addEventListener("open", () => resolve(), { once: true });
        socket.addEventListener("error", () => reject(new Error("Cannot open DevTools")), {
          once: true,
        });
      });
      return new Browser(child, profile, socket, stderr, timer, log);
    } catch (error) {
      clearTimeout(timer);
      try {
        Deno.kill(child.pid, "SIGKILL");
      } catch {
        // gone
      }
      await child.status;
      await stderr.catch(() => {});
      await Deno.remove(profile, { recursive: true }).catch(() => {});
      throw error;
    }
  }

  #onMessage(text: string): void {
    const message = JSON.parse(text);
    if (message.id !== undefined) {
      const pending = this.#pending.get(message.id);
      if (!pending) return;
      this.#pending.delete(message.id);
      if (message.error) {
        const error = new Error(`${pending.method}: ${message.error.message}`);
        error.stack = `${error.message}\n${pending.from.stack?.split("\n").slice(1).join("\n")}`;
        pending.reject(error);
      } else pending.resolve(message.result);
      return;
    }
    for (const listener of this.#listeners) {
      if (listener.method === message.method) listener.fn(message.params, message.sessionId);
    }
  }

  /** Sends a DevTools command (to a page when `sessionId` is given). */
  send<T = Record<string, unknown>>(
    method: string,
    params: Record<string, unknown> = {},
    sessionId?: string,
  ): Promise<T> {
    const id = this.#nextId++;
    const { promise, resolve, reject } = Promise.withResolvers<unknown>();
    this.#pending.set(id, { resolve, reject, method, from: new Error() });
    this.#socket.send(JSON.stringify({ id, method, params, sessionId }));
    return promise as Promise<T>;
  }

  /** Calls `fn` for every event `method` (until the returned function is called). */
  on(method: string, fn: Listener): () => void {
    const entry = { method, fn };
    this.#listeners.add(entry);
    return () => this.#listeners.delete(entry);
  }

  /** Opens a new page and attaches to it. */
  async newPage(): Promise<Page> {
    const { targetId } = await this.send<{ targetId: string }>("Target.createTarget", {
      url: "about:blank",
    });
    const { sessionId } = await this.send<{ sessionId: string }>("Target.attachToTarget", {
      targetId,
      flatten: true,
    });
    const page = new Page(this, sessionId);
    await page.send("Page.enable");
    await page.send("Runtime.enable");
    return page;
  }

  /** Closes the connection and stops Chromium by its PID. */
  [Symbol.asyncDispose](): Promise<void> {
    this.#disposed ??= (async () => {
      clearTimeout(this.#timer);
      try {
        this.#socket.close();
      } catch {
        // closed
      }
      try {
        Deno.kill(this.pid, "SIGTERM");
      } catch {
        // gone
      }
      const exited = await Promise.race([
        this.#child.status.then(() => true),
        new Promise<false>((resolve) => {
          const t = setTimeout(() => resolve(false), 3000);
          this.#child.status.finally(() => clearTimeout(t));
        }),
      ]);
      if (!exited) {
        try {
          Deno.kill(this.pid, "SIGKILL");
        } catch {
          // gone
        }
      }
      await this.#child.status;
      await this.#stderr.catch(() => {});
      await Deno.remove(this.#profile, { recursive: true }).catch(() => {});
    })();
    return this.#disposed;
  }
}

/** One page (tab). */
export class Page {
  readonly #browser: Browser;
  readonly sessionId: string;
  /** Console messages and uncaught exceptions of the page. */
  readonly console: string[] = [];

  constructor(browser: Browser, sessionId: string) {
    this.#browser = browser;
    this.sessionId = sessionId;
    browser.on("Runtime.consoleAPICalled", (params, session) => {
      if (session !== sessionId) return;
      const args = (params.args as { value?: unknown; description?: string }[]) ?? [];
      this.console.push(`${params.type}: ${args.map((a) => a.value ?? a.description).join(" ")}`);
    });
    browser.on("Runtime.exceptionThrown", (params, session) => {
      if (session !== sessionId) return;
      const details = params.exceptionDetails as { exception?: { description?: string } };
      this.console.push(`exception: ${details.exception?.description}`);
    });
  }

  /** Sends a command to this page. */
  send<T = Record<string, unknown>>(
    method: string,
    params: Record<string, unknown> = {},
  ): Promise<T> {
    return this.#browser.send<T>(method, params, this.sessionId);
  }

  /** Resolves with the params of the first event `method` of this page that `test` accepts. */
  waitForEvent(
    method: string,
    test: (params: Record<string, unknown>) => boolean = () => true,
  ): Promise<Record<string, unknown>> {
    return new Promise((resolve) => {
      const off = this.#browser.on(method, (params, session) => {
        if (session !== this.sessionId || !test(params)) return;
        off();
        resolve(params);
      });
    });
  }

  /** Loads a URL and waits for its load event. */
  async navigate(url: string): Promise<void> {
    const loaded = Promise.withResolvers<void>();
    const off = this.#browser.on("Page.loadEventFired", (_params, session) => {
      if (session === this.sessionId) loaded.resolve();
    });
    try {
      const result = await this.send<{ errorText?: string }>("Page.navigate", { url });
      if (result.errorText) throw new Error(`Cannot load ${url}: ${result.errorText}`);
      await loaded.promise;
    } finally {
      off();
    }
  }

  /**
   * Evaluates an expression in the page (awaiting a promise it returns) and returns its value.
   * @throws {Error} With the page's exception text.
   */
  async evaluate<T>(expression: string): Promise<T> {
    const result = await this.send<{
      result: { value?: T };
      exceptionDetails?: { text: string; exception?: { description?: string } };
    }>("Runtime.evaluate", { expression, awaitPromise: true, returnByValue: true });
    if (result.exceptionDetails) {
      throw new Error(
        `In the page: ${
          result.exceptionDetails.exception?.description ?? result.exceptionDetails.text
        }\n${this.console.slice(-20).join("\n")}`,
      );
    }
    return result.result.value as T;
  }

  /** Sets the viewport (CSS pixels). */
  async setViewport(width: number, height: number): Promise<void> {
    await this.send("Emulation.setDeviceMetricsOverride", {
      width,
      height,
      deviceScaleFactor: 1,
      mobile: width < 600,
    });
  }

  /** Saves a PNG of the whole page (beyond the viewport), or of the viewport only. */
  async screenshot(path: string, options: { fullPage?: boolean } = {}): Promise<void> {
    if (options.fullPage === false) {
      const shot = await this.send<{ data: string }>("Page.captureScreenshot", { format: "png" });
      await Deno.writeFile(path, Uint8Array.from(atob(shot.data), (c) => c.charCodeAt(0)));
      return;
    }
    const metrics = await this.send<{ cssContentSize: { width: number; height: number } }>(
      "Page.getLayoutMetrics",
    );
    const { width, height } = metrics.cssContentSize;
    const shot = await this.send<{ data: string }>("Page.captureScreenshot", {
      format: "png",
      captureBeyondViewport: true,
      clip: { x: 0, y: 0, width: Math.ceil(width), height: Math.ceil(height), scale: 1 },
    });
    await Deno.writeFile(path, Uint8Array.from(atob(shot.data), (c) => c.charCodeAt(0)));
  }

  /** Puts files in an `<input type="file">` (as the file picker would); fires its change event. */
  async setFileInput(selector: string, files: string[]): Promise<void> {
    const { root } = await this.send<{ root: { nodeId: number } }>("DOM.getDocument");
    const { nodeId } = await this.send<{ nodeId: number }>("DOM.querySelector", {
      nodeId: root.nodeId,
      selector,
    });
    if (!nodeId) throw new Error(`No element matches ${selector}`);
    await this.send("DOM.setFileInputFiles", { nodeId, files });
  }

  /**
   * Waits until `condition` (a JS expression) is truthy in the page, re-checking on every DOM
   * change and media event (no fixed sleeps), and returns its value.
   */
  waitFor<T>(condition: string, what: string, timeoutMs = 30_000): Promise<T> {
    return this.evaluate<T>(`new Promise((resolve, reject) => {
      const check = () => {
        let value;
        try { value = (${condition}); } catch (error) { value = undefined; }
        if (value) { done(); resolve(value); }
      };
      const observer = new MutationObserver(check);
      const events = ["timeupdate", "progress", "playing", "loadeddata", "error"];
      const done = () => {
        observer.disconnect();
        clearTimeout(timer);
        for (const e of events) document.removeEventListener(e, check, true);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(${JSON.stringify(`Timed out after ${timeoutMs} ms waiting for ${what}`)}));
      }, ${timeoutMs});
      observer.observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
      for (const e of events) document.addEventListener(e, check, true);
      check();
    })`);
  }
}
