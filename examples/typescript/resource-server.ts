/**
 * Shape 3 — a resource server (the service called with `Authorization: Bearer <token>`). Two ways
 * to decide whether to serve the request:
 *
 * - offline: verify the JWT against Tikti's JWKS (fetched once, cached, re-fetched on an unknown
 *   kid). Check the signature (RS256 only), `iss`, `aud` = this service's client id, `exp`, `typ`
 *   `at+jwt` (tokens of /oauth/token; drop this check if you also accept tokens of the legacy
 *   /accounts/token/exchange, whose `typ` is `JWT`), and `tid` = the tenant you serve. No call per
 *   request — but a revoked token, a removed member or a disabled client stay valid here until
 *   `exp`: revocation is visible only through introspection or /accounts/validate.
 * - introspection (RFC 7662): ask Tikti, authenticated as this service's own OAuth client. Sees
 *   revocation at once; costs one request per check (cache the answer for a few seconds at most).
 *
 *   TIKTI_ISSUER=https://id.example.com AUDIENCE=reports-api TENANT=acme TOKEN=<bearer token> \
 *   [OAUTH_CLIENT_ID=acme/reports-api OAUTH_CLIENT_SECRET_FILE=/run/secrets/reports-api] \
 *   node examples/typescript/resource-server.ts
 *
 * Prints {"offline": {...}, "introspection": {...}} (introspection when OAUTH_CLIENT_ID is set).
 */
import { createRemoteJWKSet, type JWTPayload, jwtVerify } from "jose";
import * as oidc from "openid-client";
import { discover, env, main, secretFile } from "./shared.ts";

const issuer = env("TIKTI_ISSUER");
const audience = env("AUDIENCE");
const tenant = env("TENANT");

// One JWKS cache per process: jose re-fetches only for an unknown kid (key rotation), at most every 30 s.
const jwks = createRemoteJWKSet(new URL(`${issuer}/.well-known/jwks.json`));

async function verifyOffline(
  token: string,
): Promise<{ valid: true; claims: JWTPayload } | { valid: false; error: string }> {
  try {
    const { payload } = await jwtVerify(token, jwks, {
      issuer,
      audience,
      algorithms: ["RS256"],
      typ: "at+jwt",
      requiredClaims: ["exp", "sub", "tid"],
      clockTolerance: 30,
    });
    // A token of another tenant is never for us, whatever its audience string says.
    if (payload.tid !== tenant) return { valid: false, error: "wrong tenant" };
    return { valid: true, claims: payload };
  } catch (e) {
    return { valid: false, error: (e as { code?: string }).code ?? "invalid token" };
  }
}

async function introspect(token: string): Promise<oidc.IntrospectionResponse> {
  const config = await discover(oidc.ClientSecretBasic(secretFile("OAUTH_CLIENT_SECRET")));
  return oidc.tokenIntrospection(config, token);
}

await main(async () => {
  const token = env("TOKEN");
  const out: Record<string, unknown> = { offline: await verifyOffline(token) };
  if (process.env.OAUTH_CLIENT_ID) out.introspection = await introspect(token);
  return out;
});
