/**
 * docs/spec/api.md §1–§2 conventions, checked over EVERY mounted JSON route (from the same specs that mount
 * them), so a new route cannot forget the API key forms, the /v1 alias, the body checks or the
 * cache headers.
 */
import { beforeAll, expect, it } from "vitest";
import type { RouteSpec } from "../../src/http/route.ts";
import { buildTestApp, forEachEngine, TEST_API_KEY, type TestApp } from "../support/app.ts";

function concretePath(spec: RouteSpec): string {
  return spec.path.replace(/:tenantId/g, "acme").replace(/:([A-Za-z0-9_]+)/g, "x1");
}

async function snapshot(res: Response) {
  const text = await res.text();
  return { status: res.status, body: text, cacheControl: res.headers.get("cache-control") };
}

forEachEngine("conventions over every route", (engine) => {
  let t: TestApp;
  let specs: readonly RouteSpec[];
  beforeAll(async () => {
    t = await buildTestApp({ store: await engine.freshStore(), config: { rateLimits: { enabled: false } } });
    specs = t.app.routeSpecs;
  });

  const guarded = () => specs.filter((s) => s.auth === "key" || s.auth === "admin");

  it("covers the core routes", () => {
    expect(specs.length).toBeGreaterThanOrEqual(2);
  });

  it("key and admin routes answer 401 API_KEY_INVALID for a missing, wrong, mismatched or repeated key", async () => {
    for (const spec of guarded()) {
      const path = concretePath(spec);
      const cases: Array<[string, string, Record<string, string>]> = [
        ["missing", path, {}],
        ["wrong header", path, { "X-API-Key": "wrong" }],
        ["wrong query", `${path}?key=wrong`, {}],
        ["mismatched", `${path}?key=other`, { "X-API-Key": TEST_API_KEY }],
        ["repeated query", `${path}?key=${TEST_API_KEY}&key=${TEST_API_KEY}`, {}],
      ];
      for (const [name, p, headers] of cases) {
        const res = await t.call(p, {
          method: spec.method,
          key: false,
          headers: { ...headers, "content-type": "application/json" },
          ...(spec.method === "GET" ? {} : { body: "{}" }),
        });
        expect(res.status, `${spec.method} ${spec.path} (${name})`).toBe(401);
        expect(await res.json()).toEqual({ error: "Invalid or missing API key", code: "API_KEY_INVALID" });
      }
    }
  });

  it("key and admin routes accept the key by header and by query parameter alike", async () => {
    for (const spec of guarded()) {
      const path = concretePath(spec);
      const init = { method: spec.method, ...(spec.method === "GET" ? {} : { json: {} }) };
      const byHeader = await snapshot(await t.call(path, init));
      const byQuery = await snapshot(await t.call(`${path}?key=${TEST_API_KEY}`, { ...init, key: false }));
      expect(byHeader.status, `${spec.method} ${spec.path}`).not.toBe(401);
      expect(byQuery.status, `${spec.method} ${spec.path}`).toBe(byHeader.status);
    }
  });

  it("every route answers identically under /v1", async () => {
    for (const spec of specs) {
      const path = concretePath(spec);
      const init = { method: spec.method, ...(spec.method === "GET" ? {} : { json: {} }) };
      const canonical = await snapshot(await t.call(path, init));
      const alias = await snapshot(await t.call(`/v1${path}`, init));
      expect(alias.status, `${spec.method} /v1${spec.path}`).toBe(canonical.status);
      // Bodies may carry fresh ids or timestamps on success; error bodies must be identical.
      if (canonical.status >= 400) expect(alias.body, `${spec.method} /v1${spec.path}`).toBe(canonical.body);
      expect(alias.cacheControl).toBe(canonical.cacheControl);
    }
  });

  it("routes with a body check media type (415), then size (413), then JSON (400), after the key", async () => {
    for (const spec of specs.filter((s) => s.body)) {
      const path = concretePath(spec);
      const post = (body: string, contentType: string) =>
        t.call(path, { method: spec.method, body, headers: { "content-type": contentType } });
      const limit = spec.bodyLimit ?? 65_536;
      const where = `${spec.method} ${spec.path}`;
      expect((await post("{}", "text/plain")).status, where).toBe(415);
      expect((await post(`{"a":"${"x".repeat(limit)}"}`, "application/json")).status, where).toBe(413);
      const dup = await post('{"a":1,"a":2}', "application/json");
      expect(dup.status, where).toBe(400);
      expect((await dup.json()).code, where).toBe("INVALID_REQUEST");
      const arr = await post("[]", "application/json");
      expect(arr.status, where).toBe(400);
    }
  });

  it("/accounts, /tenants and /admin responses carry no-store; JWKS and discovery are cacheable", async () => {
    for (const spec of specs) {
      const path = concretePath(spec);
      const res = await t.call(path, { method: spec.method, ...(spec.method === "GET" ? {} : { json: {} }) });
      const cc = res.headers.get("cache-control");
      if (/^\/(accounts|tenants|admin)(\/|$)/.test(spec.path)) {
        expect(cc, `${spec.method} ${spec.path}`).toBe("no-store");
        expect(res.headers.get("pragma")).toBe("no-cache");
      }
      if (spec.path.startsWith("/.well-known/")) expect(cc).toBe("public, max-age=300");
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      if (res.status >= 400) expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
    }
  });
});
