/**
 * Documentation of the routes served outside the JSON `RouteSpec`s: health, readiness, metrics, the
 * OpenAPI document itself and the SAML browser routes (HTML pages, redirects, XML). They have no zod
 * body to generate from, so each is described here once and feeds both `/openapi.json`
 * (src/http/openapi.ts) and docs/reference/routes.md (src/http/api-docs.ts). A route mounted without an entry
 * here (or a RouteSpec) fails test/http/openapi.test.ts, which walks every mounted route.
 */
import type { Config } from "../config/schema.ts";
import type { HttpMethod } from "./route.ts";

type JsonObject = Record<string, unknown>;

export interface PageResponse {
  description: string;
  /** Media type of the body; absent = no body (e.g. a redirect). */
  contentType?: string;
  schema?: JsonObject;
  /** Response headers worth naming (name → description). */
  headers?: Record<string, string>;
}

export interface PageRouteDoc {
  method: HttpMethod;
  /** Hono path syntax (`/saml/login/:tid`). */
  path: string;
  tag: string;
  summary: string;
  /** When it is mounted, if not always (for docs/reference/routes.md). */
  condition?: string;
  /** Also served under `/v1` (only `/openapi.json`; the others have no alias, docs/spec/api.md §1). */
  v1?: boolean;
  /** Query parameters: name → description (all optional). */
  query?: Record<string, string>;
  /** An `application/x-www-form-urlencoded` body: field → description. */
  form?: Record<string, string>;
  responses: Record<number, PageResponse>;
}

const HTML = "text/html; charset=utf-8";
/**
 * The neutral HTML error pages of src/http/saml/pages.ts by status (docs/spec/saml.md §6.7): an error id, never the
 * reason. `internal` answers 503 with `Retry-After` when the store is down; 429 carries `Retry-After`.
 */
const ERROR_PAGES = {
  400: { description: "HTML error page: bad request", contentType: HTML },
  403: { description: "HTML error page: refused (verification failed, not allowed)", contentType: HTML },
  404: {
    description: "HTML error page: not configured (unknown tenant, no IdP, feature off)",
    contentType: HTML,
  },
  413: { description: "HTML error page: body over 256 KiB", contentType: HTML },
  429: {
    description: "HTML error page: too many requests from this address (`samlIp` limit)",
    contentType: HTML,
    headers: { "Retry-After": "seconds to wait" },
  },
  500: { description: "HTML error page: internal error", contentType: HTML },
  503: {
    description: "HTML error page: store unavailable",
    contentType: HTML,
    headers: { "Retry-After": "5" },
  },
} satisfies Record<number, PageResponse>;
type ErrorPageStatus = keyof typeof ERROR_PAGES;
const errorPages = (...statuses: ErrorPageStatus[]): Record<number, PageResponse> =>
  Object.fromEntries(statuses.map((n) => [n, ERROR_PAGES[n]]));
const GET_ERRORS: ErrorPageStatus[] = [400, 403, 404, 429, 500, 503];
const POST_ERRORS: ErrorPageStatus[] = [400, 403, 404, 413, 429, 500, 503];
const AUTO_POST: PageResponse = {
  description: "Auto-submitting HTML form (HTTP-POST binding) to the IdP or the return target",
  contentType: HTML,
};

const checksSchema = { type: "object", additionalProperties: { type: "string" } };

function health(): PageRouteDoc[] {
  return [
    {
      method: "GET",
      path: "/healthz",
      tag: "operations",
      summary: "Liveness: 200 while the process serves HTTP",
      responses: {
        200: {
          description: "Serving",
          contentType: "application/json",
          schema: {
            type: "object",
            required: ["status"],
            properties: { status: { type: "string", const: "ok" } },
          },
        },
      },
    },
    {
      method: "GET",
      path: "/readyz",
      tag: "operations",
      summary: "Readiness: store, signing key, SAML keys and shutdown state",
      responses: {
        200: {
          description: "Every check is `ok`",
          contentType: "application/json",
          schema: {
            type: "object",
            required: ["status", "checks"],
            properties: { status: { type: "string", const: "ready" }, checks: checksSchema },
          },
        },
        503: {
          description: "A check failed; `checks` names it",
          contentType: "application/json",
          schema: {
            type: "object",
            required: ["status", "checks"],
            properties: { status: { type: "string", const: "not_ready" }, checks: checksSchema },
          },
        },
      },
    },
  ];
}

const METRICS: PageRouteDoc = {
  method: "GET",
  path: "/metrics",
  tag: "operations",
  summary: "Prometheus metrics (tenant-labelled series; keep it off the public port)",
  condition: "`metrics.enabled` and `metrics.port: 0`; otherwise on the separate metrics listener",
  responses: {
    200: { description: "Prometheus text format 0.0.4", contentType: "text/plain; version=0.0.4" },
  },
};

const OPENAPI: PageRouteDoc = {
  method: "GET",
  path: "/openapi.json",
  tag: "operations",
  summary: "This OpenAPI 3.1 document",
  v1: true,
  responses: { 200: { description: "OpenAPI 3.1 document", contentType: "application/json" } },
};

const RELAY_STATE = "opaque return target (a safe relative path or an allowed origin), echoed by the IdP";

