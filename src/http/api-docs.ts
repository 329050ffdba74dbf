/**
 * Renders docs/reference/routes.md and docs/reference/error-codes.md from the route specs and the
 * error catalogue, so the human-readable reference is generated from the code like /openapi.json (a
 * test fails when the committed files are stale; `npm run docs` rewrites them). They live under
 * docs/reference/ so that their names do not clash with the specification in docs/spec/.
 */
import { z } from "zod";
import { catalogue, type ErrorCode } from "../errors.ts";
import type { RouteSpec } from "./route.ts";
import type { PageRouteDoc } from "./route-docs.ts";

interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  enum?: unknown[];
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
  anyOf?: JsonSchema[];
}

const AUTH_TEXT: Record<RouteSpec["auth"], string> = {
  public: "public",
  key: "API key",
  admin: "admin (API key; plus admin bearer when `admin.requireAdminToken`)",
  policy: "policy (see the spec section)",
  client: "OAuth client (docs/oauth.md: client_secret_basic, client_secret_post, private_key_jwt)",
};

function describeType(s: JsonSchema): string {
  if (s.anyOf) return s.anyOf.map(describeType).join(" \\| ");
  if (s.enum) return s.enum.map((v) => `\`${String(v)}\``).join(" \\| ");
  const t = Array.isArray(s.type) ? s.type.join("|") : (s.type ?? "any");
  if (t === "array" && s.items) return `${describeType(s.items)}[]`;
  return t;
}

function describeRules(s: JsonSchema): string {
  const rules: string[] = [];
  if (s.minLength !== undefined || s.maxLength !== undefined)
    rules.push(`length ${s.minLength ?? 0}–${s.maxLength ?? "∞"}`);
  if (s.minimum !== undefined || s.maximum !== undefined) {
    const lo = s.minimum !== undefined && s.minimum > -1e15 ? s.minimum : "";
    const hi = s.maximum !== undefined && s.maximum < 1e15 ? s.maximum : "";
    if (lo !== "" || hi !== "") rules.push(`range ${lo}–${hi}`);
  }
  if (s.minItems !== undefined || s.maxItems !== undefined)
    rules.push(`items ${s.minItems ?? 0}–${s.maxItems ?? "∞"}`);
  if (s.pattern) rules.push(`\`${s.pattern}\``);
  return rules.join("; ");
}

function fieldsTable(schema: z.ZodType | undefined, title: string): string[] {
  if (!schema) return [];
  const js = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as JsonSchema;
  const props = Object.entries(js.properties ?? {});
  if (props.length === 0) return [];
  const out = [`${title}:`, "", "| Field | Type | Required | Rules |", "|---|---|---|---|"];
  for (const [name, p] of props) {
    out.push(
      `| \`${name}\` | ${describeType(p)} | ${js.required?.includes(name) ? "yes" : "no"} | ${describeRules(p)} |`,
    );
  }
  out.push("");
  return out;
}

function documentedErrors(spec: RouteSpec): ErrorCode[] {
  const codes = new Set<ErrorCode>(spec.errors);
  if (spec.auth === "key" || spec.auth === "admin") codes.add("API_KEY_INVALID");
  if (spec.body) {
    for (const c of ["INVALID_REQUEST", "UNSUPPORTED_MEDIA_TYPE", "PAYLOAD_TOO_LARGE"] as const) codes.add(c);
  }
  return [...codes].sort((a, b) => catalogue[a].status - catalogue[b].status || a.localeCompare(b));
}

