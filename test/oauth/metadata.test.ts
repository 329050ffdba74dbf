/**
 * Discovery (docs/spec/oauth.md §8, docs/spec/tokens.md §6.4): the RFC 8414 authorization server metadata and the
 * corrected OpenID configuration — exact members, absolute URLs on the issuer, caching, `/v1`.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { buildTestApp, TEST_ISSUER, type TestApp } from "../support/app.ts";
import { openTempEmbedded } from "../support/stores.ts";

const AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt"];
const ALGS = ["RS256", "PS256", "ES256", "EdDSA"];

describe("OAuth discovery documents", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp({ store: await openTempEmbedded() });
  });

  it("serves RFC 8414 metadata with exactly the specified members", async () => {
    for (const path of [
      "/.well-known/oauth-authorization-server",
      "/v1/.well-known/oauth-authorization-server",
    ]) {
      const res = await t.call(path, { key: false });
      expect(res.status).toBe(200);
      expect(res.headers.get("cache-control")).toBe("public, max-age=300");
      expect(await res.json()).toEqual({
        issuer: TEST_ISSUER,
        token_endpoint: `${TEST_ISSUER}/oauth/token`,
        introspection_endpoint: `${TEST_ISSUER}/oauth/introspect`,
        revocation_endpoint: `${TEST_ISSUER}/oauth/revoke`,
        jwks_uri: `${TEST_ISSUER}/.well-known/jwks.json`,
        grant_types_supported: ["client_credentials", "urn:ietf:params:oauth:grant-type:token-exchange"],
        token_endpoint_auth_methods_supported: AUTH_METHODS,
        token_endpoint_auth_signing_alg_values_supported: ALGS,
        introspection_endpoint_auth_methods_supported: AUTH_METHODS,
        introspection_endpoint_auth_signing_alg_values_supported: ALGS,
        revocation_endpoint_auth_methods_supported: AUTH_METHODS,
        revocation_endpoint_auth_signing_alg_values_supported: ALGS,
        response_types_supported: [],
      });
    }
  });

  it("points the OpenID configuration's token_endpoint at /oauth/token and adds the OAuth members", async () => {
    const res = await t.call("/.well-known/openid-configuration", { key: false });
    expect(res.headers.get("cache-control")).toBe("public, max-age=300");
    const doc = await res.json();
    expect(Object.keys(doc).sort()).toEqual(
      [
        "issuer",
        "jwks_uri",
        "token_endpoint",
        "introspection_endpoint",
        "revocation_endpoint",
        "token_endpoint_auth_methods_supported",
        "grant_types_supported",
        "subject_types_supported",
        "claims_supported",
      ].sort(),
    );
    expect(doc.token_endpoint).toBe(`${TEST_ISSUER}/oauth/token`);
    expect(doc.token_endpoint_auth_methods_supported).toEqual(AUTH_METHODS);
    expect(doc.grant_types_supported).toEqual([
      "client_credentials",
      "urn:ietf:params:oauth:grant-type:token-exchange",
    ]);
    // the advertised endpoint speaks form-encoded RFC 8693 (it used to answer 415)
    const res2 = await t.call("/oauth/token", {
      method: "POST",
      key: false,
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange",
    });
    expect(res2.status).toBe(401);
    expect((await res2.json()).error).toBe("invalid_client");
  });
});
