import { Hono } from "hono";
import type { AppDeps, HonoEnv } from "../../deps.ts";
import { JSON_CONTENT_TYPE } from "../json-response.ts";

const PUBLIC_CACHE = "public, max-age=300";

/** JWKS and the discovery document (spec/tokens.md §6); both bodies are built once. */
export function wellKnownRoutes(deps: AppDeps): Hono<HonoEnv> {
  const app = new Hono<HonoEnv>();
  const issuer = deps.config.issuerBaseUrl;
  const discovery = JSON.stringify({
    issuer,
    jwks_uri: `${issuer}/.well-known/jwks.json`,
    token_endpoint: `${issuer}/accounts/token/exchange`,
    grant_types_supported: ["urn:ietf:params:oauth:grant-type:token-exchange"],
    subject_types_supported: ["public"],
    claims_supported: [
      "iss",
      "aud",
      "sub",
      "act",
      "email",
      "tid",
      "scope",
      "eventTypes",
      "ver",
      "iat",
      "exp",
      "jti",
    ],
  });
  const headers = { "Content-Type": JSON_CONTENT_TYPE, "Cache-Control": PUBLIC_CACHE };

  app.get("/.well-known/jwks.json", (c) => c.body(deps.keys.jwksBody, 200, headers));
  app.get("/.well-known/openid-configuration", (c) => c.body(discovery, 200, headers));
  return app;
}
