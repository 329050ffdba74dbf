/**
 * The OpenAPI 3.1 document, generated from the same `RouteSpec`s (and zod schemas) that mount and
 * validate the routes — there is no hand-maintained copy (issue: core API, item 7).
 */
import { z } from "zod";
import { catalogue, type ErrorCode } from "../errors.ts";
import type { RouteSpec } from "./route.ts";
import type { PageRouteDoc } from "./route-docs.ts";

type JsonObject = Record<string, unknown>;

function schemaOf(s: z.ZodType | undefined): JsonObject | undefined {
  if (!s) return undefined;
  const out = z.toJSONSchema(s, { io: "input", unrepresentable: "any" }) as JsonObject;
  delete out.$schema;
  return out;
}

const SECURITY: Record<RouteSpec["auth"], JsonObject[]> = {
  public: [],
  key: [{ ApiKeyHeader: [] }, { ApiKeyQuery: [] }],
  admin: [{ ApiKeyHeader: [] }, { ApiKeyQuery: [] }, { ApiKeyHeader: [], AdminBearer: [] }],
  policy: [{}, { ApiKeyHeader: [] }, { ApiKeyHeader: [], AdminBearer: [] }],
  // client_secret_post and private_key_jwt travel in the form body (documented there).
  client: [{ OAuthClientBasic: [] }, {}],
};

/** `/tenants/:tenantId` → `/tenants/{tenantId}` */
export function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, "{$1}");
}

function operationId(method: string, p: string): string {
  return `${method.toLowerCase()}${p.replace(/[{}]/g, "").replace(/[^A-Za-z0-9]+(.)?/g, (_m, ch: string | undefined) => (ch ?? "").toUpperCase())}`;
}

/** A non-JSON route (health, metrics, SAML browser pages) as an OpenAPI operation. */
function pageOperation(doc: PageRouteDoc): JsonObject {
  const p = openApiPath(doc.path);
  const parameters: JsonObject[] = [
    ...[...doc.path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => ({
      name: m[1],
      in: "path",
      required: true,
      schema: { type: "string" },
    })),
    ...Object.entries(doc.query ?? {}).map(([name, description]) => ({
      name,
      in: "query",
      required: false,
      description,
      schema: { type: "string" },
    })),
  ];
  const responses: Record<string, JsonObject> = {};
  for (const [status, r] of Object.entries(doc.responses)) {
    responses[status] = {
      description: r.description,
      ...(r.headers
        ? {
            headers: Object.fromEntries(
              Object.entries(r.headers).map(([h, d]) => [h, { description: d, schema: { type: "string" } }]),
            ),
          }
        : {}),
      ...(r.contentType ? { content: { [r.contentType]: r.schema ? { schema: r.schema } : {} } } : {}),
    };
  }
  const form = doc.form
    ? {
        requestBody: {
          required: true,
          content: {
            "application/x-www-form-urlencoded": {
              schema: {
                type: "object",
                properties: Object.fromEntries(
                  Object.entries(doc.form).map(([f, d]) => [f, { type: "string", description: d }]),
                ),
              },
            },
          },
        },
      }
    : {};
  const where = doc.v1 ? `Also served at \`/v1${doc.path}\`.` : "No `/v1` alias.";
  return {
    operationId: operationId(doc.method, p),
    summary: doc.summary,
    description: `${where} Auth: public.${doc.condition ? ` Mounted when ${doc.condition}.` : ""}`,
    tags: [doc.tag],
    security: [],
    ...(parameters.length ? { parameters } : {}),
    ...form,
    responses,
  };
}

