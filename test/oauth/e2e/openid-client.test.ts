/**
 * A real OAuth client no one here wrote — openid-client (npm) — against a real Tikti server:
 * discovery (OIDC document and RFC 8414 metadata), client credentials with client_secret_basic,
 * client_secret_post and private_key_jwt, RFC 8693 token exchange through its generic grant
 * request, and introspection and revocation (tokenIntrospection, tokenRevocation). Every issued
 * token is verified with jose through the served JWKS (RFC 9068 `at+jwt`). The server runs on
 * Node, Bun and Deno in turn.
 */
import * as oidc from "openid-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OAuthWorld, startOAuthWorld, verifyAccessToken } from "./world.ts";

// The same flows on every runtime the server ships for (issue 12: Bun, Deno and Node).
describe.each(["node", "bun", "deno"] as const)("openid-client against a real Tikti on %s", (runtime) => {
  let world: OAuthWorld;
  beforeAll(async () => {
    world = await startOAuthWorld(runtime);
  }, 120_000);
  afterAll(async () => {
    await world?.stop();
  });

  const insecure = { execute: [oidc.allowInsecureRequests] };

  it("discovers the endpoints from the OIDC document and from RFC 8414 metadata", async () => {
    for (const algorithm of ["oidc", "oauth2"] as const) {
      const config = await oidc.discovery(
        new URL(world.issuer),
        world.worker.id,
        undefined,
        oidc.ClientSecretBasic(world.worker.secret),
        { ...insecure, algorithm },
      );
      const meta = config.serverMetadata();
      expect(meta.issuer).toBe(world.issuer);
      expect(meta.token_endpoint).toBe(`${world.issuer}/oauth/token`);
      expect(meta.introspection_endpoint).toBe(`${world.issuer}/oauth/introspect`);
      expect(meta.revocation_endpoint).toBe(`${world.issuer}/oauth/revoke`);
      expect(meta.token_endpoint_auth_methods_supported).toEqual([
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
      ]);
      expect(meta.grant_types_supported).toContain("urn:ietf:params:oauth:grant-type:token-exchange");
    }
  });

  it.each([
    ["client_secret_basic", () => oidc.ClientSecretBasic(world.worker.secret), () => world.worker.id],
    ["client_secret_post", () => oidc.ClientSecretPost(world.worker.secret), () => world.worker.id],
    [
      "private_key_jwt",
      () =>
        oidc.PrivateKeyJwt(world.jwtWorker.privateKey, {
          [oidc.modifyAssertion]: (h) => {
            h.kid = world.jwtWorker.kid;
          },
        }),
      () => world.jwtWorker.id,
    ],
  ] as const)("client credentials with %s", async (_name, auth, id) => {
    const config = await oidc.discovery(new URL(world.issuer), id(), undefined, auth(), insecure);
    const tokens = await oidc.clientCredentialsGrant(config, { audience: "docs-api", scope: "docs:read" });
    expect(tokens.token_type).toBe("bearer"); // openid-client normalises the case
    expect(tokens.expires_in).toBe(3600);
    const claims = await verifyAccessToken(world, tokens.access_token, "docs-api", id());
    expect(claims.sub).toBe(id());
    expect(claims.scope).toBe("docs:read");
  });

  it("a private_key_jwt assertion is single-use: openid-client makes a new one per request", async () => {
    const config = await oidc.discovery(
      new URL(world.issuer),
      world.jwtWorker.id,
      undefined,
      oidc.PrivateKeyJwt(world.jwtWorker.privateKey),
      insecure,
    );
    for (let i = 0; i < 3; i++) {
      const tokens = await oidc.clientCredentialsGrant(config, { audience: "docs-api", scope: "docs:list" });
      await verifyAccessToken(world, tokens.access_token, "docs-api", world.jwtWorker.id);
    }
  });

  it("RFC 8693 token exchange through the generic grant request, then a second hop with an access token", async () => {
    const config = await oidc.discovery(
      new URL(world.issuer),
      world.backend.id,
      undefined,
      oidc.ClientSecretBasic(world.backend.secret),
      insecure,
    );
    const first = await oidc.genericGrantRequest(config, "urn:ietf:params:oauth:grant-type:token-exchange", {
      subject_token: await world.idToken(),
      subject_token_type: "urn:ietf:params:oauth:token-type:id_token",
      audience: "backend",
      scope: "docs:read docs:list",
    });
    expect(first.issued_token_type).toBe("urn:ietf:params:oauth:token-type:access_token");
    const claims = await verifyAccessToken(world, first.access_token, "backend", world.backend.id);
    expect(claims).toMatchObject({
      sub: world.user.localId,
      email: world.user.email,
      scope: "docs:read docs:list",
    });

    const second = await oidc.genericGrantRequest(config, "urn:ietf:params:oauth:grant-type:token-exchange", {
      subject_token: first.access_token,
      subject_token_type: "urn:ietf:params:oauth:token-type:access_token",
      audience: "docs-api",
      scope: "docs:read",
    });
    const narrowed = await verifyAccessToken(world, second.access_token, "docs-api", world.backend.id);
    expect(narrowed).toMatchObject({ sub: world.user.localId, scope: "docs:read" });
  });

  it.each([
    ["client_secret_basic", () => oidc.ClientSecretBasic(world.worker.secret), () => world.worker.id],
    ["client_secret_post", () => oidc.ClientSecretPost(world.worker.secret), () => world.worker.id],
    [
      "private_key_jwt",
      () =>
        oidc.PrivateKeyJwt(world.jwtWorker.privateKey, {
          [oidc.modifyAssertion]: (h) => {
            h.kid = world.jwtWorker.kid;
          },
        }),
      () => world.jwtWorker.id,
    ],
  ] as const)(
    "tokenIntrospection and tokenRevocation (RFC 7662, RFC 7009) with %s",
    async (_name, auth, id) => {
      const config = await oidc.discovery(new URL(world.issuer), id(), undefined, auth(), insecure);
      const { access_token } = await oidc.clientCredentialsGrant(config, {
        audience: "docs-api",
        scope: "docs:read",
      });
      const claims = await verifyAccessToken(world, access_token, "docs-api", id());
      const live = await oidc.tokenIntrospection(config, access_token, { token_type_hint: "access_token" });
      expect(live).toEqual({
        active: true,
        iss: world.issuer,
        sub: id(),
        aud: "docs-api",
        client_id: id(),
        scope: "docs:read",
        tid: "acme",
        exp: claims.exp,
        iat: claims.iat,
        jti: claims.jti,
        token_type: "Bearer",
      });
      await oidc.tokenRevocation(config, access_token, { token_type_hint: "access_token" });
      expect(await oidc.tokenIntrospection(config, access_token)).toEqual({ active: false });
      // Revoking again, or revoking junk, is still a 200 (RFC 7009 §2.2).
      await oidc.tokenRevocation(config, access_token);
      await oidc.tokenRevocation(config, "not-a-token");
    },
  );

  it("introspection of a user's exchanged token names the user; revocation reaches /accounts/validate", async () => {
    const config = await oidc.discovery(
      new URL(world.issuer),
      world.backend.id,
      undefined,
      oidc.ClientSecretBasic(world.backend.secret),
      insecure,
    );
    const exchanged = await oidc.genericGrantRequest(
      config,
      "urn:ietf:params:oauth:grant-type:token-exchange",
      {
        subject_token: await world.idToken(),
        subject_token_type: "urn:ietf:params:oauth:token-type:id_token",
        audience: "docs-api",
        scope: "docs:read",
      },
    );
    const live = await oidc.tokenIntrospection(config, exchanged.access_token);
    expect(live).toMatchObject({
      active: true,
      sub: world.user.localId,
      client_id: world.backend.id,
      username: world.user.email,
    });
    const validate = (token: string) =>
      fetch(`${world.issuer}/accounts/validate`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-api-key": world.server.apiKey },
        body: JSON.stringify({ token, audience: "docs-api" }),
      });
    expect((await validate(exchanged.access_token)).status).toBe(200);
    await oidc.tokenRevocation(config, exchanged.access_token);
    const after = await validate(exchanged.access_token);
    expect([after.status, (await after.json()).details]).toEqual([401, { reason: "revoked" }]);
    // Another client of the tenant neither sees nor can revoke the worker's tokens (docs/spec/oauth.md §5, §7).
    const worker = await oidc.discovery(
      new URL(world.issuer),
      world.worker.id,
      undefined,
      oidc.ClientSecretBasic(world.worker.secret),
      insecure,
    );
    const { access_token } = await oidc.clientCredentialsGrant(worker, {
      audience: "docs-api",
      scope: "docs:read",
    });
    expect(await oidc.tokenIntrospection(config, access_token)).toEqual({ active: false });
    await oidc.tokenRevocation(config, access_token);
    expect((await oidc.tokenIntrospection(worker, access_token)).active).toBe(true);
  });

  it("surfaces Tikti's RFC 6749 errors as openid-client response errors", async () => {
    const config = await oidc.discovery(
      new URL(world.issuer),
      world.worker.id,
      undefined,
      oidc.ClientSecretBasic("wrong-secret"),
      insecure,
    );
    const err = await oidc.clientCredentialsGrant(config, { audience: "docs-api" }).catch((e: unknown) => e);
    // A 401 with `WWW-Authenticate: Basic realm="tikti"` (RFC 6749 §5.2) is reported as a challenge.
    expect(err).toBeInstanceOf(oidc.WWWAuthenticateChallengeError);
    const challenge = err as oidc.WWWAuthenticateChallengeError;
    expect(challenge.status).toBe(401);
    expect(challenge.cause[0]).toMatchObject({ scheme: "basic", parameters: { realm: "tikti" } });
    const body = await challenge.response.json();
    expect(body.error).toBe("invalid_client");

    const post = await oidc.discovery(
      new URL(world.issuer),
      world.backend.id,
      undefined,
      oidc.ClientSecretPost(world.backend.secret),
      insecure,
    );
    const denied = await oidc.clientCredentialsGrant(post, {}).catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(oidc.ResponseBodyError);
    expect((denied as oidc.ResponseBodyError).error).toBe("unauthorized_client");
    expect((denied as oidc.ResponseBodyError).status).toBe(400);
  });
});