/** The non-JSON routes (health, metrics, SAML browser pages): no zod schemas, no JSON errors. */
function pageSections(pages: readonly PageRouteDoc[]): string[] {
  if (pages.length === 0) return [];
  const out = [
    "## Routes outside the JSON API",
    "",
    "Health, readiness, metrics, this reference's machine-readable form and the SAML browser routes.",
    "They have no `/v1` alias (except `/openapi.json`), no CORS and no API key; the SAML routes answer",
    "HTML pages, redirects or XML, and their errors are neutral HTML pages with an error id.",
    "",
    "| Method | Path | Mounted | Summary |",
    "|---|---|---|---|",
    ...pages.map((p) => `| ${p.method} | \`${p.path}\` | ${p.condition ?? "always"} | ${p.summary} |`),
    "",
  ];
  for (const p of pages) {
    out.push(`### ${p.method} \`${p.path}\``, "", p.summary, "");
    if (p.condition) out.push(`Mounted when ${p.condition}.`, "");
    const params = [
      ...Object.entries(p.query ?? {}).map(([n, d]) => `| \`${n}\` | query | ${d} |`),
      ...Object.entries(p.form ?? {}).map(([n, d]) => `| \`${n}\` | form field | ${d} |`),
    ];
    if (params.length) out.push("| Parameter | In | Meaning |", "|---|---|---|", ...params, "");
    out.push("| HTTP | Body | Meaning |", "|---|---|---|");
    for (const [status, r] of Object.entries(p.responses)) {
      const headers = Object.keys(r.headers ?? {});
      const extra = headers.length ? ` (${headers.map((h) => `\`${h}\``).join(", ")})` : "";
      out.push(`| ${status} | ${r.contentType ? `\`${r.contentType}\`` : "–"} | ${r.description}${extra} |`);
    }
    out.push("");
  }
  return out;
}

export function renderApiDoc(specs: readonly RouteSpec[], pages: readonly PageRouteDoc[] = []): string {
  const out = [
    "# HTTP API reference",
    "",
    "<!-- Generated from the route specs by `npm run docs`; do not edit by hand. -->",
    "",
    "Every route below is also served under `/v1` with identical behaviour. Errors are",
    '`{"error", "code", "details"?}` ([error-codes.md](error-codes.md)). The machine-readable',
    "form is `GET /openapi.json`. The specification of each route is docs/spec/api.md.",
    "",
    "| Method | Path | Auth | Summary |",
    "|---|---|---|---|",
    ...specs.map((s) => `| ${s.method} | \`${s.path}\` | ${s.auth} | ${s.summary} |`),
    "",
  ];
  for (const s of specs) {
    out.push(`## ${s.method} \`${s.path}\``, "", s.summary, "", `Auth: ${AUTH_TEXT[s.auth]}.`, "");
    out.push(...fieldsTable(s.body, "Request body"));
    out.push(...fieldsTable(s.query, "Query parameters"));
    out.push(
      `Success: \`${s.success?.status ?? 200}\`${s.success?.description ? ` — ${s.success.description}` : ""}.`,
      "",
    );
    out.push(...fieldsTable(s.success?.schema, "Response body"));
    const errs = documentedErrors(s);
    if (errs.length) {
      out.push("Errors:", "", "| HTTP | Code | Message |", "|---|---|---|");
      for (const c of errs) out.push(`| ${catalogue[c].status} | \`${c}\` | ${catalogue[c].message} |`);
      out.push("");
    }
  }
  out.push(...pageSections(pages));
  return `${out.join("\n").trimEnd()}\n`;
}

export function renderErrorCodes(specs: readonly RouteSpec[]): string {
  const usedBy = new Map<ErrorCode, string[]>();
  for (const s of specs)
    for (const c of documentedErrors(s)) usedBy.set(c, [...(usedBy.get(c) ?? []), `${s.method} ${s.path}`]);
  const out = [
    "# Error codes",
    "",
    "<!-- Generated from src/errors.ts and the route specs by `npm run docs`; do not edit by hand. -->",
    "",
    'Every error response is `{"error": "<message>", "code": "<CODE>", "details"?: {...}}` with',
    "`Content-Type: application/json; charset=utf-8`. `details` maps a field (dotted path) or",
    "`reason` to a short explanation. Clients should branch on `code`, never on `error`.",
    "",
    "| HTTP | Code | Message | Routes |",
    "|---|---|---|---|",
  ];
  const codes = (Object.keys(catalogue) as ErrorCode[]).sort(
    (a, b) => catalogue[a].status - catalogue[b].status || a.localeCompare(b),
  );
  for (const c of codes) {
    const routes = usedBy.get(c);
    const where =
      c === "NOT_FOUND" || c === "METHOD_NOT_ALLOWED" || c === "INTERNAL" || c === "STORE_UNAVAILABLE"
        ? "any"
        : routes
          ? String(routes.length)
          : "–";
    out.push(`| ${catalogue[c].status} | \`${c}\` | ${catalogue[c].message} | ${where} |`);
  }
  out.push(
    "",
    "`Routes` counts the routes that document the code (see [routes.md](routes.md)); `any` means every route",
    "may answer it (unknown path, wrong method, store outage with `Retry-After: 5`, unexpected failure).",
    "`RATE_LIMITED` carries `Retry-After`. Messages of `IDP_EXISTS`, `DOMAIN_CONFLICT`,",
    "`ROTATION_STATE_CONFLICT` and `INVALID_SAML_METADATA` name the tenant, domain or problem.",
  );
  return `${out.join("\n")}\n`;
}
