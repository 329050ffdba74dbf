/**
 * Token routes: `POST /accounts/token/exchange` (docs/spec/api.md §5.1, docs/spec/tokens.md §7) and
 * `POST /accounts/validate` (docs/spec/api.md §6.3, docs/spec/tokens.md §4.3). The rules live in
 * src/services/exchange.ts and src/services/validate.ts; this file parses and shapes replies.
 */
import { z } from "zod";
import {
  CLIENT_ID_PATTERN,
  EVENT_TYPE_PATTERN,
  isClientId,
  isEventType,
  isPathTenantId,
  isSubjectOverride,
  PATH_TENANT_ID_PATTERN,
  SCOPE_PATTERN,
  SUBJECT_OVERRIDE_PATTERN,
} from "../../domain/grammar.ts";
import { json } from "../json-response.ts";
import { defineRoute, type RouteContext, type RouteSpec } from "../route.ts";
import { optional, str } from "../schemas.ts";

const MAX_LIST_ITEMS = 100;

/**
 * `ttlSeconds`: any JSON integer (values above the caps are capped, docs/spec/tokens.md §3); a fraction is a
 * wrong type (`INVALID_REQUEST`, docs/spec/tokens.md §7 step 1), like a string.
 */
const ttlSeconds = z
  .number()
  .superRefine((v, ctx) => {
    if (!Number.isInteger(v)) {
      ctx.addIssue({ code: "invalid_type", expected: "int", input: v, message: "must be an integer" });
    }
  })
  .meta({
    type: "integer",
    description: "≤ 0 or absent: accessTokenTtlSeconds; capped by the server and the client",
  });

export const exchangeBody = z.object({
  idToken: str.meta({ description: "empty → 401 INVALID_TOKEN" }),
  // Empty has its own answer (400 INVALID_AUDIENCE, reason "missing"); otherwise a client id.
  audience: str.refine((v) => v === "" || isClientId(v), {
    error: `must match ${CLIENT_ID_PATTERN.source}`,
  }),
  // Not checked here: a malformed tenant is step 5's INVALID_TENANT (docs/spec/tokens.md §7).
  tenantId: optional(str),
  scopes: optional(
    z
      .array(str.regex(SCOPE_PATTERN, { error: `must match ${SCOPE_PATTERN.source}` }))
      .max(MAX_LIST_ITEMS, { error: `at most ${MAX_LIST_ITEMS} items` }),
  ),
  // Entries are trimmed and blanks dropped by the service; the grammar applies to the trimmed value.
  eventTypes: optional(
    z
      .array(
        str.refine((v) => v.trim() === "" || isEventType(v.trim()), {
          error: `must match ${EVENT_TYPE_PATTERN.source} after trimming`,
        }),
      )
      .max(MAX_LIST_ITEMS, { error: `at most ${MAX_LIST_ITEMS} items` }),
  ),
  ttlSeconds: optional(ttlSeconds),
  // `""` reads as absent, like a Go client's zero value.
  subject: optional(
    str.refine((v) => v === "" || isSubjectOverride(v), {
      error: `must match ${SUBJECT_OVERRIDE_PATTERN.source}`,
    }),
  ),
});

const exchangeResponse = z.object({
  accessToken: z.string(),
  tokenType: z.literal("Bearer"),
  expiresIn: z.int(),
});

export const validateBody = z.object({
  token: str.meta({ description: "an access token" }),
  audience: str,
  // A blank or malformed id is refused rather than read as "no binding": a resource server that
  // meant to bind a tenant must not silently get an unbound answer (docs/api-decisions.md).
  tenantId: optional(
    str
      .refine((v) => isPathTenantId(v), { error: `must match ${PATH_TENANT_ID_PATTERN.source}` })
      .meta({ description: "when present, the token's tid must equal it (else reason tenant)" }),
  ),
});

/** The claim set of docs/spec/tokens.md §3 as signed (extra claims of other issuers pass through). */
const accessTokenClaims = z.looseObject({
  iss: z.string(),
  aud: z.union([z.string(), z.array(z.string())]),
  sub: z.string(),
  client_id: z.string().optional().meta({ description: "Tokens of /oauth/token (docs/oauth.md)" }),
  act: z
    .looseObject({ sub: z.string() })
    .optional()
    .meta({ description: "Delegation; /oauth/token tokens may nest earlier actors in act.act" }),
  email: z.string().optional(),
  tid: z.string(),
  scope: z.string().optional(),
  eventTypes: z.array(z.string()).optional(),
  ver: z.int().optional(),
  iat: z.int(),
  exp: z.int(),
  jti: z.string(),
});

export function tokenRoutes({ services }: RouteContext): RouteSpec[] {
  const { exchange, validate: validator } = services;
  return [
    defineRoute({
      method: "POST",
      path: "/accounts/token/exchange",
      auth: "key",
      tag: "tokens",
      summary: "Exchange an idToken for an RS256 access token for one audience in one tenant",
      body: exchangeBody,
      success: { schema: exchangeResponse, description: "The access token (Cache-Control: no-store)" },
      errors: [
        "INVALID_REQUEST",
        "INVALID_ARGUMENT",
        "INVALID_AUDIENCE",
        "TENANT_REQUIRED",
        "INVALID_TENANT",
        "INVALID_TOKEN",
        "TENANT_ACCESS_DENIED",
        "UNAUTHORIZED_SCOPES",
        "UNAUTHORIZED_EVENT_TYPES",
        "DELEGATION_DENIED",
        "USER_NOT_FOUND",
        "RATE_LIMITED",
        "STORE_UNAVAILABLE",
      ],
      handler: async (c, { body }) => {
        const result = await exchange.exchange(
          {
            idToken: body.idToken,
            audience: body.audience,
            tenantId: body.tenantId,
            scopes: body.scopes,
            eventTypes: body.eventTypes,
            ttlSeconds: body.ttlSeconds,
            subject: body.subject,
          },
          c.get("log"),
        );
        return json(
          c,
          { accessToken: result.accessToken, tokenType: "Bearer", expiresIn: result.expiresIn },
          200,
          { "Cache-Control": "no-store", Pragma: "no-cache" },
        );
      },
    }),
    defineRoute({
      method: "POST",
      path: "/accounts/validate",
      auth: "admin",
      tag: "tokens",
      summary: "Validate an access token for an audience, revocation and account state included",
      body: validateBody,
      success: { schema: accessTokenClaims, description: "Exactly the token's claims" },
      errors: [
        "INVALID_REQUEST",
        "INVALID_ARGUMENT",
        "INVALID_TOKEN",
        "ADMIN_AUTH_REQUIRED",
        "ADMIN_REQUIRED",
        "FEDERATED_TOKEN_NOT_ALLOWED",
        "STORE_UNAVAILABLE",
      ],
      handler: async (c, { body }) => {
        const claims = await validator.validate(
          { token: body.token, audience: body.audience, tenantId: body.tenantId },
          c.get("log"),
        );
        return json(c, claims);
      },
    }),
  ];
}
