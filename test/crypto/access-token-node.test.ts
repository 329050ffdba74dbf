/**
 * The node:crypto access-token signer (src/runtime/access-token-node.ts) is a drop-in for the Web
 * Crypto one: RS256 (PKCS#1 v1.5) is deterministic, so the same key and claims must give the same
 * token, byte for byte — on Node (this process) and on Bun (a child process), where it is used.
 */
import { spawnSync } from "node:child_process";
import { createPrivateKey } from "node:crypto";
import { join } from "node:path";
import { createLocalJWKSet, jwtVerify } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error plain ESM helper without types
import { runtimeBinary } from "../../scripts/rt.mjs";
import {
  type AccessTokenCheck,
  type AccessTokenClaims,
  createWebCryptoAccessTokenSigner,
  verifyAccessTokenCrypto,
} from "../../src/crypto/access-token.ts";
import { generateAccessTokenKeyPair } from "../../src/crypto/keygen.ts";
import { type KeyRing, loadKeyRing } from "../../src/crypto/keyring.ts";
import {
  createNodeCryptoAccessTokenSigner,
  runtimeAccessTokenSigner,
} from "../../src/runtime/access-token-node.ts";
import { generateRsaPem } from "../support/keys.ts";
import { repoRoot } from "../support/tikti-process.ts";

const NOW = 1_750_000_000;
const ISSUER = "https://id.example.com";
const KID = "kid-active";

const BASE: AccessTokenClaims = {
  iss: ISSUER,
  aud: "codeq-worker",
  sub: "user-1",
  email: "a@x.com",
  tid: "tenant-1",
  ver: 0,
  iat: NOW,
  exp: NOW + 3600,
  jti: "3b241101-e2bb-4255-8caf-4136c566a962",
};

/** Claim sets covering every optional claim and non-ASCII text. */
const CASES: [string, AccessTokenClaims][] = [
  ["minimal", BASE],
  [
    "scope and event types",
    { ...BASE, scope: "codeq:claim codeq:result", eventTypes: ["render_video", "a/b"] },
  ],
  ["delegation (act)", { ...BASE, sub: "someone-else", act: { sub: "user-1" }, ver: 42 }],
  ["non-ASCII email and tenant", { ...BASE, email: "zoë.ŝ@exämple.com", tid: "tënant-€-😀" }],
  ["empty scope and event types left out", { ...BASE, scope: "", eventTypes: [] }],
];

let pem: string;
let keyRing: KeyRing;

beforeAll(async () => {
  pem = await generateRsaPem();
  keyRing = await loadKeyRing({ activePrivateKeyPem: pem, activeKid: KID });
});

describe("node:crypto access-token signer", () => {
  it.each(CASES)("signs byte-identical tokens to the Web Crypto signer: %s", async (_name, claims) => {
    const web = await createWebCryptoAccessTokenSigner(keyRing).sign(claims);
    const node = await createNodeCryptoAccessTokenSigner(pem, KID).sign(claims);
    expect(node).toBe(web);
  });

  it("accepts the key as PKCS#1 (BEGIN RSA PRIVATE KEY) with the same result", async () => {
    const pkcs1 = createPrivateKey(pem).export({ type: "pkcs1", format: "pem" }).toString();
    expect(pkcs1).toContain("BEGIN RSA PRIVATE KEY");
    const claims = CASES[1]![1];
    expect(await createNodeCryptoAccessTokenSigner(pkcs1, KID).sign(claims)).toBe(
      await createWebCryptoAccessTokenSigner(keyRing).sign(claims),
    );
  });

  it("produces tokens that the verifier accepts with the published key", async () => {
    const token = await createNodeCryptoAccessTokenSigner(pem, KID).sign(CASES[2]![1]);
    const check: AccessTokenCheck = { audience: "codeq-worker", issuer: ISSUER, now: NOW * 1000, skew: 30 };
    const claims = await verifyAccessTokenCrypto(keyRing, token, check);
    expect(claims).toMatchObject({ sub: "someone-else", act: { sub: "user-1" }, ver: 42 });
    expect(JSON.parse(Buffer.from(token.split(".")[0]!, "base64url").toString())).toEqual({
      alg: "RS256",
      typ: "JWT",
      kid: KID,
    });
  });

  it("is the signer of Bun and Node; Deno keeps Web Crypto", () => {
    expect(runtimeAccessTokenSigner("node", pem, KID)).toBeDefined();
    expect(runtimeAccessTokenSigner("bun", pem, KID)).toBeDefined();
    expect(runtimeAccessTokenSigner("deno", pem, KID)).toBeUndefined();
  });

  it("signs the same bytes on Bun as the Web Crypto signer on Node", async () => {
    const claims = CASES[3]![1];
    const script = `
      import { createNodeCryptoAccessTokenSigner } from ${JSON.stringify(join(repoRoot, "src/runtime/access-token-node.ts"))};
      const [pem, kid, claims] = JSON.parse(await Bun.stdin.text());
      process.stdout.write(await createNodeCryptoAccessTokenSigner(pem, kid).sign(claims));
    `;
    const r = spawnSync(runtimeBinary("bun") as string, ["-e", script], {
      input: JSON.stringify([pem, KID, claims]),
      encoding: "utf8",
      cwd: repoRoot,
    });
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(await createWebCryptoAccessTokenSigner(keyRing).sign(claims));
  });
});

