/**
 * Helpers of the OAuth tests (docs/spec/oauth.md): a real app on a real store, tenants/roles/clients
 * created through the admin routes, form requests, and keys for private_key_jwt assertions.
 */
import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { expect } from "vitest";
import { createLogger } from "../../src/logger.ts";
import { buildTestApp, type Engine, manualClock, TEST_ISSUER, type TestApp } from "../support/app.ts";

export const T1 = "acme";
export const T2 = "globex";

export interface OAuthTestApp extends TestApp {
  clock: ReturnType<typeof manualClock>;
  logLines: Record<string, unknown>[];
  /** A form POST (no API key). */
  form(
    path: string,
    params: Record<string, string>,
    init?: { headers?: Record<string, string> },
  ): Promise<Response>;
}

export async function buildOAuthApp(
  engine: Engine,
  config: Record<string, unknown> = {},
): Promise<OAuthTestApp> {
  const clock = manualClock(Date.now());
  const logLines: Record<string, unknown>[] = [];
  const t = await buildTestApp({
    store: await engine.freshStore(),
    clock,
    config,
    extend: (deps) => ({ ...deps, logger: createLogger((line) => logLines.push(JSON.parse(line)), "debug") }),
  });
  return Object.assign(t, {
    clock,
    logLines,
    form(path: string, params: Record<string, string>, init: { headers?: Record<string, string> } = {}) {
      return t.call(path, {
        method: "POST",
        key: false,
        headers: { "content-type": "application/x-www-form-urlencoded", ...init.headers },
        body: new URLSearchParams(params).toString(),
      });
    },
  });
}

export async function adminOk(
  t: TestApp,
  path: string,
  json: unknown,
  method = "POST",
): Promise<Record<string, unknown>> {
  const res = await t.call(path, { json, method });
  const body = await res.json();
  if (res.status !== 200) throw new Error(`${method} ${path} → ${res.status} ${JSON.stringify(body)}`);
  return body as Record<string, unknown>;
}

export async function createTenant(t: TestApp, id: string): Promise<void> {
  await t.app.services.repos.tenants.create({ id, slug: id, name: id });
}

export interface CreatedTestClient {
  oauthClientId: string;
  secret: string;
}

export async function createClient(
  t: TestApp,
  tenantId: string,
  body: Record<string, unknown>,
): Promise<CreatedTestClient> {
  const created = await adminOk(t, `/tenants/${tenantId}/clients`, body);
  return { oauthClientId: created.oauthClientId as string, secret: created.secret as string };
}

export function basic(id: string, secret: string, encode = true): string {
  const enc = (s: string) => (encode ? encodeURIComponent(s).replace(/%20/g, "+") : s);
  return `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString("base64")}`;
}

export async function expectOAuthError(
  res: Response,
  status: number,
  error: string,
): Promise<Record<string, unknown>> {
  const body = (await res.json()) as Record<string, unknown>;
  expect({ status: res.status, error: body.error }).toEqual({ status, error });
  expect(Object.keys(body).sort()).toEqual(["error", "error_description"]);
  expect(res.headers.get("cache-control")).toBe("no-store");
  return body;
}

export function decodePart(token: string, index: 0 | 1): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split(".")[index] as string, "base64url").toString("utf8"));
}

export type AssertionAlg = "RS256" | "PS256" | "ES256" | "EdDSA";

export interface AssertionKey {
  alg: AssertionAlg;
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export async function assertionKey(alg: AssertionAlg, kid = `k-${alg}`): Promise<AssertionKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid };
  return { alg, kid, privateKey: privateKey as CryptoKey, publicJwk };
}

export interface AssertionClaims {
  iss?: string;
  sub?: string;
  aud?: string | string[];
  iat?: number;
  exp?: number;
  jti?: string;
}

/** An RFC 7523 client assertion; `now` in ms. */
export function clientAssertion(
  key: AssertionKey,
  oauthClientId: string,
  now: number,
  claims: AssertionClaims = {},
  header: Record<string, unknown> = {},
): Promise<string> {
  const iat = claims.iat ?? Math.floor(now / 1000);
  const payload = {
    iss: claims.iss ?? oauthClientId,
    sub: claims.sub ?? oauthClientId,
    aud: claims.aud ?? `${TEST_ISSUER}/oauth/token`,
    iat,
    exp: claims.exp ?? iat + 60,
    jti: claims.jti ?? crypto.randomUUID(),
  };
  return new SignJWT(payload)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, ...header })
    .sign(key.privateKey);
}

export const JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
export const TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";
export const ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token";
export const ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token";
