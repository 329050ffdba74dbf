import { Hono } from "hono";
import { beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import type { HonoEnv } from "../../src/deps.ts";
import { TiktiError } from "../../src/errors.ts";
import { apiKeyReader, requireApiKey } from "../../src/http/middleware/api-key.ts";
import { defineRoute, mountRoutes } from "../../src/http/route.ts";
import { buildTestApp, forEachEngine, TEST_API_KEY, type TestApp } from "../support/app.ts";
import { describeWithoutEngine } from "../support/engines.ts";
import { openTempEmbedded } from "../support/stores.ts";

forEachEngine("HTTP core", (engine) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp({
      store: await engine.freshStore(),
      config: { http: { allowedOrigins: ["https://app.example.com"] } },
    });
  });

  it("echoes a valid X-Request-ID and replaces an invalid one with a UUIDv7", async () => {
    const kept = await t.call("/healthz", { headers: { "X-Request-ID": "abc.DEF_123-x" } });
    expect(kept.headers.get("x-request-id")).toBe("abc.DEF_123-x");
    const replaced = await t.call("/healthz", { headers: { "X-Request-ID": "bad id with spaces" } });
    expect(replaced.headers.get("x-request-id")).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(replaced.headers.get("x-content-type-options")).toBe("nosniff");
  });

  it("answers unknown paths 404 NOT_FOUND as JSON, including trailing slashes", async () => {
    for (const path of ["/nope", "/healthz/", "/.well-known/jwks.json/", "/v1/healthz"]) {
      const res = await t.call(path);
      expect(res.status, path).toBe(404);
      expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
      expect(await res.json()).toEqual({ error: "not found", code: "NOT_FOUND" });
    }
  });

  it("answers a known path with another method 405 with Allow", async () => {
    const res = await t.call("/.well-known/jwks.json", { method: "DELETE" });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toMatch(/GET/);
    expect(await res.json()).toEqual({ error: "method not allowed", code: "METHOD_NOT_ALLOWED" });
    const v1 = await t.call("/v1/.well-known/openid-configuration", { method: "POST" });
    expect(v1.status).toBe(405);
  });

  it("serves the discovery document with exactly the members of docs/spec/tokens.md §6.4", async () => {
    const res = await t.call("/.well-known/openid-configuration");
    expect(res.headers.get("cache-control")).toBe("public, max-age=300");
    const doc = await res.json();
    expect(Object.keys(doc).sort()).toEqual(
      [
        "claims_supported",
        "grant_types_supported",
        "issuer",
        "jwks_uri",
        "subject_types_supported",
        "token_endpoint",
        "introspection_endpoint",
        "revocation_endpoint",
        "token_endpoint_auth_methods_supported",
      ].sort(),
    );
    expect(doc.jwks_uri).toBe("https://id.test.example/.well-known/jwks.json");
    expect(doc.token_endpoint).toBe("https://id.test.example/oauth/token");
    const v1 = await t.call("/v1/.well-known/openid-configuration");
    expect(await v1.json()).toEqual(doc);
  });

  it("puts no-store on /accounts, /tenants and /admin responses, errors included", async () => {
    for (const path of ["/accounts/nope", "/tenants/x/nope", "/admin/nope", "/v1/accounts/nope"]) {
      const res = await t.call(path);
      expect(res.status).toBe(404);
      expect(res.headers.get("cache-control"), path).toBe("no-store");
      expect(res.headers.get("pragma"), path).toBe("no-cache");
    }
    expect((await t.call("/healthz")).headers.get("cache-control")).toBeNull();
  });

  describe("CORS allowlist (docs/spec/api.md §2.6)", () => {
    const origin = "https://app.example.com";
    it("adds the headers for an allowed origin and never allows credentials", async () => {
      const res = await t.call("/.well-known/jwks.json", { headers: { Origin: origin } });
      expect(res.headers.get("access-control-allow-origin")).toBe(origin);
      expect(res.headers.get("vary")).toContain("Origin");
      expect(res.headers.get("access-control-expose-headers")).toBe("X-Request-ID, Retry-After");
      expect(res.headers.get("access-control-allow-credentials")).toBeNull();
    });
    it("sends nothing for another origin", async () => {
      const res = await t.call("/.well-known/jwks.json", { headers: { Origin: "https://evil.example" } });
      expect(res.status).toBe(200);
      expect(res.headers.get("access-control-allow-origin")).toBeNull();
    });
    it("answers an allowed preflight on a known route 204 with the allow lists", async () => {
      const res = await t.call("/.well-known/jwks.json", {
        method: "OPTIONS",
        headers: { Origin: origin, "Access-Control-Request-Method": "GET" },
      });
      expect(res.status).toBe(204);
      expect(res.headers.get("access-control-allow-methods")).toBe("GET, POST, PUT, DELETE, OPTIONS");
      expect(res.headers.get("access-control-allow-headers")).toBe(
        "Content-Type, Authorization, X-API-Key, X-Request-ID",
      );
      expect(res.headers.get("access-control-max-age")).toBe("600");
    });
    it("answers an allowed preflight 204 without a Content-Length or a body (RFC 9110 §8.6), with no-store where due", async () => {
      for (const path of ["/.well-known/jwks.json", "/v1/accounts/lookup"]) {
        const res = await t.call(path, {
          method: "OPTIONS",
          headers: { Origin: origin, "Access-Control-Request-Method": "POST" },
        });
        expect(res.status, path).toBe(204);
        // The 405 it replaces used to lend it its Content-Length (58).
        expect(res.headers.get("content-length"), path).toBeNull();
        expect(await res.text(), path).toBe("");
        expect(res.headers.get("access-control-allow-origin"), path).toBe(origin);
        expect(res.headers.get("x-request-id"), path).toMatch(/^[0-9a-f-]{36}$/);
        expect(res.headers.get("x-content-type-options"), path).toBe("nosniff");
        expect(res.headers.get("cache-control"), path).toBe(path.includes("accounts") ? "no-store" : null);
      }
    });
    it("carries the request's headers on JSON answers and on answers built elsewhere alike", async () => {
      // JSON answers get them when built (src/http/json-response.ts); /metrics (text), an HTML page
      // and Hono's own 405 get them set afterwards: both paths, one result.
      for (const [path, method] of [
        ["/.well-known/jwks.json", "GET"],
        ["/accounts/lookup", "GET"],
        ["/tenants", "DELETE"],
        ["/metrics", "GET"],
      ] as const) {
        const res = await t.call(path, { method, headers: { Origin: origin, "X-Request-ID": "rid-1" } });
        expect(res.headers.get("x-request-id"), path).toBe("rid-1");
        expect(res.headers.get("x-content-type-options"), path).toBe("nosniff");
        const cors = path !== "/metrics";
        expect(res.headers.get("access-control-allow-origin"), path).toBe(cors ? origin : null);
        expect(res.headers.get("vary"), path).toBe(cors ? "Origin" : null);
        const noStore = path.startsWith("/accounts") || path.startsWith("/tenants");
        if (path !== "/metrics") {
          expect(res.headers.get("cache-control"), path).toBe(noStore ? "no-store" : "public, max-age=300");
        }
        expect(Number(res.headers.get("content-length")), path).toBe((await res.arrayBuffer()).byteLength);
      }
    });
    it("answers a preflight from another origin 403 without CORS headers", async () => {
      const res = await t.call("/.well-known/jwks.json", {
        method: "OPTIONS",
        headers: { Origin: "https://evil.example" },
      });
      expect(res.status).toBe(403);
      expect(res.headers.get("access-control-allow-origin")).toBeNull();
    });
    it("never sends CORS headers on /healthz, /readyz, /metrics", async () => {
      for (const path of ["/healthz", "/readyz", "/metrics"]) {
        const res = await t.call(path, { headers: { Origin: origin } });
        expect(res.headers.get("access-control-allow-origin"), path).toBeNull();
      }
    });
  });

  it("has no CORS headers at all with the default empty allowlist", async () => {
    const plain = await buildTestApp({ store: t.store });
    const res = await plain.call("/.well-known/jwks.json", {
      headers: { Origin: "https://app.example.com" },
    });
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("reports readiness from the store, the signing key and shutdown", async () => {
    const ok = await t.call("/readyz");
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({
      status: "ready",
      checks: { store: "ok", signingKey: "ok", saml: "ok", shutdown: "ok" },
    });
    t.deps.lifecycle.shuttingDown = true;
    try {
      const down = await t.call("/readyz");
      expect(down.status).toBe(503);
      expect((await down.json()).checks.shutdown).toBe("shutting down");
    } finally {
      t.deps.lifecycle.shuttingDown = false;
    }
  });

  it("counts requests under the canonical route in /metrics", async () => {
    await t.call("/v1/.well-known/jwks.json");
    await t.call("/no/such/route");
    const text = await (await t.call("/metrics")).text();
    expect(text).toMatch(
      /tikti_http_requests_total\{method="GET",route="\/\.well-known\/jwks\.json",status="200"\} [1-9]/,
    );
    expect(text).toMatch(/tikti_http_requests_total\{method="GET",route="unmatched",status="404"\} [1-9]/);
    expect(text).toMatch(/tikti_request_latency_seconds_bucket\{le="0.005",route="\/healthz"\}/);
  });
});

