/**
 * Session routes of refresh tokens (docs/spec/oauth.md §6): `POST /accounts/token` (Firebase-shaped
 * refresh) and `POST /accounts/signOut`. Public: the refresh token is the credential. Rules live in
 * src/services/oauth/refresh-tokens.ts.
 */
import type { Context } from "hono";
import { z } from "zod";
import type { HonoEnv } from "../../deps.ts";
import type { RefreshRequestContext } from "../../services/oauth/refresh-tokens.ts";
import { json } from "../json-response.ts";
import { defineRoute, type RouteContext, type RouteSpec } from "../route.ts";

const TAG = "accounts";

const refreshTokenField = z
  .string()
  .meta({ description: "A refresh token (`rt_` + 43 base64url characters)" });

const tokenBody = z.object({
  grantType: z.string().meta({ description: "Must be `refresh_token` (else 400 INVALID_ARGUMENT)" }),
  refreshToken: refreshTokenField,
});
const signOutBody = z.object({ refreshToken: refreshTokenField });

const tokenResponse = z.object({
  idToken: z.string(),
  refreshToken: z.string().meta({ description: "The successor; the presented token is now spent" }),
  expiresIn: z.number().int(),
  localId: z.string(),
});

function requestContext(c: Context<HonoEnv>): RefreshRequestContext {
  return { clientIp: c.get("clientIp") ?? "", log: c.get("log") };
}

export function refreshTokenRoutes({ services }: RouteContext): RouteSpec[] {
  const refresh = services.refreshTokens;
  return [
    defineRoute({
      method: "POST",
      path: "/accounts/token",
      auth: "public",
      tag: TAG,
      summary: "Trade a refresh token for a new idToken and its successor (rotation)",
      body: tokenBody,
      success: {
        schema: tokenResponse,
        description: "Same `amr` and `tid` as the session's first idToken; `ver` is the current tokenVersion",
      },
      errors: [
        "INVALID_REQUEST",
        "INVALID_ARGUMENT",
        "INVALID_REFRESH_TOKEN",
        "RATE_LIMITED",
        "STORE_UNAVAILABLE",
      ],
      handler: async (c, { body }) =>
        json(
          c,
          await refresh.refresh(
            { grantType: body.grantType, refreshToken: body.refreshToken },
            requestContext(c),
          ),
        ),
    }),
    defineRoute({
      method: "POST",
      path: "/accounts/signOut",
      auth: "public",
      tag: TAG,
      summary: "End the refresh token's session (its whole family); unknown tokens also answer 200",
      body: signOutBody,
      success: { schema: z.object({}) },
      errors: ["INVALID_REQUEST", "RATE_LIMITED", "STORE_UNAVAILABLE"],
      handler: async (c, { body }) => {
        await refresh.signOut(body.refreshToken, requestContext(c));
        return json(c, {});
      },
    }),
  ];
}
