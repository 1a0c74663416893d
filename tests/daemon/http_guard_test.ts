import { strictEqual } from "node:assert/strict";
import { type GuardPolicy, guardRequest, parseHostHeader } from "../../src/daemon/http_guard.ts";

const policy: GuardPolicy = {
  allowedHosts: new Set(["127.0.0.1", "localhost", "[::1]"]),
  anyIpLiteral: false,
  csrfToken: "secret-csrf-token",
};

function request(
  method: string,
  headers: Record<string, string>,
  path = "/api/v1/torrents",
): Request {
  return new Request(`http://ignored${path}`, { method, headers });
}

Deno.test("parseHostHeader() splits names, IPv4 and bracketed IPv6, and refuses junk", () => {
  strictEqual(parseHostHeader("LocalHost:9080")?.hostname, "localhost");
  strictEqual(parseHostHeader("[::1]:9080")?.hostname, "[::1]");
  strictEqual(parseHostHeader("127.0.0.1")?.port, undefined);
  strictEqual(parseHostHeader("a@b:80"), undefined);
  strictEqual(parseHostHeader("x:99999999"), undefined);
});

Deno.test("guardRequest() refuses a foreign Host (DNS rebinding) with 421, and a missing one", () => {
  strictEqual(guardRequest(request("GET", { host: "127.0.0.1:9080" }), policy), undefined);
  strictEqual(guardRequest(request("GET", { host: "localhost" }), policy), undefined);
  strictEqual(guardRequest(request("GET", { host: "[::1]:9080" }), policy), undefined);
  strictEqual(guardRequest(request("GET", { host: "evil.example:9080" }), policy)?.status, 421);
  strictEqual(
    guardRequest(request("GET", { host: "127.0.0.1.evil.example" }), policy)?.status,
    421,
  );
  strictEqual(guardRequest(request("GET", { host: "10.0.0.5:9080" }), policy)?.status, 421);
  strictEqual(guardRequest(request("GET", {}), policy)?.status, 421);
});

Deno.test("guardRequest() on a wildcard bind takes any IP literal but still no foreign name", () => {
  const wildcard = { ...policy, anyIpLiteral: true };
  strictEqual(guardRequest(request("GET", { host: "192.168.1.20:9080" }), wildcard), undefined);
  strictEqual(guardRequest(request("GET", { host: "[fe80::1]:9080" }), wildcard), undefined);
  strictEqual(guardRequest(request("GET", { host: "evil.example" }), wildcard)?.status, 421);
});

Deno.test("guardRequest() asks for credentials: Basic, Bearer, or the token as Basic password", () => {
  const auth = { ...policy, auth: { user: "ann", password: "pw", token: "t".repeat(20) } };
  const basic = (user: string, pass: string) => `Basic ${btoa(`${user}:${pass}`)}`;
  const get = (authorization?: string) =>
    guardRequest(
      request("GET", { host: "localhost", ...(authorization ? { authorization } : {}) }),
      auth,
    );
  strictEqual(get()?.status, 401);
  strictEqual(get()?.headers["www-authenticate"]?.startsWith("Basic"), true);
  strictEqual(get(basic("ann", "pw")), undefined);
  strictEqual(get(basic("ann", "wrong"))?.status, 401);
  strictEqual(get(basic("bob", "pw"))?.status, 401);
  strictEqual(get(`Bearer ${"t".repeat(20)}`), undefined);
  strictEqual(get(basic("anyone", "t".repeat(20))), undefined);
  strictEqual(get("Bearer nope")?.status, 401);
  strictEqual(get("Basic !!!")?.status, 401);
  // The Host check comes first: a rebinding page learns nothing about the credentials.
  strictEqual(
    guardRequest(request("GET", { host: "evil.example", authorization: basic("ann", "pw") }), auth)
      ?.status,
    421,
  );
});

Deno.test("guardRequest() refuses a mutating request without a matching Origin or the CSRF token", () => {
  const host = "127.0.0.1:9080";
  strictEqual(guardRequest(request("POST", { host }), policy)?.status, 403);
  strictEqual(guardRequest(request("DELETE", { host }), policy)?.status, 403);
  strictEqual(guardRequest(request("PATCH", { host }), policy)?.status, 403);
  strictEqual(
    guardRequest(request("POST", { host, origin: "http://evil.example" }), policy)?.status,
    403,
  );
  strictEqual(guardRequest(request("POST", { host, origin: "null" }), policy)?.status, 403);
  strictEqual(
    guardRequest(request("POST", { host, origin: "http://127.0.0.1:9081" }), policy)?.status,
    403,
    "another port is another origin",
  );
  strictEqual(guardRequest(request("POST", { host, origin: `http://${host}` }), policy), undefined);
  strictEqual(
    guardRequest(request("POST", { host, "x-shoal-csrf": "secret-csrf-token" }), policy),
    undefined,
  );
  strictEqual(
    guardRequest(request("POST", { host, "x-shoal-csrf": "wrong" }), policy)?.status,
    403,
  );
  strictEqual(
    guardRequest(
      request("POST", { host, origin: "http://evil.example", "x-shoal-csrf": "secret-csrf-token" }),
      policy,
    )?.status,
    403,
    "a foreign Origin is refused even with the token",
  );
  strictEqual(guardRequest(request("GET", { host }), policy), undefined, "reads need no token");
});

Deno.test("guardRequest() refuses cross-site and same-site fetches and embeds, but not navigations", () => {
  const host = "localhost:9080";
  strictEqual(
    guardRequest(
      request("GET", { host, "sec-fetch-site": "cross-site", "sec-fetch-mode": "no-cors" }),
      policy,
    )
      ?.status,
    403,
  );
  strictEqual(
    guardRequest(
      request("GET", { host, "sec-fetch-site": "same-site", "sec-fetch-mode": "cors" }),
      policy,
    )
      ?.status,
    403,
  );
  strictEqual(
    guardRequest(
      request("GET", { host, "sec-fetch-site": "cross-site", "sec-fetch-mode": "navigate" }, "/"),
      policy,
    ),
    undefined,
  );
  strictEqual(
    guardRequest(request("GET", { host, "sec-fetch-site": "same-origin" }), policy),
    undefined,
  );
});
