/** Where the daemon's HTTP server listens. */
export interface HttpAddress {
  /** An IPv4 or IPv6 address (no brackets), or `localhost`. */
  readonly hostname: string;
  /** TCP port; 0 for any free one. */
  readonly port: number;
}

/** The default `--http` address: loopback only. */
export const DEFAULT_HTTP_ADDRESS: HttpAddress = { hostname: "127.0.0.1", port: 9080 };

/**
 * Parses an `--http` address: `HOST:PORT`, `[IPV6]:PORT`, or a bare `PORT` (on 127.0.0.1).
 * @param text The address.
 * @returns Hostname and port.
 * @throws {TypeError} If it is not one of those forms or the port is not 0..65535.
 * @example
 * ```ts
 * import { parseHttpAddress } from "@shoal/shoal/daemon";
 * import { deepStrictEqual } from "node:assert/strict";
 * deepStrictEqual(parseHttpAddress("[::1]:9080"), { hostname: "::1", port: 9080 });
 * deepStrictEqual(parseHttpAddress("8080"), { hostname: "127.0.0.1", port: 8080 });
 * ```
 */
export function parseHttpAddress(text: string): HttpAddress {
  const match = /^(?:(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]+)):)?(\d{1,5})$/.exec(text.trim());
  const port = match ? Number(match[3]) : -1;
  if (!match || port > 65535) {
    throw new TypeError(`Cannot use HTTP address "${text}": expected HOST:PORT or [IPV6]:PORT`);
  }
  return { hostname: match[1] ?? match[2] ?? DEFAULT_HTTP_ADDRESS.hostname, port };
}

/**
 * Whether a hostname can only be reached from this machine: `localhost`, 127.0.0.0/8 or `::1`.
 * @param hostname A hostname or IP address (IPv6 with or without brackets).
 * @returns `true` for loopback.
 * @example
 * ```ts
 * import { isLoopbackHost } from "@shoal/shoal/daemon";
 * import { strictEqual } from "node:assert/strict";
 * strictEqual(isLoopbackHost("127.0.0.1"), true);
 * strictEqual(isLoopbackHost("0.0.0.0"), false);
 * ```
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[(.*)\]$/, "$1");
  if (host === "localhost" || host === "::1" || host === "0:0:0:0:0:0:0:1") return true;
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host.replace(/^::ffff:/, ""));
  return v4 !== null && Number(v4[1]) === 127 && v4.slice(2).every((p) => Number(p) <= 255);
}

/**
 * Whether a hostname is a wildcard address (every interface): `0.0.0.0` or `::`.
 * @param hostname A hostname or IP address.
 * @returns `true` for a wildcard.
 * @example
 * ```ts
 * import { isWildcardHost } from "@shoal/shoal/daemon";
 * import { strictEqual } from "node:assert/strict";
 * strictEqual(isWildcardHost("::"), true);
 * ```
 */
export function isWildcardHost(hostname: string): boolean {
  const host = hostname.replace(/^\[(.*)\]$/, "$1");
  return host === "0.0.0.0" || host === "::" || host === "0:0:0:0:0:0:0:0";
}

/**
 * Whether a hostname is an IP address literal (IPv4 dotted quad, or IPv6 in brackets or not).
 * @param hostname A hostname.
 * @returns `true` for an IP literal.
 * @example
 * ```ts
 * import { isIpLiteral } from "@shoal/shoal/daemon";
 * import { strictEqual } from "node:assert/strict";
 * strictEqual(isIpLiteral("[fe80::1]"), true);
 * strictEqual(isIpLiteral("evil.example"), false);
 * ```
 */
export function isIpLiteral(hostname: string): boolean {
  const host = hostname.replace(/^\[(.*)\]$/, "$1");
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(host)) return host.split(".").every((p) => Number(p) <= 255);
  return host.includes(":") && /^[0-9a-fA-F:.]+$/.test(host);
}

/**
 * Formats a host and port for a URL (IPv6 in brackets).
 * @param address Hostname and port.
 * @returns `host:port` or `[v6]:port`.
 * @example
 * ```ts
 * import { formatHttpAddress } from "@shoal/shoal/daemon";
 * import { strictEqual } from "node:assert/strict";
 * strictEqual(formatHttpAddress({ hostname: "::1", port: 80 }), "[::1]:80");
 * ```
 */
export function formatHttpAddress(address: HttpAddress): string {
  return address.hostname.includes(":")
    ? `[${address.hostname}]:${address.port}`
    : `${address.hostname}:${address.port}`;
}
