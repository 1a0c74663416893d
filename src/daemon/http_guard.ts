import { createHash, timingSafeEqual } from "node:crypto";
import { ApiError } from "./api_error.ts";
import { isIpLiteral } from "./http_address.ts";

/** The header a program sends the CSRF token in (and that every answer carries it in). */
export const CSRF_HEADER = "x-shoal-csrf";

/** What the daemon accepts. */
export interface GuardPolicy {
  /** Hostnames (lowercase; IPv6 in brackets) a request's `Host` may name. */
  readonly allowedHosts: ReadonlySet<string>;
  /** Also accept any IP address literal in `Host` (when bound to every interface). */
  readonly anyIpLiteral: boolean;
  /** Credentials every request must carry, if any. */
  readonly auth?: {
    /** Basic user and password. */
    readonly user?: string;
    readonly password?: string;
    /** A token: `Authorization: Bearer TOKEN`, or Basic with any user and the token as password. */
    readonly token?: string;
  };
  /** The CSRF token mutating requests without a matching `Origin` must carry. */
  readonly csrfToken: string;
}

function digest(text: string): Uint8Array {
  return createHash("sha256").update(text).digest();
}

/**
 * Compares two secrets in constant time (their SHA-256 digests, so lengths do not leak).
 * @param a One string.
 * @param b The other.
 * @returns `true` when equal.
 */
function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/**
 * Splits a `Host` header into its lowercase hostname (IPv6 kept in brackets) and port.
 * @param host The header.
 * @returns Hostname and port text, or `undefined` if malformed.
 */
export function parseHostHeader(host: string): { hostname: string; port?: string } | undefined {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:[\]\s/@]+)(?::(\d{1,5}))?$/.exec(host.trim());
  if (!match) return undefined;
  return { hostname: match[1].toLowerCase().replace(/\.$/, ""), port: match[2] };
}

function hostAllowed(host: string | null, policy: GuardPolicy): boolean {
  if (host === null) return false;
  const parsed = parseHostHeader(host);
  if (!parsed) return false;
  return policy.allowedHosts.has(parsed.hostname) ||
    (policy.anyIpLiteral && isIpLiteral(parsed.hostname));
}

function decodeBasic(value: string): { user: string; password: string } | undefined {
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(
      Uint8Array.from(atob(value), (c) => c.charCodeAt(0)),
    );
    const colon = text.indexOf(":");
    if (colon < 0) return undefined;
    return { user: text.slice(0, colon), password: text.slice(colon + 1) };
  } catch {
    return undefined;
  }
}

function authorized(header: string | null, auth: NonNullable<GuardPolicy["auth"]>): boolean {
  if (header === null) return false;
  const space = header.indexOf(" ");
  const scheme = header.slice(0, space).toLowerCase();
  const value = header.slice(space + 1).trim();
  if (space < 0 || value === "") return false;
  if (scheme === "bearer") return auth.token !== undefined && sameSecret(value, auth.token);
  if (scheme !== "basic") return false;
  const basic = decodeBasic(value);
  if (!basic) return false;
  // Both comparisons always run, so timing does not say which part was wrong.
  const userOk = auth.user !== undefined && sameSecret(basic.user, auth.user);
  const passwordOk = auth.password !== undefined && sameSecret(basic.password, auth.password);
  const tokenOk = auth.token !== undefined && sameSecret(basic.password, auth.token);
  return (userOk && passwordOk) || tokenOk;
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * The daemon's front door, run before any route: the classic holes of torrent daemons closed.
 * 1. DNS rebinding (Transmission's CVE-2018-5702): a `Host` that is not the bound address,
 *    `localhost` or an allowed name is refused with 421, before anything else is said.
 * 2. Authentication, when configured: Basic or Bearer, compared in constant time; 401 with a
 *    `WWW-Authenticate` challenge otherwise.
 * 3. Cross-site reads and embeds: a request the browser marks `Sec-Fetch-Site: cross-site` or
 *    `same-site` is refused (403) unless it is a plain navigation.
 * 4. CSRF: a mutating request (anything but GET, HEAD and OPTIONS) needs an `Origin` equal to
 *    `http://` (or `https://`, behind a proxy) + its own `Host`, or the CSRF token in `X-Shoal-Csrf`; a foreign `Origin` is
 *    refused even with a token.
 * @param request The request.
 * @param policy Hosts, credentials and the CSRF token.
 * @returns The refusal to answer with, or `undefined` to go on.
 * @example
 * ```ts
 * import { guardRequest } from "@shoal/shoal/daemon";
 * import { strictEqual } from "node:assert/strict";
 * const policy = { allowedHosts: new Set(["127.0.0.1", "localhost"]), anyIpLiteral: false, csrfToken: "t" };
 * const get = (host: string) => new Request("http://x/api/v1/torrents", { headers: { host } });
 * strictEqual(guardRequest(get("127.0.0.1:9080"), policy), undefined);
 * strictEqual(guardRequest(get("evil.example:9080"), policy)?.status, 421);
 * const post = new Request("http://x/api/v1/torrents", {
 *   method: "POST",
 *   headers: { host: "localhost:9080", origin: "http://evil.example" },
 * });
 * strictEqual(guardRequest(post, policy)?.status, 403);
 * ```
 */
export function guardRequest(request: Request, policy: GuardPolicy): ApiError | undefined {
  const headers = request.headers;
  const host = headers.get("host");
  if (!hostAllowed(host, policy)) {
    return new ApiError(
      421,
      `Cannot serve host ${JSON.stringify(host ?? "")}: not this daemon's address ` +
        "(use the address it listens on, or localhost, or start it with --allow-host)",
    );
  }
  if (policy.auth && !authorized(headers.get("authorization"), policy.auth)) {
    return new ApiError(401, "Cannot serve the request: authentication required", {
      headers: { "www-authenticate": 'Basic realm="shoal", charset="UTF-8"' },
    });
  }
  const site = headers.get("sec-fetch-site");
  if (
    (site === "cross-site" || site === "same-site") &&
    !(request.method === "GET" && headers.get("sec-fetch-mode") === "navigate")
  ) {
    return new ApiError(403, `Cannot serve a ${site} request`);
  }
  if (SAFE_METHODS.has(request.method)) return undefined;
  const origin = headers.get("origin");
  if (origin !== null) {
    const own = host!.trim().toLowerCase();
    const lower = origin.toLowerCase();
    if (lower !== `http://${own}` && lower !== `https://${own}`) {
      return new ApiError(403, `Cannot accept a request from origin ${JSON.stringify(origin)}`);
    }
    return undefined;
  }
  const token = headers.get(CSRF_HEADER);
  if (token !== null && sameSecret(token, policy.csrfToken)) return undefined;
  return new ApiError(
    403,
    "Cannot accept a request without a CSRF token: send the X-Shoal-Csrf header " +
      "(every answer carries its value) or a matching Origin",
  );
}