describeWithoutEngine("a store failure becomes 503 STORE_UNAVAILABLE", () => {
  it("on readiness and on a route that needs the store, with Retry-After", async () => {
    const store = await openTempEmbedded();
    const t = await buildTestApp({ store });
    // A route that reads the store, mounted through the same route machinery the API uses.
    const probe = new Hono<HonoEnv>();
    mountRoutes(
      probe,
      [
        defineRoute({
          method: "GET",
          path: "/probe",
          auth: "public",
          tag: "test",
          summary: "reads a key",
          errors: [],
          handler: async (c) => c.text((await store.get("k")) ?? "none"),
        }),
      ],
      { key: async (_c, next) => next(), admin: async (_c, next) => next() },
    );
    t.app.route("/", probe);
    await store.close();
    const ready = await t.call("/readyz");
    expect(ready.status).toBe(503);
    expect((await ready.json()).checks.store).toBe("store unavailable");
    const res = await t.call("/probe");
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("5");
    expect(await res.json()).toEqual({ error: "service unavailable", code: "STORE_UNAVAILABLE" });
    expect(await (await t.call("/metrics")).text()).toMatch(
      /tikti_store_errors_total\{operation="\/probe"\} 1/,
    );
  });

  it("an unexpected error becomes 500 INTERNAL without its message", async () => {
    const store = await openTempEmbedded();
    const t = await buildTestApp({ store });
    const boom = new Hono<HonoEnv>();
    boom.get("/boom", () => {
      throw new Error("secret internal detail");
    });
    t.app.route("/", boom);
    const res = await t.call("/boom");
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).not.toContain("secret internal detail");
    expect(JSON.parse(text)).toEqual({ error: "internal error", code: "INTERNAL" });
    await store.close();
  });
});

