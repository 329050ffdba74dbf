/**
 * `/openapi.json` (OpenAPI 3.1) against the app it describes: every mounted route — JSON routes at
 * both prefixes, health, readiness, metrics, the SAML browser routes — is in the document and
 * nothing else is; the document is valid against the official OAS 3.1 JSON Schema (ajv, draft
 * 2020-12; test/fixtures/openapi/oas-3.1-schema-2022-10-07.json, Apache-2.0, © The Linux
 * Foundation, https://spec.openapis.org/oas/3.1/schema/2022-10-07); every schema object compiles;
 * the JWKS and discovery bodies the app serves match their documented schemas.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import { beforeAll, describe, expect, it } from "vitest";
import { catalogue } from "../../src/errors.ts";
import { openApiPath } from "../../src/http/openapi.ts";
import { buildTestApp, TEST_ISSUER, type TestApp } from "../support/app.ts";
import { openTempEmbedded } from "../support/stores.ts";

type Operation = {
  security: unknown[];
  description: string;
  responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
  requestBody?: unknown;
};
type JsonOp = Record<string, unknown>;
type OpenApiDoc = {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: { Error: { properties: { code: { enum: string[] } } } } };
};

// ajv resolves `$dynamicRef: "#meta"` against the wrong scope (its $dynamicRef support is partial)
// and then applies a neighbour's `unevaluatedProperties: false` to schema objects. In this schema
// (the one "without schema validation") the only `meta` anchor is `$defs/schema`, so a plain `$ref`
// to it means the same; the schema objects themselves are compiled one by one below.
const OAS_SCHEMA = JSON.parse(
  readFileSync(
    join(import.meta.dirname, "../fixtures/openapi/oas-3.1-schema-2022-10-07.json"),
    "utf8",
  ).replaceAll('"$dynamicRef": "#meta"', '"$ref": "#/$defs/schema"'),
);

const SAML_ON = {
  saml: {
    enabled: true,
    sp: {
      entityID: `${TEST_ISSUER}/saml`,
      acsURL: `${TEST_ISSUER}/saml/acs`,
      sloURL: `${TEST_ISSUER}/saml/slo`,
      // createApp never reads them; the routes are mounted all the same.
      signingKeyPath: "/openapi-test/sp.key",
      signingCertPath: "/openapi-test/sp.crt",
    },
  },
};

/** "GET /saml/login/{tid}" for every route the Hono app really mounted (middleware left out). */
function mountedRoutes(t: TestApp): Set<string> {
  return new Set(
    t.app.routes.filter((r) => r.method !== "ALL").map((r) => `${r.method} ${openApiPath(r.path)}`),
  );
}

function documentedRoutes(doc: OpenApiDoc): Set<string> {
  return new Set(
    Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)),
  );
}

async function served(t: TestApp): Promise<OpenApiDoc> {
  const res = await t.call("/openapi.json");
  expect(res.status).toBe(200);
  return (await res.json()) as OpenApiDoc;
}

/** Every mounted route is documented (a `/v1` route as its canonical path, saying so) and vice versa. */
function expectSameSurface(t: TestApp, doc: OpenApiDoc): void {
  const mounted = mountedRoutes(t);
  const documented = documentedRoutes(doc);
  const canonical = new Set<string>();
  for (const route of mounted) {
    const [method, path] = route.split(" ") as [string, string];
    if (path.startsWith("/v1/")) {
      const p = path.slice(3);
      const op = doc.paths[p]?.[method.toLowerCase()];
      expect(op, `${route} mounted but ${method} ${p} not documented`).toBeDefined();
      expect(op!.description).toContain(`/v1${p.replace(/\{([^}]+)\}/g, ":$1")}`);
      // The alias really serves the canonical route too.
      expect(mounted.has(`${method} ${p}`), `${route} without its canonical path`).toBe(true);
      continue;
    }
    canonical.add(route);
    expect(documented.has(route), `${route} is mounted but not in /openapi.json`).toBe(true);
  }
  for (const route of documented) expect(canonical.has(route), `${route} documented, not mounted`).toBe(true);
}

describe("GET /openapi.json", () => {
  let t: TestApp;
  let doc: OpenApiDoc;
  beforeAll(async () => {
    t = await buildTestApp({ store: await openTempEmbedded(), config: SAML_ON });
    doc = await served(t);
  });

  it("documents every route the app mounts (SAML on, /metrics on the main port) and no other", () => {
    expectSameSurface(t, doc);
    const documented = documentedRoutes(doc);
    for (const route of [
      "GET /healthz",
      "GET /readyz",
      "GET /metrics",
      "GET /openapi.json",
      "GET /.well-known/jwks.json",
      "GET /.well-known/openid-configuration",
      "GET /saml/metadata",
      "POST /saml/discover",
      "GET /saml/login/{tid}",
      "POST /saml/acs",
      "POST /saml/slo",
      "POST /admin/saml/sp/rotation",
    ]) {
      expect(documented.has(route), route).toBe(true);
    }
  });

  it("with SAML off and /metrics on its own listener, neither is mounted nor documented", async () => {
    const off = await buildTestApp({ store: await openTempEmbedded(), config: { metrics: { port: 9464 } } });
    const offDoc = await served(off);
    expectSameSurface(off, offDoc);
    const documented = documentedRoutes(offDoc);
    expect(documented.has("GET /metrics")).toBe(false);
    expect(documented.has("GET /saml/login/{tid}")).toBe(false);
    expect(documented.has("GET /healthz")).toBe(true);
  });

  it("is valid against the OAS 3.1 schema, and the validator rejects a broken document", () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
    const validate = ajv.compile(OAS_SCHEMA);
    expect(validate(doc), JSON.stringify(validate.errors?.slice(0, 5))).toBe(true);
    // A parameter without `in` (a plausible generator slip) must be caught.
    const broken = structuredClone(doc) as unknown as { paths: Record<string, Record<string, JsonOp>> };
    broken.paths["/saml/login/{tid}"]!.get!.parameters = [{ name: "tid", required: true, schema: {} }];
    expect(validate(broken)).toBe(false);
  });

  it("every schema object is a valid JSON Schema 2020-12", () => {
    const ajv = new Ajv2020({ strict: true, validateFormats: false });
    let count = 0;
    for (const [p, ops] of Object.entries(doc.paths)) {
      for (const [m, op] of Object.entries(ops)) {
        for (const [status, r] of Object.entries(op.responses)) {
          for (const media of Object.values(r.content ?? {})) {
            if (!media.schema || JSON.stringify(media.schema).includes("$ref")) continue;
            expect(() => ajv.compile(media.schema as object), `${m} ${p} ${status}`).not.toThrow();
            count++;
          }
        }
      }
    }
    expect(count).toBeGreaterThan(20);
  });

  it("gives JWKS and discovery a response schema that the served bodies satisfy", async () => {
    const ajv = new Ajv2020({ strict: false });
    for (const path of ["/.well-known/jwks.json", "/.well-known/openid-configuration"]) {
      const schema = doc.paths[path]!.get!.responses["200"]!.content?.["application/json"]?.schema as
        | { type?: string; properties?: Record<string, unknown> }
        | undefined;
      expect(schema?.type, path).toBe("object");
      expect(Object.keys(schema?.properties ?? {}).length, path).toBeGreaterThan(0);
      const validate = ajv.compile(schema!);
      const body = await (await t.call(path, { key: false })).json();
      expect(validate(body), `${path}: ${JSON.stringify(validate.errors)}`).toBe(true);
      // The schema binds the shape: an empty object does not pass.
      expect(validate({}), path).toBe(false);
    }
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
