import { z } from "zod";
import { ASSERTION_ALGORITHMS } from "../../services/oauth/client-jwks.ts";
import { JSON_CONTENT_TYPE, sizedBody } from "../json-response.ts";
import { defineRoute, type RouteContext, type RouteSpec } from "../route.ts";

const PUBLIC_CACHE = "public, max-age=300";

/**
 * RFC 7517 key set of access-token verification keys (docs/spec/tokens.md §6.2), for generated clients'
 * types: each key with its own `alg` — RSA/RS256, EC P-256/ES256 or Ed25519/EdDSA (§1).
 */
const jwksSchema = z.object({
  keys: z.array(
    z.discriminatedUnion("kty", [
      z.object({
        kty: z.literal("RSA"),
        kid: z.string(),
        use: z.literal("sig"),
        alg: z.literal("RS256"),
        n: z.string().describe("modulus, base64url"),
        e: z.string().describe("exponent, base64url"),
      }),
      z.object({
        kty: z.literal("EC"),
        kid: z.string(),
        use: z.literal("sig"),
        alg: z.literal("ES256"),
        crv: z.literal("P-256"),
        x: z.string().describe("x coordinate, base64url"),
        y: z.string().describe("y coordinate, base64url"),
      }),
      z.object({
        kty: z.literal("OKP"),
        kid: z.string(),
        use: z.literal("sig"),
        alg: z.literal("EdDSA"),
        crv: z.literal("Ed25519"),
        x: z.string().describe("public key, base64url"),
      }),
    ]),
  ),
});

/** The discovery document's fields (OpenID Connect Discovery 1.0 §3 subset); others may be added. */
const discoverySchema = z.object({
  issuer: z.string(),
  jwks_uri: z.string(),
  token_endpoint: z.string(),
  introspection_endpoint: z.string(),
  revocation_endpoint: z.string(),
  token_endpoint_auth_methods_supported: z.array(z.string()),
  grant_types_supported: z.array(z.string()),
  subject_types_supported: z.array(z.string()),
  claims_supported: z.array(z.string()),
});

/** RFC 8414 §2 authorization server metadata as served (docs/spec/oauth.md §8). */
const metadataSchema = z.object({
  issuer: z.string(),
  token_endpoint: z.string(),
  introspection_endpoint: z.string(),
  revocation_endpoint: z.string(),
  jwks_uri: z.string(),
  grant_types_supported: z.array(z.string()),
  token_endpoint_auth_methods_supported: z.array(z.string()),
  token_endpoint_auth_signing_alg_values_supported: z.array(z.string()),
  introspection_endpoint_auth_methods_supported: z.array(z.string()),
  introspection_endpoint_auth_signing_alg_values_supported: z.array(z.string()),
  revocation_endpoint_auth_methods_supported: z.array(z.string()),
  revocation_endpoint_auth_signing_alg_values_supported: z.array(z.string()),
  response_types_supported: z.array(z.string()).max(0),
});

const GRANT_TYPES = ["client_credentials", "urn:ietf:params:oauth:grant-type:token-exchange"];
const AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt"];

/**
 * JWKS, the discovery document (docs/spec/tokens.md §6) and the RFC 8414 authorization server
 * metadata (docs/spec/oauth.md §8); every body is serialised once.
 */
export function wellKnownRoutes({ deps }: RouteContext): RouteSpec[] {
  const issuer = deps.config.issuerBaseUrl;
  const endpoints = {
    token_endpoint: `${issuer}/oauth/token`,
    introspection_endpoint: `${issuer}/oauth/introspect`,
    revocation_endpoint: `${issuer}/oauth/revoke`,
  };
  const metadata = JSON.stringify({
    issuer,
    ...endpoints,
    jwks_uri: `${issuer}/.well-known/jwks.json`,
    grant_types_supported: GRANT_TYPES,
    token_endpoint_auth_methods_supported: AUTH_METHODS,
    token_endpoint_auth_signing_alg_values_supported: [...ASSERTION_ALGORITHMS],
    introspection_endpoint_auth_methods_supported: AUTH_METHODS,
    introspection_endpoint_auth_signing_alg_values_supported: [...ASSERTION_ALGORITHMS],
    revocation_endpoint_auth_methods_supported: AUTH_METHODS,
    revocation_endpoint_auth_signing_alg_values_supported: [...ASSERTION_ALGORITHMS],
    // No authorization endpoint yet: RFC 8414 §2 makes the member required, so it is present and empty.
    response_types_supported: [],
  });
  const discovery = JSON.stringify({
    issuer,
    jwks_uri: `${issuer}/.well-known/jwks.json`,
    ...endpoints,
    token_endpoint_auth_methods_supported: AUTH_METHODS,
    grant_types_supported: GRANT_TYPES,
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
      summary:
        "Public keys that verify access tokens (each with its alg: RS256, ES256 or EdDSA), active key first",
      success: { schema: jwksSchema, description: "JSON Web Key Set" },
      errors: ["JWKS_UNAVAILABLE"],
      handler: (c) => sizedBody(c, deps.keys.jwksBody, 200, headers),
    }),
    defineRoute({
      method: "GET",
      path: "/.well-known/openid-configuration",
      auth: "public",
      tag: "keys",
      summary: "Discovery document locating the JWKS and the OAuth endpoints from the issuer",
      success: { schema: discoverySchema, description: "Discovery document" },
      errors: [],
      handler: (c) => sizedBody(c, discovery, 200, headers),
    }),
    defineRoute({
      method: "GET",
      path: "/.well-known/oauth-authorization-server",
      auth: "public",
      tag: "keys",
      summary: "OAuth 2.0 authorization server metadata (RFC 8414)",
      success: { schema: metadataSchema, description: "Authorization server metadata" },
      errors: [],
      handler: (c) => sizedBody(c, metadata, 200, headers),
    }),
  ];
}