describe("node:crypto signer with ES256 and EdDSA keys (docs/spec/tokens.md §1)", () => {
  it("on Bun: EdDSA byte-identical to Web Crypto on Node; ES256 raw r‖s that our verifier and jose accept", async () => {
    const claims = CASES[3]![1];
    const script = `
      import { createNodeCryptoAccessTokenSigner } from ${JSON.stringify(join(repoRoot, "src/runtime/access-token-node.ts"))};
      const jobs = JSON.parse(await Bun.stdin.text());
      const out = [];
      for (const [pem, kid, alg, claims] of jobs) out.push(await createNodeCryptoAccessTokenSigner(pem, kid, alg).sign(claims, "at+jwt"));
      process.stdout.write(JSON.stringify(out));
    `;
    const rings = {} as Record<"ES256" | "EdDSA", { pem: string; ring: KeyRing }>;
    for (const alg of ["ES256", "EdDSA"] as const) {
      const pemOf = (await generateAccessTokenKeyPair(alg)).pkcs8Pem;
      rings[alg] = {
        pem: pemOf,
        ring: await loadKeyRing({ activePrivateKeyPem: pemOf, activeKid: `k-${alg}` }),
      };
    }
    const r = spawnSync(runtimeBinary("bun") as string, ["-e", script], {
      input: JSON.stringify(
        (["ES256", "EdDSA"] as const).map((alg) => [rings[alg].pem, `k-${alg}`, alg, claims]),
      ),
      encoding: "utf8",
      cwd: repoRoot,
    });
    expect(r.stderr).toBe("");
    const [es256, eddsa] = JSON.parse(r.stdout) as [string, string];
    expect(eddsa).toBe(await createWebCryptoAccessTokenSigner(rings.EdDSA.ring).sign(claims, "at+jwt"));
    expect(Buffer.from(es256.split(".")[2]!, "base64url")).toHaveLength(64);
    const check: AccessTokenCheck = { audience: "codeq-worker", issuer: ISSUER, now: NOW * 1000, skew: 30 };
    for (const [alg, token] of [
      ["ES256", es256],
      ["EdDSA", eddsa],
    ] as const) {
      expect(await verifyAccessTokenCrypto(rings[alg].ring, token, check)).toMatchObject({ tid: claims.tid });
      await expect(
        jwtVerify(token, createLocalJWKSet(rings[alg].ring.jwks), { currentDate: new Date(NOW * 1000) }),
      ).resolves.toBeDefined();
    }
  });

  it("refuses a key of another type than the algorithm it is asked for", () => {
    expect(() => createNodeCryptoAccessTokenSigner(pem, KID, "ES256")).toThrow(
      /ES256 needs another key type/,
    );
  });
});
