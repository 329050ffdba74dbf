/**
 * The world of the OAuth end-to-end tests: a real Tikti server (child process, test/support/
 * tikti-process.ts) seeded through its own admin API — tenant `acme`, a `reader` and a `delegator`
 * role, a client-credentials worker (secret and private_key_jwt variants), a token-exchange
 * backend, the `docs-api` resource server and a signed-up member. Both the openid-client and the
 * authlib suites use it; introspection and revocation tests (docs/spec/oauth.md §5, §7) can reuse the same
 * world and helpers (`verifyAccessToken`, `world.admin`).
 */
import { createRemoteJWKSet, exportJWK, generateKeyPair, jwtVerify } from "jose";
import { expect } from "vitest";
import { type RuntimeName, startTikti, type TiktiProcess } from "../../support/tikti-process.ts";

export const TENANT = "acme";

export interface OAuthWorld {
  server: TiktiProcess;
  issuer: string;
  /** An admin API call (X-API-Key); throws unless 200. */
  admin(path: string, json: unknown, method?: string): Promise<Record<string, unknown>>;
  worker: { id: string; secret: string };
  /** A client-credentials client that authenticates with private_key_jwt (ES256). */
  jwtWorker: { id: string; privateKey: CryptoKey; kid: string };
  backend: { id: string; secret: string };
  user: { localId: string; email: string; password: string };
  /** A fresh idToken of the member (password sign-in through the public route). */
  idToken(): Promise<string>;
  stop(): Promise<void>;
}

export async function startOAuthWorld(runtime: RuntimeName = "node"): Promise<OAuthWorld> {
  const server = await startTikti({ runtime });
  const issuer = server.baseUrl;
  async function call(path: string, json: unknown, method = "POST", key = true) {
    const res = await fetch(`${issuer}${path}`, {
      method,
      headers: { "content-type": "application/json", ...(key ? { "x-api-key": server.apiKey } : {}) },
      body: JSON.stringify(json),
    });
    const body = (await res.json()) as Record<string, unknown>;
    if (res.status !== 200) throw new Error(`${method} ${path} → ${res.status} ${JSON.stringify(body)}`);
    return body;
  }
  const admin = (path: string, json: unknown, method = "POST") => call(path, json, method);

  await admin("/tenants", { id: TENANT, name: "Acme", slug: TENANT });
  await admin(`/tenants/${TENANT}/roles`, { name: "reader", permissions: ["docs:read", "docs:list"] });
  await admin(`/tenants/${TENANT}/roles`, { name: "delegator", permissions: ["tikti:tokens:delegate"] });
  await admin(`/tenants/${TENANT}/clients`, {
    clientId: "docs-api",
    defaultScopes: ["docs:read", "docs:list"],
  });
  const worker = await admin(`/tenants/${TENANT}/clients`, {
    clientId: "worker",
    allowedGrantTypes: ["client_credentials"],
    roles: ["reader"],
  });
  const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
  const kid = "worker-key-1";
  await admin(`/tenants/${TENANT}/clients`, {
    clientId: "jwt-worker",
    allowedGrantTypes: ["client_credentials"],
    roles: ["reader"],
    jwks: { keys: [{ ...(await exportJWK(publicKey)), kid, alg: "ES256", use: "sig" }] },
  });
  const backend = await admin(`/tenants/${TENANT}/clients`, {
    clientId: "backend",
    allowedGrantTypes: ["token_exchange"],
    defaultScopes: ["docs:read", "docs:list"],
  });
  const email = "alice@acme.example";
  const password = `Vq7!${crypto.randomUUID()}`;
  const signedUp = await call("/accounts/signUp", { email, password }, "POST", false);
  await admin(`/tenants/${TENANT}/users`, { email, roles: ["reader"] });

  return {
    server,
    issuer,
    admin,
    worker: { id: worker.oauthClientId as string, secret: worker.secret as string },
    jwtWorker: { id: `${TENANT}/jwt-worker`, privateKey: privateKey as CryptoKey, kid },
    backend: { id: backend.oauthClientId as string, secret: backend.secret as string },
    user: { localId: signedUp.localId as string, email, password },
    async idToken() {
      const res = await call("/accounts/signInWithPassword", { email, password });
      return res.idToken as string;
    },
    async stop() {
      await server.stop();
    },
  };
}

/** RFC 9068 checks through the served JWKS: `typ: at+jwt`, issuer, audience, `client_id`. */
export async function verifyAccessToken(
  world: OAuthWorld,
  token: string,
  audience: string,
  clientId: string,
) {
  const jwks = createRemoteJWKSet(new URL(`${world.issuer}/.well-known/jwks.json`));
  const { payload, protectedHeader } = await jwtVerify(token, jwks, {
    issuer: world.issuer,
    audience,
    typ: "at+jwt",
    algorithms: ["RS256"],
  });
  expect(protectedHeader.typ).toBe("at+jwt");
  expect(payload.client_id).toBe(clientId);
  expect(payload.tid).toBe(TENANT);
  return payload;
}
