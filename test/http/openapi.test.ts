import { beforeAll, describe, expect, it } from "vitest";
import { catalogue } from "../../src/errors.ts";
import { openApiPath } from "../../src/http/openapi.ts";
import { buildTestApp, type TestApp } from "../support/app.ts";
import { openTempEmbedded } from "../support/stores.ts";

describe("GET /openapi.json", () => {
  let t: TestApp;
  let doc: {
    openapi: string;
    paths: Record<
      string,
      Record<string, { security: unknown[]; responses: Record<string, unknown>; requestBody?: unknown }>
    >;
    components: { schemas: { Error: { properties: { code: { enum: string[] } } } } };
  };
  beforeAll(async () => {
    t = await buildTestApp({ store: await openTempEmbedded() });
    const res = await t.call("/openapi.json");
    expect(res.status).toBe(200);
    doc = await res.json();
  });

  it("is OpenAPI 3.1 and lists every mounted JSON route exactly once", () => {
    expect(doc.openapi).toBe("3.1.0");
    const documented = Object.entries(doc.paths).flatMap(([p, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`),
    );
    const mounted = t.app.routeSpecs.map((s) => `${s.method} ${openApiPath(s.path)}`);
    expect(documented.sort()).toEqual(mounted.sort());
    expect(mounted.length).toBeGreaterThanOrEqual(2);
  });

  it("documents every error code of the catalogue in the Error schema", () => {
    expect([...doc.components.schemas.Error.properties.code.enum].sort()).toEqual(
      Object.keys(catalogue).sort(),
    );
  });

  it("marks key-protected routes with the API key schemes and adds their 401", () => {
    for (const spec of t.app.routeSpecs) {
      const op = doc.paths[openApiPath(spec.path)]![spec.method.toLowerCase()]!;
      if (spec.auth === "key" || spec.auth === "admin") {
        expect(op.security).toContainEqual({ ApiKeyHeader: [] });
        expect(op.responses["401"]).toBeDefined();
      }
      if (spec.body) expect(op.requestBody).toBeDefined();
    }
  });

  it("is served identically under /v1", async () => {
    const v1 = await (await t.call("/v1/openapi.json")).json();
    expect(v1).toEqual(doc);
  });
});