describeWithoutEngine("API key guard (docs/spec/api.md §2.2)", () => {
  const app = new Hono<HonoEnv>();
  app.post("/guarded", requireApiKey(apiKeyReader(TEST_API_KEY)), (c) => c.text("ok"));
  app.onError((e, c) => (e instanceof TiktiError ? c.json(e.toBody(), e.status as 401) : c.text("x", 500)));
  const call = (path: string, headers: Record<string, string> = {}) =>
    app.request(path, { method: "POST", headers });

  it.each([
    ["header", "/guarded", { "X-API-Key": TEST_API_KEY }, 200],
    ["query", `/guarded?key=${TEST_API_KEY}`, {}, 200],
    ["header and query equal", `/guarded?key=${TEST_API_KEY}`, { "X-API-Key": TEST_API_KEY }, 200],
    ["missing", "/guarded", {}, 401],
    ["wrong header", "/guarded", { "X-API-Key": `${TEST_API_KEY}x` }, 401],
    ["wrong query", "/guarded?key=nope", {}, 401],
    ["header and query differ", "/guarded?key=other", { "X-API-Key": TEST_API_KEY }, 401],
    ["query repeated", `/guarded?key=${TEST_API_KEY}&key=${TEST_API_KEY}`, {}, 401],
    ["empty header", "/guarded", { "X-API-Key": "" }, 401],
  ] as const)("%s → %i", async (_name, path, headers, status) => {
    const res = await call(path, headers);
    expect(res.status).toBe(status);
    if (status === 401) {
      expect(await res.json()).toEqual({ error: "Invalid or missing API key", code: "API_KEY_INVALID" });
    }
  });

  it("checks the key before reading a malformed body", async () => {
    const res = await app.request("/guarded", {
      method: "POST",
      body: "{not json",
      headers: { "content-type": "text/plain" },
    });
    expect(res.status).toBe(401);
  });
});

