/**
 * OAuth client authentication (docs/spec/oauth.md §2) through `POST /oauth/token` with the
 * client_credentials grant, on the embedded store and a real Redis: the three methods, every
 * failure row, secret storage and its bcrypt upgrade, rotation, the private_key_jwt rules and the
 * `jti` replay guard under concurrency, and the order of checks stated at the top of docs/spec/oauth.md.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { hashClientSecret, isSha256SecretHash } from "../../src/crypto/client-secret.ts";
import { generateRsaKeyPair } from "../../src/crypto/keygen.ts";
import { randomSalt } from "../../src/crypto/password.ts";
import { bcryptEncoded } from "../../src/crypto/password-portable.ts";
import { forEachEngine, TEST_ISSUER } from "../support/app.ts";
import {
  type AssertionAlg,
  adminOk,
  assertionKey,
  basic,
  buildOAuthApp,
  clientAssertion,
  createClient,
  createTenant,
  decodePart,
  expectOAuthError,
  JWT_BEARER,
  type OAuthTestApp,
  T1,
  T2,
} from "./support.ts";

const TOKEN = "/oauth/token";
const CC = { grant_type: "client_credentials" };

forEachEngine("OAuth client authentication", (engine) => {
  let t: OAuthTestApp;
  let worker: { oauthClientId: string; secret: string };

  beforeEach(async () => {
    t = await buildOAuthApp(engine);
    await createTenant(t, T1);
    await createTenant(t, T2);
    worker = await createClient(t, T1, { clientId: "worker", allowedGrantTypes: ["client_credentials"] });
  });

  async function storedClient(tenantId: string, clientId: string): Promise<Record<string, unknown>> {
    return JSON.parse((await t.store.hget(`clients:${tenantId}`, clientId)) as string);
  }

  describe("client_secret_basic and client_secret_post", () => {
    it("stores new secrets as sha256:<hex> and accepts them with Basic (RFC 6749 §2.3.1 encoding)", async () => {
      expect(worker.oauthClientId).toBe("acme/worker");
      const stored = await storedClient(T1, "worker");
      expect(stored.secretHash).toBe(await hashClientSecret(worker.secret));
      expect(isSha256SecretHash(stored.secretHash as string)).toBe(true);
      const res = await t.form(TOKEN, CC, {
        headers: { authorization: basic(worker.oauthClientId, worker.secret) },
      });
      expect(res.status).toBe(200);
      const body = await res.json();
      expect(decodePart(body.access_token, 1)).toMatchObject({
        sub: "acme/worker",
        client_id: "acme/worker",
      });
      expect(Buffer.from(basic(worker.oauthClientId, worker.secret).slice(6), "base64").toString()).toContain(
        "acme%2Fworker:",
      );
    });

    it("accepts the unencoded id with its slash", async () => {
      const res = await t.form(TOKEN, CC, {
        headers: { authorization: basic(worker.oauthClientId, worker.secret, false) },
      });
      expect(res.status).toBe(200);
    });

    it("accepts client_secret_post, and a client_id beside Basic when it names the same client", async () => {
      expect(
        (await t.form(TOKEN, { ...CC, client_id: worker.oauthClientId, client_secret: worker.secret }))
          .status,
      ).toBe(200);
      const both = await t.form(
        TOKEN,
        { ...CC, client_id: worker.oauthClientId },
        {
          headers: { authorization: basic(worker.oauthClientId, worker.secret) },
        },
      );
      expect(both.status).toBe(200);
    });

    it("refuses a wrong secret: 401 invalid_client, WWW-Authenticate only when Basic was used", async () => {
      const viaBasic = await t.form(TOKEN, CC, {
        headers: { authorization: basic(worker.oauthClientId, "nope") },
      });
      await expectOAuthError(viaBasic, 401, "invalid_client");
      expect(viaBasic.headers.get("www-authenticate")).toBe('Basic realm="tikti"');
      const viaPost = await t.form(TOKEN, { ...CC, client_id: worker.oauthClientId, client_secret: "nope" });
      await expectOAuthError(viaPost, 401, "invalid_client");
      expect(viaPost.headers.get("www-authenticate")).toBeNull();
    });

    it("answers the same invalid_client for unknown, unparsable, PUBLIC, DISABLED and other-tenant cases", async () => {
      const pub = await createClient(t, T1, {
        clientId: "spa",
        type: "PUBLIC",
        allowedGrantTypes: ["client_credentials"],
      });
      const off = await createClient(t, T1, { clientId: "off", allowedGrantTypes: ["client_credentials"] });
      await adminOk(
        t,
        `/tenants/${T1}/clients/off`,
        { allowedGrantTypes: ["client_credentials"], status: "DISABLED" },
        "PUT",
      );
      const other = await createClient(t, T2, { clientId: "g", allowedGrantTypes: ["client_credentials"] });
      await adminOk(t, `/tenants/${T2}/status`, { status: "DISABLED" });
      const cases: Array<[string, string]> = [
        ["acme/ghost", worker.secret],
        ["worker", worker.secret],
        ["acme/", worker.secret],
        [pub.oauthClientId, pub.secret],
        [off.oauthClientId, off.secret],
        [other.oauthClientId, other.secret],
        ["globex/worker", worker.secret],
      ];
      const descriptions = new Set<unknown>();
      for (const [id, secret] of cases) {
        const body = await expectOAuthError(
          await t.form(TOKEN, { ...CC, client_id: id, client_secret: secret }),
          401,
          "invalid_client",
        );
        descriptions.add(body.error_description);
      }
      expect(descriptions.size).toBe(1);
    });

    it("refuses requests without credentials or with client_id only (none)", async () => {
      await expectOAuthError(await t.form(TOKEN, CC), 401, "invalid_client");
      await expectOAuthError(
        await t.form(TOKEN, { ...CC, client_id: worker.oauthClientId }),
        401,
        "invalid_client",
      );
    });

    it("refuses two methods at once with invalid_request", async () => {
      const res = await t.form(
        TOKEN,
        { ...CC, client_secret: worker.secret },
        {
          headers: { authorization: basic(worker.oauthClientId, worker.secret) },
        },
      );
      await expectOAuthError(res, 400, "invalid_request");
    });

    it("refuses a client_id parameter naming another client", async () => {
      const res = await t.form(
        TOKEN,
        { ...CC, client_id: "acme/other" },
        {
          headers: { authorization: basic(worker.oauthClientId, worker.secret) },
        },
      );
      await expectOAuthError(res, 401, "invalid_client");
    });

    it("verifies a Go-era bcrypt secretHash once, then rewrites it as sha256: (compare-and-set)", async () => {
      const legacy = await bcryptEncoded(new TextEncoder().encode(worker.secret), randomSalt(), 10);
      const record = await storedClient(T1, "worker");
      await t.store.hset(
        `clients:${T1}`,
        "worker",
        JSON.stringify({ ...record, secretHash: legacy, goField: 1 }),
      );
      const auth = { headers: { authorization: basic(worker.oauthClientId, worker.secret) } };
      expect((await t.form(TOKEN, CC, auth)).status).toBe(200);
      const upgraded = await storedClient(T1, "worker");
      expect(upgraded.secretHash).toBe(await hashClientSecret(worker.secret));
      expect(upgraded.goField).toBe(1);
      expect((await t.form(TOKEN, CC, auth)).status).toBe(200);
      // a wrong secret against a bcrypt hash stays refused and writes nothing
      await t.store.hset(`clients:${T1}`, "worker", JSON.stringify({ ...record, secretHash: legacy }));
      await expectOAuthError(
        await t.form(TOKEN, { ...CC, client_id: worker.oauthClientId, client_secret: "x" }),
        401,
        "invalid_client",
      );
      expect((await storedClient(T1, "worker")).secretHash).toBe(legacy);
    });
  });

  describe("secret rotation", () => {
    it("keeps the old secret for the grace period only, and a second rotation drops the older one", async () => {
      const rotated = await adminOk(t, `/tenants/${T1}/clients/worker/secret`, {
        previousSecretTtlSeconds: 600,
      });
      expect(Object.keys(rotated).sort()).toEqual(["oauthClientId", "secret"]);
      expect(rotated.oauthClientId).toBe("acme/worker");
      const login = (secret: string) =>
        t.form(TOKEN, { ...CC, client_id: worker.oauthClientId, client_secret: secret });
      expect((await login(rotated.secret as string)).status).toBe(200);
      expect((await login(worker.secret)).status).toBe(200);
      const stored = await storedClient(T1, "worker");
      expect(stored.previousSecretHash).toBe(await hashClientSecret(worker.secret));
      t.clock.advance(601_000);
      await expectOAuthError(await login(worker.secret), 401, "invalid_client");
      expect((await login(rotated.secret as string)).status).toBe(200);

      const third = await adminOk(t, `/tenants/${T1}/clients/worker/secret`, {});
      const fourth = await adminOk(t, `/tenants/${T1}/clients/worker/secret`, {});
      expect((await login(third.secret as string)).status).toBe(200); // default grace 86 400 s
      await expectOAuthError(await login(rotated.secret as string), 401, "invalid_client");
      expect((await login(fourth.secret as string)).status).toBe(200);
      t.clock.advance(86_401_000);
      await expectOAuthError(await login(third.secret as string), 401, "invalid_client");
    });

    it("with previousSecretTtlSeconds 0 the old secret stops at once; out of range is INVALID_ARGUMENT", async () => {
      await adminOk(t, `/tenants/${T1}/clients/worker/secret`, { previousSecretTtlSeconds: 0 });
      await expectOAuthError(
        await t.form(TOKEN, { ...CC, client_id: worker.oauthClientId, client_secret: worker.secret }),
        401,
        "invalid_client",
      );
      const bad = await t.call(`/tenants/${T1}/clients/worker/secret`, {
        json: { previousSecretTtlSeconds: 604_801 },
      });
      expect(bad.status).toBe(400);
      expect((await bad.json()).code).toBe("INVALID_ARGUMENT");
      expect((await t.call(`/tenants/${T1}/clients/ghost/secret`, { json: {} })).status).toBe(404);
    });
  });

  describe("private_key_jwt (RFC 7523)", () => {
    async function withKeys(...algs: AssertionAlg[]) {
      const keys = await Promise.all(algs.map((a) => assertionKey(a)));
      await adminOk(t, `/tenants/${T1}/clients/worker/jwks`, { keys: keys.map((k) => k.publicJwk) }, "PUT");
      return keys;
    }
    const viaAssertion = (assertion: string, extra: Record<string, string> = {}, path = TOKEN) =>
      t.form(path, { ...CC, client_assertion_type: JWT_BEARER, client_assertion: assertion, ...extra });

    it.each(["RS256", "PS256", "ES256", "EdDSA"] as const)("accepts a %s assertion", async (alg) => {
      const [key] = await withKeys(alg);
      const res = await viaAssertion(await clientAssertion(key!, worker.oauthClientId, t.clock.now()));
      expect(res.status).toBe(200);
    });

    it("accepts aud = the issuer, and the /v1 URL only when the alias is called", async () => {
      const [key] = await withKeys("ES256");
      const now = t.clock.now();
      const at = (aud: string | string[]) => clientAssertion(key!, worker.oauthClientId, now, { aud });
      expect((await viaAssertion(await at(TEST_ISSUER))).status).toBe(200);
      expect((await viaAssertion(await at(["https://elsewhere", `${TEST_ISSUER}/oauth/token`]))).status).toBe(
        200,
      );
      await expectOAuthError(
        await viaAssertion(await at(`${TEST_ISSUER}/v1/oauth/token`)),
        401,
        "invalid_client",
      );
      expect(
        (await viaAssertion(await at(`${TEST_ISSUER}/v1/oauth/token`), {}, "/v1/oauth/token")).status,
      ).toBe(200);
      await expectOAuthError(
        await viaAssertion(await at(`${TEST_ISSUER}/oauth/introspect`)),
        401,
        "invalid_client",
      );
    });

    it("refuses wrong iss/sub, expired, over-long, future and jti-less assertions", async () => {
      const [key] = await withKeys("ES256");
      const now = t.clock.now();
      const s = Math.floor(now / 1000);
      const bad = [
        await clientAssertion(key!, worker.oauthClientId, now, { iss: "acme/other" }),
        await clientAssertion(key!, worker.oauthClientId, now, { sub: "acme/other" }),
        await clientAssertion(key!, worker.oauthClientId, now, { iat: s - 200, exp: s - 100 }),
        await clientAssertion(key!, worker.oauthClientId, now, { iat: s, exp: s + 301 }),
        await clientAssertion(key!, worker.oauthClientId, now, { iat: s + 120, exp: s + 180 }),
        await clientAssertion(key!, worker.oauthClientId, now, { jti: "" }),
      ];
      for (const assertion of bad)
        await expectOAuthError(await viaAssertion(assertion), 401, "invalid_client");
      // the 300 s bound itself is accepted
      expect(
        (await viaAssertion(await clientAssertion(key!, worker.oauthClientId, now, { iat: s, exp: s + 300 })))
          .status,
      ).toBe(200);
    });

    it("refuses an assertion signed by an unregistered key or with a disallowed alg", async () => {
      await withKeys("ES256");
      const stranger = await assertionKey("ES256");
      await expectOAuthError(
        await viaAssertion(await clientAssertion(stranger, worker.oauthClientId, t.clock.now())),
        401,
        "invalid_client",
      );
      const hs = await new (await import("jose")).SignJWT({
        iss: worker.oauthClientId,
        sub: worker.oauthClientId,
        aud: TEST_ISSUER,
        jti: "x",
      })
        .setProtectedHeader({ alg: "HS256", kid: "k-ES256" })
        .setIssuedAt(Math.floor(t.clock.now() / 1000))
        .setExpirationTime(Math.floor(t.clock.now() / 1000) + 60)
        .sign(new TextEncoder().encode(worker.secret));
      await expectOAuthError(await viaAssertion(hs), 401, "invalid_client");
    });

    it("refuses a wrong client_assertion_type (invalid_client) and a lone assertion parameter (invalid_request)", async () => {
      const [key] = await withKeys("ES256");
      const assertion = await clientAssertion(key!, worker.oauthClientId, t.clock.now());
      await expectOAuthError(
        await viaAssertion(assertion, { client_assertion_type: "urn:other" }),
        401,
        "invalid_client",
      );
      await expectOAuthError(
        await t.form(TOKEN, { ...CC, client_assertion: assertion }),
        400,
        "invalid_request",
      );
    });

    it("accepts one jti once: a replay is invalid_client, and of 8 concurrent uses exactly one wins", async () => {
      const [key] = await withKeys("ES256");
      const once = await clientAssertion(key!, worker.oauthClientId, t.clock.now());
      expect((await viaAssertion(once)).status).toBe(200);
      await expectOAuthError(await viaAssertion(once), 401, "invalid_client");
      const race = await clientAssertion(key!, worker.oauthClientId, t.clock.now());
      const statuses = (await Promise.all(Array.from({ length: 8 }, () => viaAssertion(race)))).map(
        (r) => r.status,
      );
      expect(statuses.filter((s) => s === 200)).toHaveLength(1);
      expect(statuses.filter((s) => s === 401)).toHaveLength(7);
      const jtiKeys: string[] = [];
      for await (const batch of t.store.scan("clientAssertionJti:acme/worker:")) jtiKeys.push(...batch);
      expect(jtiKeys).toHaveLength(2);
      const pttl = await t.store.pttl(jtiKeys[0]!);
      expect(pttl).toBeGreaterThan(0);
      expect(pttl).toBeLessThanOrEqual((60 + 30) * 1000);
    });
  });

  describe("client jwks validation (PUT and create)", () => {
    it("refuses private members, weak or other key types, missing/duplicate kid and more than 10 keys", async () => {
      const rsa = await assertionKey("RS256", "a");
      const ec = await assertionKey("ES256", "b");
      const { exportJWK } = await import("jose");
      const weakPair = await generateRsaKeyPair(1024);
      const weak = { ...(await exportJWK(weakPair.publicKey)), kid: "weak" };
      const priv = { ...(await exportJWK(ec.privateKey)), kid: "priv" };
      const res = await t.call(`/tenants/${T1}/clients/worker/jwks`, {
        method: "PUT",
        json: {
          keys: [
            rsa.publicJwk,
            priv,
            weak,
            { kty: "oct", k: "AAAA", kid: "sym" },
            { ...ec.publicJwk, kid: undefined },
            { ...ec.publicJwk, kid: "a" },
            ec.publicJwk,
          ],
        },
      });
      expect(res.status).toBe(400);
      const body = await res.json();
      expect(body.code).toBe("INVALID_ARGUMENT");
      expect(Object.keys(body.details).sort()).toEqual([
        "jwks.keys.1",
        "jwks.keys.2",
        "jwks.keys.3",
        "jwks.keys.4",
        "jwks.keys.5",
      ]);
      expect(body.details["jwks.keys.5"]).toBe("duplicate kid");
      const many = Array.from({ length: 11 }, (_, i) => ({ ...ec.publicJwk, kid: `k${i}` }));
      const tooMany = await t.call(`/tenants/${T1}/clients/worker/jwks`, {
        method: "PUT",
        json: { keys: many },
      });
      expect((await tooMany.json()).details).toEqual({ "jwks.keys": "at most 10 keys" });
      const atCreate = await t.call(`/tenants/${T1}/clients`, {
        json: { clientId: "k", jwks: { keys: [priv] } },
      });
      expect((await atCreate.json()).details).toEqual({
        "jwks.keys.0": "private key members are not allowed",
      });
      expect((await storedClient(T1, "worker")).jwks).toBeUndefined();
    });
  });

  describe("order of checks and request rules", () => {
    const auth = () => ({ headers: { authorization: basic(worker.oauthClientId, worker.secret) } });

    it("refuses JSON bodies, oversized bodies (413) and duplicated parameters before authenticating", async () => {
      const json = await t.call(TOKEN, {
        json: { grant_type: "client_credentials" },
        key: false,
        headers: { authorization: basic("x/y", "bad") },
      });
      await expectOAuthError(json, 400, "invalid_request");
      const big = await t.form(TOKEN, { ...CC, pad: "x".repeat(16_384) }, auth());
      await expectOAuthError(big, 413, "invalid_request");
      const dup = await t.call(TOKEN, {
        method: "POST",
        key: false,
        headers: { "content-type": "application/x-www-form-urlencoded", ...auth().headers },
        body: "grant_type=client_credentials&scope=a&scope=b",
      });
      await expectOAuthError(dup, 400, "invalid_request");
      const missing = await t.form(TOKEN, {}, { headers: { authorization: basic("x/y", "bad") } });
      await expectOAuthError(missing, 400, "invalid_request");
    });

    it("counts failed authentications per IP: after 20 every request is 429, whatever its credentials", async () => {
      for (let i = 0; i < 20; i++) {
        await expectOAuthError(
          await t.form(TOKEN, { ...CC, client_id: worker.oauthClientId, client_secret: `bad${i}` }),
          401,
          "invalid_client",
        );
      }
      const good = await t.form(TOKEN, CC, auth());
      await expectOAuthError(good, 429, "temporarily_unavailable");
      expect(Number(good.headers.get("retry-after"))).toBeGreaterThan(0);
      t.clock.advance(61_000);
      // the window lives in the store (PTTL), so wait for it there rather than on the test clock
      for (const k of await collect(t, "rl:oauthAuthFailIp:")) await t.store.del(k);
      expect((await t.form(TOKEN, CC, auth())).status).toBe(200);
    });

    it("limits each client with oauthClient after authentication", async () => {
      const small = await buildOAuthApp(engine, {
        rateLimits: { oauthClient: { limit: 2, windowSeconds: 60 } },
      });
      await createTenant(small, T1);
      const c = await createClient(small, T1, { clientId: "w", allowedGrantTypes: ["client_credentials"] });
      const go = () => small.form(TOKEN, { ...CC, client_id: c.oauthClientId, client_secret: c.secret });
      expect((await go()).status).toBe(200);
      expect((await go()).status).toBe(200);
      const limited = await go();
      const body = await expectOAuthError(limited, 429, "temporarily_unavailable");
      expect(body.error_description).toBe("rate limited");
      expect(limited.headers.get("retry-after")).toMatch(/^\d+$/);
    });
  });
});

async function collect(t: OAuthTestApp, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const batch of t.store.scan(prefix)) out.push(...batch);
  return out;
}