function saml(): PageRouteDoc[] {
  const condition = "`saml.enabled`";
  return [
    {
      method: "GET",
      path: "/saml/metadata",
      tag: "saml-browser",
      condition,
      summary: "SP metadata (entity id, ACS and SLO endpoints, published signing keys)",
      responses: {
        200: { description: "SAML 2.0 metadata", contentType: "application/samlmetadata+xml" },
        500: { description: "Metadata unavailable", contentType: "text/plain" },
        503: { description: "Store unavailable", contentType: "text/plain", headers: { "Retry-After": "5" } },
      },
    },
    {
      method: "GET",
      path: "/saml/metadata/:tid",
      tag: "saml-browser",
      condition,
      summary: `SP metadata for one tenant (adds its unsolicited ACS when its IdP allows it)`,
      responses: {
        200: { description: "SAML 2.0 metadata", contentType: "application/samlmetadata+xml" },
        500: { description: "Metadata unavailable", contentType: "text/plain" },
        503: { description: "Store unavailable", contentType: "text/plain", headers: { "Retry-After": "5" } },
      },
    },
    {
      method: "GET",
      path: "/saml/discover",
      tag: "saml-browser",
      condition,
      summary: "Email-domain discovery form (any query string is refused)",
      responses: {
        200: { description: "HTML form asking for an email", contentType: HTML },
        ...errorPages(400, 404),
      },
    },
    {
      method: "POST",
      path: "/saml/discover",
      tag: "saml-browser",
      condition,
      summary: "Find the tenant by the email's domain and start its login",
      form: { email: "the user's email; only its domain is used (exact match)" },
      responses: {
        200: {
          description: "The form again, with a message (invalid email, workspace not found)",
          contentType: HTML,
        },
        302: { description: "Redirect to `/saml/login/{tid}`", headers: { Location: "login URL" } },
        ...errorPages(404, 413, 429, 500, 503),
      },
    },
    {
      method: "GET",
      path: "/saml/login/:tid",
      tag: "saml-browser",
      condition,
      summary: "SP-initiated login: AuthnRequest to the tenant's IdP, state cookie set",
      query: { RelayState: RELAY_STATE },
      responses: {
        200: AUTO_POST,
        302: {
          description: "HTTP-Redirect binding: signed AuthnRequest to the IdP",
          headers: { Location: "IdP SSO URL", "Set-Cookie": "login state cookie" },
        },
        ...errorPages(...GET_ERRORS),
      },
    },
    {
      method: "POST",
      path: "/saml/acs",
      tag: "saml-browser",
      condition,
      summary: "Assertion consumer for solicited responses (HTTP-POST binding)",
      form: { SAMLResponse: "base64 SAML Response", RelayState: RELAY_STATE },
      responses: {
        200: {
          description: "Repost page or auto-POST of the tokens to the return target",
          contentType: HTML,
        },
        302: { description: "Redirect to the return target", headers: { Location: "return target" } },
        ...errorPages(...POST_ERRORS),
      },
    },
    {
      method: "POST",
      path: "/saml/acs/:tid",
      tag: "saml-browser",
      condition,
      summary: "Assertion consumer for IdP-initiated responses (only when the tenant's IdP allows them)",
      form: { SAMLResponse: "base64 SAML Response", RelayState: RELAY_STATE },
      responses: {
        200: { description: "Auto-POST of the tokens to the return target", contentType: HTML },
        302: { description: "Redirect to the return target", headers: { Location: "return target" } },
        ...errorPages(...POST_ERRORS),
      },
    },
    {
      method: "GET",
      path: "/saml/logout/:tid",
      tag: "saml-browser",
      condition,
      summary: "SP-initiated single logout: LogoutRequest to the tenant's IdP",
      query: { RelayState: RELAY_STATE },
      responses: {
        200: AUTO_POST,
        302: { description: "HTTP-Redirect binding to the IdP, or straight to the return target" },
        ...errorPages(...GET_ERRORS),
      },
    },
    {
      method: "GET",
      path: "/saml/slo",
      tag: "saml-browser",
      condition,
      summary: "Single logout endpoint, HTTP-Redirect binding (LogoutRequest or LogoutResponse)",
      query: {
        SAMLRequest: "deflated, base64 LogoutRequest",
        SAMLResponse: "deflated, base64 LogoutResponse",
        RelayState: RELAY_STATE,
        SigAlg: "signature algorithm URI",
        Signature: "base64 signature over the raw query",
      },
      responses: {
        200: AUTO_POST,
        302: { description: "LogoutResponse to the IdP, or the post-logout target" },
        ...errorPages(...GET_ERRORS),
      },
    },
    {
      method: "POST",
      path: "/saml/slo",
      tag: "saml-browser",
      condition,
      summary: "Single logout endpoint, HTTP-POST binding",
      form: {
        SAMLRequest: "base64 LogoutRequest",
        SAMLResponse: "base64 LogoutResponse",
        RelayState: RELAY_STATE,
      },
      responses: {
        200: AUTO_POST,
        302: { description: "LogoutResponse to the IdP, or the post-logout target" },
        ...errorPages(...POST_ERRORS),
      },
    },
  ];
}

/**
 * The non-JSON routes that `createApp` mounts with this configuration (the same conditions as
 * src/app.ts and src/http/routes/{health,saml-browser,saml-browser-meta}.ts).
 */
export function pageRouteDocs(config: Config): PageRouteDoc[] {
  return [
    ...health(),
    ...(config.metrics.enabled && config.metrics.port === 0 ? [METRICS] : []),
    OPENAPI,
    ...(config.saml.enabled ? saml() : []),
  ];
}

/** Every non-JSON route, whatever the configuration (the generated reference, docs/reference/routes.md). */
export function allPageRouteDocs(): PageRouteDoc[] {
  return [...health(), METRICS, OPENAPI, ...saml()];
}
