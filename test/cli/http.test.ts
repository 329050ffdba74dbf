// Transport (docs/spec/cli.md §1): headers, request ids, API key only as a header, no redirects, timeouts,
// network failures, and the error lines of §4 for answers that are not the documented body.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Fetch } from "../../cli/io.ts";
import { VERSION } from "../../src/version.ts";
import { cliHarness, type Harness, initProfile, TEST_API_KEY } from "./harness.ts";

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });

let h: Harness;
beforeEach(async () => {
  h = await cliHarness(async () => json(200, { tenants: [], nextPageToken: "" }));
  await initProfile(h);
  const raw = h.config();
  raw.profiles.default!.idToken = "stored.id.token";
  const { writeFileSync } = await import("node:fs");
  writeFileSync(h.configFile, JSON.stringify(raw), { mode: 0o600 });
});
afterEach(async () => {
  await h.close();
});

describe("headers", () => {
  it("admin routes: API key header, bearer idToken, User-Agent, one UUIDv7 request id", async () => {
    const r = await h.run(["tenant", "list"]);
    expect(r.code, r.stderr).toBe(0);
    const sent = h.requests[0]!;
    expect(sent.method).toBe("GET");
    expect(sent.url).toBe("http://tikti.test/tenants?pageSize=50");
    expect(sent.headers.get("x-api-key")).toBe(TEST_API_KEY);
    expect(sent.headers.get("authorization")).toBe("Bearer stored.id.token");
    expect(sent.headers.get("user-agent")).toBe(`tikti-cli/${VERSION.version}`);
    expect(sent.headers.get("x-request-id")).toMatch(UUID_V7);
    expect(sent.url).not.toContain("key=");
    await h.run(["tenant", "list"]);
    expect(h.requests[1]!.headers.get("x-request-id")).not.toBe(sent.headers.get("x-request-id"));
  });

  it("key routes carry the key but no bearer; public routes carry neither", async () => {
    await h.run(["user", "get"], { fetch: async () => json(200, { users: [{ localId: "u" }] }) });
    const lookup = h.requests.at(-1)!;
    expect(new URL(lookup.url).pathname).toBe("/accounts/lookup");
    expect(lookup.headers.get("x-api-key")).toBe(TEST_API_KEY);
    expect(lookup.headers.get("authorization")).toBeNull();
    expect(lookup.headers.get("content-type")).toBe("application/json");
    expect(await lookup.json()).toEqual({ idToken: "stored.id.token" });
    await h.run(["jwks"], { fetch: async () => json(200, { keys: [] }) });
    const jwks = h.requests.at(-1)!;
    expect(jwks.headers.get("x-api-key")).toBeNull();
    expect(jwks.headers.get("authorization")).toBeNull();
  });

  it("path segments are encoded", async () => {
    await h.run(["role", "get", "--tenant", "a.b", "--name", "x:y/z"], { fetch: async () => json(200, {}) });
    expect(new URL(h.requests.at(-1)!.url).pathname).toBe("/tenants/a.b/roles/x%3Ay%2Fz");
  });
});

describe("pretty output", () => {
  const tenants = async () =>
    json(200, {
      tenants: [
        { id: "acme", name: "Acme Corp", slug: "acme", status: "ACTIVE", createdAt: "2026-01-01T00:00:00Z" },
        { id: "b", name: "B", slug: "b", status: "DISABLED", createdAt: "2026-01-02T00:00:00Z" },
      ],
      nextPageToken: "",
    });

  it("aligns columns under upper-case headers; colour only on a terminal and never with NO_COLOR", async () => {
    const plain = await h.run(["tenant", "list"], { fetch: tenants });
    expect(plain.stdout).toBe(
      [
        "ID    NAME       SLUG  STATUS    CREATED",
        "acme  Acme Corp  acme  ACTIVE    2026-01-01T00:00:00Z",
        "b     B          b     DISABLED  2026-01-02T00:00:00Z",
        "",
      ].join("\n"),
    );
    const tty = await h.run(["tenant", "list"], {
      fetch: tenants,
      stdoutIsTTY: true,
      env: { NO_COLOR: undefined },
    });
    expect(tty.stdout).toContain("\u001b[1mID  \u001b[0m  \u001b[1mNAME");
    const noColor = await h.run(["tenant", "list"], {
      fetch: tenants,
      stdoutIsTTY: true,
      env: { NO_COLOR: "1" },
    });
    expect(noColor.stdout).toBe(plain.stdout);
    const json = await h.run(["tenant", "list", "--json"], { fetch: tenants, stdoutIsTTY: true });
    expect(json.stdout).not.toContain("\u001b[");
    expect(JSON.parse(json.stdout).tenants).toHaveLength(2);
  });
});

describe("failures", () => {
  it("redirects are not followed: exit 1 naming the location", async () => {
    const r = await h.run(["tenant", "list"], {
      fetch: async () =>
        new Response(null, { status: 302, headers: { location: "https://elsewhere.example/" } }),
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^error \(302\): unexpected redirect to https:\/\/elsewhere\.example\/ \(redirects are not followed\) \[REDIRECT\] \(request /,
    );
    expect(h.requests.at(-1)!.redirect).toBe("manual");
  });

  it("a request that outlives --timeout is exit 1", async () => {
    const hang: Fetch = (request) =>
      new Promise((_, reject) => {
        const signal = request.signal;
        signal.addEventListener("abort", () => reject(signal.reason));
      });
    const started = Date.now();
    const r = await h.run(["tenant", "list", "--timeout", "0.2"], { fetch: hang });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^error: no answer from http:\/\/tikti\.test within 0\.2s \(request [0-9a-f-]{36}\)\n$/,
    );
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("a network failure is exit 1 with the request id", async () => {
    const r = await h.run(["tenant", "list", "--json"], {
      fetch: async () => {
        throw new TypeError("fetch failed", { cause: new Error("connect ECONNREFUSED 127.0.0.1:1") });
      },
    });
    expect(r.code).toBe(1);
    const doc = r.errorJson();
    expect(doc).toEqual({
      status: null,
      error: "cannot reach http://tikti.test: connect ECONNREFUSED 127.0.0.1:1",
      code: "NETWORK",
      requestId: h.requests.at(-1)!.headers.get("x-request-id"),
    });
  });

  it.each([
    [401, 2],
    [403, 2],
    [400, 1],
    [404, 1],
    [405, 1],
    [409, 1],
    [413, 1],
    [415, 1],
    [429, 1],
    [500, 1],
    [503, 1],
  ])("HTTP %i → exit %i", async (status, code) => {
    const r = await h.run(["tenant", "list"], {
      fetch: async () => json(status, { error: "nope", code: "SOME_CODE" }),
    });
    expect(r.code).toBe(code);
    expect(r.stderr).toMatch(
      new RegExp(`^error \\(${status}\\): nope \\[SOME_CODE\\] \\(request [0-9a-f-]{36}\\)\\n$`),
    );
  });

  it("an error answer without the documented body still gives a readable line", async () => {
    const r = await h.run(["tenant", "list"], {
      fetch: async () => new Response("<html>bad gateway</html>", { status: 502, statusText: "Bad Gateway" }),
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error \(502\): Bad Gateway \[UNKNOWN\] \(request /);
  });

  it("a missing base URL is exit 3", async () => {
    const raw = h.config();
    delete raw.profiles.default!.baseUrl;
    const { writeFileSync } = await import("node:fs");
    writeFileSync(h.configFile, JSON.stringify(raw), { mode: 0o600 });
    const r = await h.run(["tenant", "list"]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^error: missing base URL in profile "default"/);
  });
});
