/**
 * The access-token algorithm as a configuration choice (docs/spec/tokens.md §1, issue 14 item 3): with an
 * EC P-256 (`jwksAlgorithm: ES256`) or Ed25519 (`EdDSA`) signing key, the legacy exchange and both
 * `/oauth/token` grants sign with it, the JWKS route publishes it with its `alg`, the tokens verify
 * with jose through that JWKS and pass `/accounts/validate`, and the
 * metadata documents keep describing only what they did (client-assertion algorithms) — on the
 * embedded store and a real Redis.
 */
import { createLocalJWKSet, decodeProtectedHeader, type JSONWebKeySet, jwtVerify } from "jose";
import { beforeEach, describe, expect, it } from "vitest";
import { generateAccessTokenKeyPair } from "../../src/crypto/keygen.ts";
import { forEachEngine, TEST_ISSUER } from "../support/app.ts";
import {
  adminOk,
  basic,
  buildOAuthApp,
  createClient,
  createTenant,
  ID_TOKEN_TYPE,
  type OAuthTestApp,
  T1,
  TOKEN_EXCHANGE,
} from "./support.ts";

const USER = "user-1";
const EMAIL = "alice@example.com";

forEachEngine("access tokens signed with ES256 / EdDSA", (engine) => {
  describe.each(["ES256", "EdDSA"] as const)("jwksAlgorithm %s", (alg) => {
    let t: OAuthTestApp;
    let worker: { oauthClientId: string; secret: string };
    let backend: { oauthClientId: string; secret: string };

    beforeEach(async () => {
      const { pkcs8Pem } = await generateAccessTokenKeyPair(alg);
      t = await buildOAuthApp(engine, {
        jwksPrivateKey: pkcs8Pem,
        jwksAlgorithm: alg,
        jwksKeyId: `k-${alg}`,
      });
      await createTenant(t, T1);
      await adminOk(t, `/tenants/${T1}/roles`, { name: "reader", permissions: ["docs:read"] });
      await createClient(t, T1, { clientId: "docs-api", defaultScopes: ["docs:read"] });
      worker = await createClient(t, T1, {
        clientId: "worker",
        allowedGrantTypes: ["client_credentials"],
        roles: ["reader"],
      });
      backend = await createClient(t, T1, {
        clientId: "backend",
        allowedGrantTypes: ["token_exchange"],
        defaultScopes: ["docs:read"],
      });
      await t.app.services.repos.users.create({
        localId: USER,
        email: EMAIL,
        password: "",
        role: "COMPANY_EMPLOYEE",
      });
      await t.app.services.repos.memberships.put(T1, USER, ["reader"]);
    });

    const idToken = async () =>
      (await t.deps.idTokens.sign({ sub: USER, email: EMAIL, role: "COMPANY_EMPLOYEE", amr: "pwd", ver: 0 }))
        .token;

    it("the legacy exchange and both /oauth/token grants sign with it; each token verifies through the JWKS route", async () => {
      const jwks = (await (await t.call("/.well-known/jwks.json")).json()) as JSONWebKeySet;
      expect(jwks.keys.map((k) => [k.kid, k.alg, k.crv])).toEqual([
        [`k-${alg}`, alg, alg === "ES256" ? "P-256" : "Ed25519"],
      ]);

      const legacy = await t.call("/accounts/token/exchange", {
        json: { idToken: await idToken(), audience: "docs-api", tenantId: T1 },
      });
      expect(legacy.status).toBe(200);
      const legacyToken = ((await legacy.json()) as { accessToken: string }).accessToken;

      const cc = await t.form(
        "/oauth/token",
        { grant_type: "client_credentials", audience: "docs-api" },
        { headers: { authorization: basic(worker.oauthClientId, worker.secret) } },
      );
      expect(cc.status).toBe(200);
      const ccToken = ((await cc.json()) as { access_token: string }).access_token;

      const exchanged = await t.form(
        "/oauth/token",
        {
          grant_type: TOKEN_EXCHANGE,
          subject_token: await idToken(),
          subject_token_type: ID_TOKEN_TYPE,
          audience: "docs-api",
        },
        { headers: { authorization: basic(backend.oauthClientId, backend.secret) } },
      );
      expect(exchanged.status).toBe(200);
      const exchangedToken = ((await exchanged.json()) as { access_token: string }).access_token;

      for (const [token, typ] of [
        [legacyToken, "JWT"],
        [ccToken, "at+jwt"],
        [exchangedToken, "at+jwt"],
      ] as const) {
        expect(decodeProtectedHeader(token)).toEqual({ alg, typ, kid: `k-${alg}` });
        const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), {
          issuer: TEST_ISSUER,
          audience: "docs-api",
          typ,
          algorithms: [alg],
        });
        expect(payload.tid).toBe(T1);
        const validated = await t.call("/accounts/validate", { json: { token, audience: "docs-api" } });
        expect(validated.status).toBe(200);
      }
    });

    it("the metadata documents advertise no access-token signing algorithm, only the client-assertion ones", async () => {
      for (const path of ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"]) {
        const doc = (await (await t.call(path)).json()) as Record<string, unknown>;
        const algFields = Object.keys(doc).filter((k) => k.endsWith("_alg_values_supported"));
        expect(
          algFields.every((k) => k.endsWith("_auth_signing_alg_values_supported")),
          path,
        ).toBe(true);
        for (const k of algFields) expect(doc[k]).toEqual(["RS256", "PS256", "ES256", "EdDSA"]);
        expect(doc.id_token_signing_alg_values_supported).toBeUndefined();
      }
    });
  });
});
