/**
 * OAuth 2.0 routes (docs/spec/oauth.md): `POST /oauth/token`, `/oauth/introspect`, `/oauth/revoke`. Form bodies in, RFC 6749 JSON out; every
 * failure goes through the one OAuth error mapper (src/http/oauth-errors.ts). The rules live in
 * src/services/oauth/; this file reads the request and shapes the reply.
 */
import type { Context } from "hono";
import { z } from "zod";
import type { HonoEnv } from "../../deps.ts";
import type { OAuthEndpoint, OAuthRequestInput } from "../../services/oauth/client-auth.ts";
import type { OAuthErrorCode } from "../../services/oauth/errors.ts";
import { OAUTH_NO_STORE, oauthJson, withOAuthErrors } from "../oauth-errors.ts";
import { readOAuthForm } from "../oauth-form.ts";
import { defineRoute, type RouteContext, type RouteSpec } from "../route.ts";

/** The parts of a request every `/oauth/*` service needs before anything is read. */
export function oauthRequestInput(
  c: Context<HonoEnv>,
  endpoint: OAuthEndpoint,
  keepEmpty: readonly string[] = [],
): Omit<OAuthRequestInput, "endpoint" | "required"> & { endpoint: OAuthEndpoint } {
  return {
    clientIp: c.get("clientIp"),
    authorization: c.req.header("authorization"),
    readParams: () => readOAuthForm(c, undefined, keepEmpty),
    endpoint,
    viaAlias: c.req.path.startsWith("/v1/"),
  };
}

/** Client-authentication parameters, documented on every `/oauth/*` form. */
export const clientAuthForm = {
  client_id: z.string().optional().meta({ description: "OAuth client id <tenantId>/<clientId>" }),
  client_secret: z.string().optional().meta({ description: "client_secret_post" }),
  client_assertion_type: z
    .string()
    .optional()
    .meta({ description: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer (private_key_jwt)" }),
  client_assertion: z
    .string()
    .optional()
    .meta({ description: "RFC 7523 client assertion (private_key_jwt)" }),
};

/** The errors every client-authenticated route can answer (docs/spec/oauth.md §9). */
export const CLIENT_ROUTE_ERRORS: ReadonlyArray<readonly [OAuthErrorCode, number]> = [
  ["invalid_request", 400],
  ["invalid_client", 401],
  ["invalid_request", 413],
  ["temporarily_unavailable", 429],
  ["server_error", 500],
  ["temporarily_unavailable", 503],
];

const tokenForm = z.object({
  grant_type: z.enum(["client_credentials", "urn:ietf:params:oauth:grant-type:token-exchange"]),
  audience: z.string().optional().meta({ description: "Client id of the audience in the client's tenant" }),
  scope: z.string().optional().meta({ description: "Space-delimited scopes" }),
  event_types: z.string().optional().meta({ description: "Space-delimited event types (Tikti extension)" }),
  subject_token: z.string().optional(),
  subject_token_type: z.string().optional(),
  actor_token: z.string().optional(),
  actor_token_type: z.string().optional(),
  requested_token_type: z.string().optional(),
  ...clientAuthForm,
});

const tokenParam = {
  token: z
    .string()
    .meta({ description: "The token (required; an empty or malformed one is simply not active)" }),
  token_type_hint: z.string().optional().meta({ description: "Ignored (RFC 7662 §2.1, RFC 7009 §2.1)" }),
};
const introspectForm = z.object({ ...tokenParam, ...clientAuthForm });
const revokeForm = z.object({ ...tokenParam, ...clientAuthForm });

const introspectResponse = z.object({
  active: z.boolean(),
  iss: z.string().optional(),
  sub: z.string().optional(),
  aud: z.union([z.string(), z.array(z.string())]).optional(),
  client_id: z.string().optional(),
  scope: z.string().optional(),
  tid: z.string().optional(),
  exp: z.int().optional(),
  iat: z.int().optional(),
  jti: z.string().optional(),
  token_type: z.literal("Bearer").optional(),
  eventTypes: z.array(z.string()).optional(),
  act: z.object({ sub: z.string() }).loose().optional(),
  username: z.string().optional(),
});

const tokenResponse = z.object({
  access_token: z.string(),
  token_type: z.literal("Bearer"),
  expires_in: z.int(),
  scope: z.string().optional(),
  issued_token_type: z.string().optional(),
});

export function oauthRoutes({ deps, services }: RouteContext): RouteSpec[] {
  return [
    defineRoute({
      method: "POST",
      path: "/oauth/token",
      auth: "client",
      tag: "oauth",
      summary: "OAuth 2.0 token endpoint: client_credentials and RFC 8693 token exchange (at+jwt tokens)",
      success: { schema: tokenResponse, description: "RFC 6749 §5.1 (Cache-Control: no-store)" },
      errors: [],
      oauth: {
        form: tokenForm,
        errors: [
          ...CLIENT_ROUTE_ERRORS,
          ["unauthorized_client", 400],
          ["unsupported_grant_type", 400],
          ["invalid_grant", 400],
          ["invalid_scope", 400],
          ["invalid_target", 400],
        ],
      },
      handler: withOAuthErrors(deps, async (c) => {
        const result = await services.oauth.token.token(
          oauthRequestInput(c, "/oauth/token"),
          c.get("requestId"),
          c.get("log"),
        );
        return oauthJson(c, result);
      }),
    }),
    defineRoute({
      method: "POST",
      path: "/oauth/introspect",
      auth: "client",
      tag: "oauth",
      summary: "RFC 7662 introspection of a Tikti access token of the calling client's tenant",
      success: {
        schema: introspectResponse,
        description: 'Exactly `{"active": false}` unless every check of docs/spec/oauth.md §5 holds',
      },
      errors: [],
      oauth: { form: introspectForm, errors: [...CLIENT_ROUTE_ERRORS] },
      handler: withOAuthErrors(deps, async (c) =>
        oauthJson(
          c,
          await services.oauth.introspection.introspect(
            oauthRequestInput(c, "/oauth/introspect", ["token"]),
            c.get("log"),
          ),
        ),
      ),
    }),
    defineRoute({
      method: "POST",
      path: "/oauth/revoke",
      auth: "client",
      tag: "oauth",
      summary: "RFC 7009 revocation of an access token (its jti is denied until exp + skew)",
      success: { description: "Always 200 with an empty body for an authenticated client (RFC 7009 §2.2)" },
      errors: [],
      oauth: { form: revokeForm, errors: [...CLIENT_ROUTE_ERRORS] },
      handler: withOAuthErrors(deps, async (c) => {
        await services.oauth.introspection.revoke(
          oauthRequestInput(c, "/oauth/revoke", ["token"]),
          c.get("log"),
        );
        return c.body(null, 200, OAUTH_NO_STORE);
      }),
    }),
  ];
}
