import { z } from "zod";
import { JSON_CONTENT_TYPE } from "../json-response.ts";
import { defineRoute, type RouteContext, type RouteSpec } from "../route.ts";

const PUBLIC_CACHE = "public, max-age=300";

/** RFC 7517 key set of RS256 verification keys (tokens.md §6), for generated clients' types. */
const jwksSchema = z.object({
  keys: z.array(
    z.object({
      kty: z.literal("RSA"),
      kid: z.string(),
      use: z.literal("sig"),
      alg: z.literal("RS256"),
      n: z.string().describe("modulus, base64url"),
      e: z.string().describe("exponent, base64url"),
    }),
  ),
});

/** The discovery document's fields (OpenID Connect Discovery 1.0 §3 subset); others may be added. */
const discoverySchema = z.object({
  issuer: z.string(),
  jwks_uri: z.string(),
  token_endpoint: z.string(),
  grant_types_supported: z.array(z.string()),
  subject_types_supported: z.array(z.string()),
  claims_supported: z.array(z.string()),
});

/** JWKS and the discovery document (spec/tokens.md §6); both bodies are serialised once. */
export function wellKnownRoutes({ deps }: RouteContext): RouteSpec[] {
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
  return [
    defineRoute({
      method: "GET",
      path: "/.well-known/jwks.json",
      auth: "public",
      tag: "keys",
      summary: "Public keys that verify access tokens (RS256), active key first",
      success: { schema: jwksSchema, description: "JSON Web Key Set" },
      errors: ["JWKS_UNAVAILABLE"],
      handler: (c) => c.body(deps.keys.jwksBody, 200, headers),
    }),
    defineRoute({
      method: "GET",
      path: "/.well-known/openid-configuration",
      auth: "public",
      tag: "keys",
      summary: "Discovery document locating the JWKS from the issuer",
      success: { schema: discoverySchema, description: "Discovery document" },
      errors: [],
      handler: (c) => c.body(discovery, 200, headers),
    }),
  ];
}
