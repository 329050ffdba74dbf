/**
 * ES256 and EdDSA access tokens beside RS256 (docs/spec/tokens.md §1, §4.3, §6; issue 14 item 3): the key's
 * type fixes the algorithm, the JWKS publishes each key with its `alg` (and `crv`), the Web Crypto and
 * node:crypto signers agree, tokens verify with jose and with PyJWT (python3-jwt, a real process),
 * and a rotation across algorithms keeps older tokens valid until their key is retired.
 */
import { spawnSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { join } from "node:path";
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import {
  type AccessTokenClaims,
  createWebCryptoAccessTokenSigner,
  verifyAccessTokenCrypto,
} from "../../src/crypto/access-token.ts";
import type { AccessTokenAlg } from "../../src/crypto/jws.ts";
import { generateAccessTokenKeyPair } from "../../src/crypto/keygen.ts";
import { type KeyRing, loadKeyRing } from "../../src/crypto/keyring.ts";
import { toPem } from "../../src/crypto/pem.ts";
import { createNodeCryptoAccessTokenSigner } from "../../src/runtime/access-token-node.ts";

// Now: PyJWT checks `exp` against its own clock.
const NOW = Math.floor(Date.now() / 1000);
const ISSUER = "https://id.example.com";
const CLAIMS: AccessTokenClaims = {
  iss: ISSUER,
  aud: "docs-api",
  sub: "user-1",
  email: "zoë@example.com",
  tid: "tenant-1",
  scope: "docs:read",
  ver: 3,
  iat: NOW,
  exp: NOW + 3600,
  jti: "3b241101-e2bb-4255-8caf-4136c566a962",
};
const CHECK = { audience: "docs-api", issuer: ISSUER, now: NOW * 1000, skew: 30 };
const ALGS: AccessTokenAlg[] = ["RS256", "ES256", "EdDSA"];

interface Key {
  pem: string;
  publicPem: string;
}
const keys = {} as Record<AccessTokenAlg, Key>;

beforeAll(async () => {
  for (const alg of ALGS) {
    const pair = await generateAccessTokenKeyPair(alg);
    keys[alg] = { pem: pair.pkcs8Pem, publicPem: toPem(pair.spki, "PUBLIC KEY") };
  }
});

const ring = (alg: AccessTokenAlg, extra: Array<{ kid: string; publicKey: string }> = []) =>
  loadKeyRing({ activePrivateKeyPem: keys[alg].pem, activeKid: `k-${alg}`, extra });

function pyjwt(jwks: unknown, tokens: Array<{ token: string; audience: string }>) {
  const run = spawnSync("/usr/bin/python3", [join(import.meta.dirname, "verify_pyjwt.py")], {
    input: JSON.stringify({ jwks, issuer: ISSUER, tokens }),
    encoding: "utf8",
    timeout: 60_000,
  });
  if (run.status !== 0) throw new Error(`PyJWT verifier failed (${run.status}): ${run.stderr}`);
  return JSON.parse(run.stdout) as Array<{ alg?: string; kid?: string; claims?: unknown; error?: string }>;
}

describe.each(ALGS)("%s access tokens", (alg) => {
  let keyRing: KeyRing;
  beforeAll(async () => {
    keyRing = await ring(alg);
  });

  it("the key's type fixes the alg; the JWKS entry carries alg (and crv) and only public members", () => {
    expect(keyRing.activeAlg).toBe(alg);
    const [jwk] = keyRing.jwks.keys;
    const members = { RS256: ["e", "n"], ES256: ["crv", "x", "y"], EdDSA: ["crv", "x"] }[alg];
    expect(Object.keys(jwk ?? {}).sort()).toEqual(["alg", "kid", "kty", "use", ...members].sort());
    expect(jwk).toMatchObject({
      kid: `k-${alg}`,
      use: "sig",
      alg,
      kty: { RS256: "RSA", ES256: "EC", EdDSA: "OKP" }[alg],
      ...(alg === "ES256" ? { crv: "P-256" } : alg === "EdDSA" ? { crv: "Ed25519" } : {}),
    });
    expect(JSON.parse(keyRing.jwksBody)).toEqual(keyRing.jwks);
  });

  it("Web Crypto and node:crypto tokens verify with jose through the JWKS, with our verifier and with PyJWT", async () => {
    const web = await createWebCryptoAccessTokenSigner(keyRing).sign(CLAIMS, "at+jwt");
    const node = await createNodeCryptoAccessTokenSigner(keys[alg].pem, `k-${alg}`, alg).sign(
      CLAIMS,
      "at+jwt",
    );
    const jwks = createLocalJWKSet(keyRing.jwks);
    for (const token of [web, node]) {
      expect(decodeProtectedHeader(token)).toEqual({ alg, typ: "at+jwt", kid: `k-${alg}` });
      const { payload } = await jwtVerify(token, jwks, {
        issuer: ISSUER,
        audience: "docs-api",
        typ: "at+jwt",
        currentDate: new Date(NOW * 1000),
      });
      expect(payload).toEqual({ ...CLAIMS });
      expect(await verifyAccessTokenCrypto(keyRing, token, CHECK)).toEqual({ ...CLAIMS });
    }
    const verified = pyjwt(keyRing.jwks, [
      { token: web, audience: "docs-api" },
      { token: node, audience: "docs-api" },
    ]);
    expect(verified).toEqual([
      { alg, kid: `k-${alg}`, claims: { ...CLAIMS } },
      { alg, kid: `k-${alg}`, claims: { ...CLAIMS } },
    ]);
    // Same header and payload bytes; the signature has the JWS size (ES256: raw r‖s, not DER).
    expect(node.split(".").slice(0, 2)).toEqual(web.split(".").slice(0, 2));
    const sigBytes = Buffer.from(node.split(".")[2] as string, "base64url").length;
    expect(sigBytes).toBe({ RS256: 256, ES256: 64, EdDSA: 64 }[alg]);
    // RS256 and EdDSA are deterministic: byte for byte the same token.
    if (alg !== "ES256") expect(node).toBe(web);
  });

  it("a token whose header names another alg than its key's is refused (algorithm), whatever it carries", async () => {
    const token = await createWebCryptoAccessTokenSigner(keyRing).sign(CLAIMS);
    const [, p, s] = token.split(".");
    for (const other of ALGS.filter((a) => a !== alg)) {
      const h = Buffer.from(JSON.stringify({ alg: other, typ: "JWT", kid: `k-${alg}` })).toString(
        "base64url",
      );
      const e = await verifyAccessTokenCrypto(keyRing, `${h}.${p}.${s}`, CHECK).catch((x: unknown) => x);
      expect((e as { details?: { reason?: string } }).details?.reason).toBe("algorithm");
    }
  });
});

describe("rotation across algorithms (docs/spec/tokens.md §6.3)", () => {
  it("RS256 → ES256 → EdDSA: the next key is published before it signs; old tokens verify until retired", async () => {
    const pub = (alg: AccessTokenAlg) => ({ kid: `k-${alg}`, publicKey: keys[alg].publicPem });
    // Step 2: K2 (ES256) published beside the signing K1 (RS256).
    const step2 = await ring("RS256", [pub("ES256")]);
    expect(step2.jwks.keys.map((k) => [k.kid, k.alg])).toEqual([
      ["k-RS256", "RS256"],
      ["k-ES256", "ES256"],
    ]);
    // Step 3: K2 signs, K1 still published.
    const step3 = await ring("ES256", [pub("RS256")]);
    const before = await createWebCryptoAccessTokenSigner(step2).sign(CLAIMS);
    const after = await createWebCryptoAccessTokenSigner(step3).sign(CLAIMS);
    expect(decodeProtectedHeader(after).alg).toBe("ES256");
    // Mid-rollout every replica verifies both: an old replica (step 2) a new token, and the reverse.
    for (const r of [step2, step3]) {
      for (const token of [before, after]) {
        expect(await verifyAccessTokenCrypto(r, token, CHECK)).toMatchObject({ sub: "user-1" });
        await expect(
          jwtVerify(token, createLocalJWKSet(r.jwks), { issuer: ISSUER, currentDate: new Date(NOW * 1000) }),
        ).resolves.toBeDefined();
      }
    }
    expect(
      pyjwt(
        step3.jwks,
        [before, after].map((token) => ({ token, audience: "docs-api" })),
      ),
    ).toMatchObject([
      { alg: "RS256", kid: "k-RS256" },
      { alg: "ES256", kid: "k-ES256" },
    ]);
    // Step 4: K1 retired: its tokens are unknown_kid; K2's still verify. Then on to EdDSA the same way.
    const step4 = await ring("ES256", [pub("EdDSA")]);
    const retired = await verifyAccessTokenCrypto(step4, before, CHECK).catch((x: unknown) => x);
    expect((retired as { details?: { reason?: string } }).details?.reason).toBe("unknown_kid");
    expect(await verifyAccessTokenCrypto(step4, after, CHECK)).toMatchObject({ sub: "user-1" });
    const eddsa = await ring("EdDSA", [pub("ES256")]);
    const third = await createWebCryptoAccessTokenSigner(eddsa).sign(CLAIMS);
    for (const token of [after, third]) {
      expect(await verifyAccessTokenCrypto(step4, token, CHECK)).toMatchObject({ sub: "user-1" });
      expect(await verifyAccessTokenCrypto(eddsa, token, CHECK)).toMatchObject({ sub: "user-1" });
    }
  });

  it("refuses a key of no access-token type (EC P-384) when the key ring loads", async () => {
    const pem = generateKeyPairSync("ec", { namedCurve: "P-384" })
      .privateKey.export({ type: "pkcs8", format: "pem" })
      .toString();
    await expect(loadKeyRing({ activePrivateKeyPem: pem, activeKid: "p384" })).rejects.toThrow(
      /not an RSA, EC P-256 or Ed25519 private key/,
    );
  });
});
