/**
 * The real server signs access tokens with an ES256 or EdDSA key when `jwksAlgorithm` says so
 * (docs/spec/tokens.md §1): the runtime's own signer (node:crypto on Bun and Node, Web Crypto on Deno,
 * wired in src/runtime/main.ts) issues a client-credentials token whose header names the key's alg
 * and that jose verifies through the server's JWKS.
 */
import { createLocalJWKSet, decodeProtectedHeader, type JSONWebKeySet, jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import { generateAccessTokenKeyPair } from "../../src/crypto/keygen.ts";
import { type RuntimeName, startTikti } from "../support/tikti-process.ts";

const CASES: Array<[RuntimeName, "ES256" | "EdDSA"]> = [
  ["node", "ES256"],
  ["node", "EdDSA"],
  ["bun", "ES256"],
  ["bun", "EdDSA"],
  ["deno", "EdDSA"],
];

describe.each(CASES)("server on %s with jwksAlgorithm %s", (runtime, alg) => {
  it("issues client-credentials tokens with that alg, verified through its JWKS", async () => {
    const { pkcs8Pem } = await generateAccessTokenKeyPair(alg);
    const server = await startTikti({
      runtime,
      config: { jwksPrivateKey: pkcs8Pem, jwksAlgorithm: alg, jwksKeyId: `k-${alg}` },
    });
    try {
      const admin = async (path: string, json: unknown) => {
        const res = await fetch(`${server.baseUrl}${path}`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-api-key": server.apiKey },
          body: JSON.stringify(json),
        });
        const body = (await res.json()) as Record<string, unknown>;
        if (res.status !== 200) throw new Error(`POST ${path} → ${res.status} ${JSON.stringify(body)}`);
        return body;
      };
      await admin("/tenants", { id: "acme", name: "Acme", slug: "acme" });
      await admin("/tenants/acme/clients", { clientId: "docs-api" });
      const worker = await admin("/tenants/acme/clients", {
        clientId: "worker",
        allowedGrantTypes: ["client_credentials"],
      });
      const res = await fetch(`${server.baseUrl}/oauth/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          grant_type: "client_credentials",
          audience: "docs-api",
          client_id: worker.oauthClientId as string,
          client_secret: worker.secret as string,
        }),
      });
      expect(res.status).toBe(200);
      const token = ((await res.json()) as { access_token: string }).access_token;
      expect(decodeProtectedHeader(token)).toEqual({ alg, typ: "at+jwt", kid: `k-${alg}` });
      const jwks = (await (await fetch(`${server.baseUrl}/.well-known/jwks.json`)).json()) as JSONWebKeySet;
      expect(jwks.keys.map((k) => [k.kid, k.alg])).toEqual([[`k-${alg}`, alg]]);
      const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), {
        issuer: server.baseUrl,
        audience: "docs-api",
        algorithms: [alg],
      });
      expect(payload).toMatchObject({ sub: "acme/worker", client_id: "acme/worker", tid: "acme" });
    } finally {
      await server.stop();
    }
  });
});