describeWithoutEngine("route machinery order of checks (docs/spec/api.md §2.11.6)", () => {
  const app = new Hono<HonoEnv>();
  mountRoutes(
    app,
    [
      defineRoute({
        method: "POST",
        path: "/things",
        auth: "key",
        tag: "test",
        summary: "creates a thing",
        body: z.object({ name: z.string(), size: z.number().int().min(1).optional() }),
        errors: [],
        handler: (c, { body }) => c.json({ got: body }),
      }),
    ],
    { key: requireApiKey(apiKeyReader(TEST_API_KEY)), admin: requireApiKey(apiKeyReader(TEST_API_KEY)) },
  );
  app.onError((e, c) =>
    e instanceof TiktiError ? c.json(e.toBody(), e.status as 400) : c.text(String(e), 500),
  );
  const post = (body: string, headers: Record<string, string>) =>
    app.request("/things", { method: "POST", body, headers });
  const key = { "X-API-Key": TEST_API_KEY };

  it("401 before 415 before 413 before 400", async () => {
    expect((await post("x".repeat(70_000), { "content-type": "text/plain" })).status).toBe(401);
    expect((await post("x".repeat(70_000), { ...key, "content-type": "text/plain" })).status).toBe(415);
    expect((await post("x".repeat(70_000), { ...key, "content-type": "application/json" })).status).toBe(413);
    expect((await post("{bad", { ...key, "content-type": "application/json" })).status).toBe(400);
  });

  it("wrong types and missing fields → INVALID_REQUEST; rule failures → INVALID_ARGUMENT; details per field", async () => {
    const missing = await post("{}", { ...key, "content-type": "application/json" });
    expect(await missing.json()).toMatchObject({
      code: "INVALID_REQUEST",
      details: { name: expect.any(String) },
    });
    const typed = await post('{"name":5}', { ...key, "content-type": "application/json" });
    expect(await typed.json()).toMatchObject({
      code: "INVALID_REQUEST",
      details: { name: expect.any(String) },
    });
    const rule = await post('{"name":"a","size":0}', { ...key, "content-type": "application/json" });
    expect(rule.status).toBe(400);
    expect(await rule.json()).toMatchObject({
      code: "INVALID_ARGUMENT",
      details: { size: expect.any(String) },
    });
    const ok = await post('{"name":"a","size":2,"extra":true}', {
      ...key,
      "content-type": "application/json",
    });
    expect(await ok.json()).toEqual({ got: { name: "a", size: 2 } });
  });
});