export function buildOpenApi(
  specs: readonly RouteSpec[],
  info: { version: string; serverUrl: string },
  pages: readonly PageRouteDoc[] = [],
): JsonObject {
  const paths: Record<string, JsonObject> = {};
  for (const doc of pages) {
    const p = openApiPath(doc.path);
    paths[p] ??= {};
    paths[p][doc.method.toLowerCase()] = pageOperation(doc);
  }
  for (const spec of specs) {
    const p = openApiPath(spec.path);
    const parameters: JsonObject[] = [...spec.path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => ({
      name: m[1],
      in: "path",
      required: true,
      schema: { type: "string" },
    }));
    const query = schemaOf(spec.query) as
      | { properties?: Record<string, JsonObject>; required?: string[] }
      | undefined;
    for (const [name, schema] of Object.entries(query?.properties ?? {})) {
      parameters.push({ name, in: "query", required: query?.required?.includes(name) ?? false, schema });
    }

    const responses: Record<string, JsonObject> = {};
    const status = String(spec.success?.status ?? 200);
    const successSchema = schemaOf(spec.success?.schema);
    responses[status] = {
      description: spec.success?.description ?? "Success",
      ...(successSchema ? { content: { "application/json": { schema: successSchema } } } : {}),
    };
    const byStatus = new Map<number, ErrorCode[]>();
    const codes = new Set<ErrorCode>(spec.errors);
    if (spec.auth === "key" || spec.auth === "admin") codes.add("API_KEY_INVALID");
    if (spec.body) {
      for (const c of ["INVALID_REQUEST", "UNSUPPORTED_MEDIA_TYPE", "PAYLOAD_TOO_LARGE"] as const)
        codes.add(c);
    }
    for (const code of codes) {
      const s = catalogue[code].status;
      byStatus.set(s, [...(byStatus.get(s) ?? []), code]);
    }
    for (const [s, list] of [...byStatus].sort((a, b) => a[0] - b[0])) {
      responses[String(s)] = {
        description: list.map((c) => `\`${c}\`: ${catalogue[c].message}`).join("; "),
        content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
      };
    }

    if (spec.oauth) {
      const oauthByStatus = new Map<number, string[]>();
      for (const [code, s] of spec.oauth.errors)
        oauthByStatus.set(s, [...(oauthByStatus.get(s) ?? []), code]);
      for (const [s, list] of [...oauthByStatus].sort((a, b) => a[0] - b[0])) {
        responses[String(s)] = {
          description: `RFC 6749 §5.2: ${list.map((c) => `\`${c}\``).join(", ")}`,
          content: { "application/json": { schema: { $ref: "#/components/schemas/OAuthError" } } },
        };
      }
    }
    const form = schemaOf(spec.oauth?.form);
    const body = schemaOf(spec.body);
    paths[p] ??= {};
    paths[p][spec.method.toLowerCase()] = {
      operationId: operationId(spec.method, p),
      summary: spec.summary,
      description: `Also served at \`/v1${spec.path}\` with identical behaviour. Auth: ${spec.auth}.`,
      tags: [spec.tag],
      security: SECURITY[spec.auth],
      ...(parameters.length ? { parameters } : {}),
      ...(body ? { requestBody: { required: true, content: { "application/json": { schema: body } } } } : {}),
      ...(form
        ? {
            requestBody: {
              required: true,
              content: { "application/x-www-form-urlencoded": { schema: form } },
            },
          }
        : {}),
      responses,
    };
  }

  return {
    openapi: "3.1.0",
    info: {
      title: "Tikti",
      version: info.version,
      description:
        "Multi-tenant identity service: accounts, token exchange, tenants, memberships, roles and clients. " +
        "Errors always carry `error` and `code` (and `details` where listed).",
    },
    servers: [{ url: info.serverUrl }],
    paths,
    components: {
      securitySchemes: {
        ApiKeyHeader: { type: "apiKey", in: "header", name: "X-API-Key" },
        ApiKeyQuery: { type: "apiKey", in: "query", name: "key" },
        OAuthClientBasic: {
          type: "http",
          scheme: "basic",
          description:
            "client_secret_basic (RFC 6749 §2.3.1): OAuth client id <tenantId>/<clientId> and secret",
        },
        AdminBearer: {
          type: "http",
          scheme: "bearer",
          bearerFormat: "JWT",
          description:
            "idToken of a global ADMIN; required on admin routes when admin.requireAdminToken is true",
        },
      },
      schemas: {
        Error: {
          type: "object",
          required: ["error", "code"],
          properties: {
            error: { type: "string" },
            code: { type: "string", enum: Object.keys(catalogue) },
            details: { type: "object", additionalProperties: { type: "string" } },
          },
        },
        OAuthError: {
          type: "object",
          required: ["error"],
          properties: { error: { type: "string" }, error_description: { type: "string" } },
        },
      },
    },
  };
}
