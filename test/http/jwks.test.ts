import { createLocalJWKSet, exportJWK, exportSPKI, importJWK, importPKCS8, jwtVerify, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { buildTestApp, TEST_ISSUER } from "../support/app.ts";
import { generateRsaPem } from "../support/keys.ts";
import { openTempEmbedded } from "../support/stores.ts";

// docs/spec/tokens.md §6: the active key first, then `jwksKeys` in list order; public members only; the body
// is serialised once and byte-identical across replicas with the same configuration.
describe("JWKS with extra published keys", () => {
  it("publishes the active key first, then each extra key (public or private PEM) in order", async () => {
    const oldPrivate = await generateRsaPem();
    const nextPrivate = await generateRsaPem();
    const { n, e } = await exportJWK(await importPKCS8(nextPrivate, "RS256", { extractable: true }));
    const nextPublic = await exportSPKI(
      (await importJWK({ kty: "RSA", n, e }, "RS256", { extractable: true })) as CryptoKey,
    );
    const config = {
      jwksKeys: [
        { kid: "retired-1", privateKey: oldPrivate },
        { kid: "next-1", publicKey: nextPublic },
      ],
    };
    const a = await buildTestApp({ store: await openTempEmbedded(), config });
    const res = await a.call("/.well-known/jwks.json");
    const text = await res.text();
    const jwks = JSON.parse(text) as { keys: Array<Record<string, string>> };
    expect(jwks.keys.map((k) => k.kid)).toEqual(["test-key-1", "retired-1", "next-1"]);
    for (const k of jwks.keys) {
      expect(Object.keys(k).sort()).toEqual(["alg", "e", "kid", "kty", "n", "use"]);
      expect(k).toMatchObject({ kty: "RSA", alg: "RS256", use: "sig" });
    }
    expect(new Set(jwks.keys.map((k) => k.n)).size).toBe(3);

    // A token signed earlier with the retired key still verifies through the served JWKS.
    const retiredToken = await new SignJWT({ sub: "u1" })
      .setProtectedHeader({ alg: "RS256", kid: "retired-1" })
      .setIssuer(TEST_ISSUER)
      .setAudience("svc")
      .setExpirationTime("5m")
      .sign(await importPKCS8(oldPrivate, "RS256"));
    const { payload } = await jwtVerify(retiredToken, createLocalJWKSet(jwks), {
      issuer: TEST_ISSUER,
      audience: "svc",
    });
    expect(payload.sub).toBe("u1");

    // Same configuration, second replica: byte-identical body; the gauge counts the keys.
    const b = await buildTestApp({ store: await openTempEmbedded(), config });
    expect(await (await b.call("/v1/.well-known/jwks.json")).text()).toBe(text);
    expect(await (await a.call("/metrics")).text()).toMatch(/^tikti_jwks_keys 3$/m);
  });
});
