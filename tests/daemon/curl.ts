// Runs Debian's curl (to send exactly the headers a test wants, Host included) and returns the
// status, headers and body bytes. Each run has a time limit.

/** What curl got. */
export interface CurlAnswer {
  status: number;
  headers: Headers;
  body: Uint8Array;
  text(): string;
}

/** Whether curl is installed. */
export function hasCurl(): boolean {
  try {
    return Deno.statSync("/usr/bin/curl").isFile;
  } catch {
    return false;
  }
}

/**
 * `curl -s -D - -o BODY ...args URL`.
 * @param url The URL.
 * @param args More curl arguments (`-H`, `-X`, `-r`, `--data-binary`, `-u`...).
 */
export async function curl(url: string, args: string[] = []): Promise<CurlAnswer> {
  const bodyFile = await Deno.makeTempFile({ prefix: "shoal-curl-" });
  try {
    const output = await new Deno.Command("/usr/bin/curl", {
      args: ["-s", "-S", "--max-time", "60", "-D", "-", "-o", bodyFile, ...args, url],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!output.success) {
      throw new Error(
        `curl ${args.join(" ")} ${url} failed: ${new TextDecoder().decode(output.stderr)}`,
      );
    }
    const head = new TextDecoder().decode(output.stdout).split(/\r?\n\r?\n/).filter((b) => b)
      .pop()!;
    const [statusLine, ...lines] = head.split(/\r?\n/);
    const headers = new Headers();
    for (const line of lines) {
      const colon = line.indexOf(":");
      if (colon > 0) headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
    }
    const body = await Deno.readFile(bodyFile);
    return {
      status: Number(statusLine.split(" ")[1]),
      headers,
      body,
      text: () => new TextDecoder().decode(body),
    };
  } finally {
    await Deno.remove(bodyFile).catch(() => {});
  }
}
