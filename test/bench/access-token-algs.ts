/**
 * What the access-token algorithm costs (issue 14 item 3; docs/oauth.md, "Signing algorithms"): per
 * algorithm, signs/s with Tikti's own signers and verifies/s as a resource server does it — jose's
 * `jwtVerify` through a local JWKS (Web Crypto) and a raw `crypto.subtle.verify` — on the runtime
 * that runs this script, one thread, for `--seconds` each (default 1.5):
 *
 *   node scripts/rt.mjs node|bun test/bench/access-token-algs.ts [--seconds 1.5]
 *   node scripts/rt.mjs deno run -A test/bench/access-token-algs.ts
 *
 * Prints one JSON line per algorithm and a Markdown table. Not part of `npm run bench`.
 */
import { createLocalJWKSet, jwtVerify } from "jose";
import {
  type AccessTokenClaims,
  createWebCryptoAccessTokenSigner,
  verifyAccessTokenCrypto,
} from "../../src/crypto/access-token.ts";
import { ACCESS_TOKEN_ALGS } from "../../src/crypto/jws.ts";
import { generateAccessTokenKeyPair } from "../../src/crypto/keygen.ts";
import { loadKeyRing } from "../../src/crypto/keyring.ts";

declare const Deno: { args: string[] } | undefined;
declare const Bun: unknown;
const argv: string[] = typeof Deno !== "undefined" ? Deno.args : process.argv.slice(2);
const at = argv.indexOf("--seconds");
const SECONDS = at >= 0 ? Number(argv[at + 1]) : 1.5;
const runtime = typeof Deno !== "undefined" ? "deno" : typeof Bun !== "undefined" ? "bun" : "node";

/** Operations per second of `op`, run back to back for SECONDS after a short warm-up. */
async function rate(op: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 50; i++) await op();
  const end = performance.now() + SECONDS * 1000;
  let n = 0;
  const start = performance.now();
  while (performance.now() < end) {
    for (let i = 0; i < 20; i++) await op();
    n += 20;
  }
  return n / ((performance.now() - start) / 1000);
}

const now = Math.floor(Date.now() / 1000);
const claims: AccessTokenClaims = {
  iss: "https://id.example.com",
  aud: "docs-api",
  sub: "user-1",
  email: "alice@example.com",
  tid: "tenant-1",
  scope: "docs:read docs:list",
  ver: 0,
  iat: now,
  exp: now + 3600,
  jti: crypto.randomUUID(),
};

const rows: Array<Record<string, number | string>> = [];
for (const alg of ACCESS_TOKEN_ALGS) {
  const pair = await generateAccessTokenKeyPair(alg);
  const ring = await loadKeyRing({ activePrivateKeyPem: pair.pkcs8Pem, activeKid: "k" });
  const signer = createWebCryptoAccessTokenSigner(ring);
  let nodeSigner: typeof signer | undefined;
  let nodeVerify: (() => Promise<boolean>) | undefined;
  const token = await signer.sign(claims, "at+jwt");
  if (runtime !== "deno") {
    const { createNodeCryptoAccessTokenSigner } = await import("../../src/runtime/access-token-node.ts");
    nodeSigner = createNodeCryptoAccessTokenSigner(pair.pkcs8Pem, "k", alg);
    // The raw primitive a resource server on node:crypto runs (no JOSE library around it).
    const nc = await import("node:crypto");
    const key = nc.createPublicKey({ key: Buffer.from(pair.spki), format: "der", type: "spki" });
    const dot = token.lastIndexOf(".");
    const input = Buffer.from(token.slice(0, dot), "latin1");
    const sig = Buffer.from(token.slice(dot + 1), "base64url");
    nodeVerify = async () =>
      alg === "EdDSA"
        ? nc.verify(null, input, key, sig)
        : alg === "ES256"
          ? nc.verify("sha256", input, { key, dsaEncoding: "ieee-p1363" }, sig)
          : nc.verify("sha256", input, key, sig);
    if (!(await nodeVerify())) throw new Error(`${alg}: node:crypto does not verify the token`);
  }
  const jwks = createLocalJWKSet(ring.jwks);
  const check = { audience: "docs-api", issuer: claims.iss, now: Date.now(), skew: 30 };
  const row = {
    runtime,
    alg,
    signWebCryptoPerSec: Math.round(await rate(() => signer.sign(claims, "at+jwt"))),
    signNodeCryptoPerSec: nodeSigner
      ? Math.round(await rate(() => (nodeSigner as typeof signer).sign(claims)))
      : 0,
    verifyJosePerSec: Math.round(
      await rate(() => jwtVerify(token, jwks, { issuer: claims.iss, audience: "docs-api" })),
    ),
    verifyTiktiPerSec: Math.round(await rate(() => verifyAccessTokenCrypto(ring, token, check))),
    verifyNodeCryptoPerSec: nodeVerify ? Math.round(await rate(nodeVerify)) : 0,
    tokenBytes: token.length,
  };
  rows.push(row);
  console.log(JSON.stringify(row));
}
const rs = rows[0] as Record<string, number>;
console.log(
  `\n| ${runtime} | sign/s (Web Crypto) | sign/s (node:crypto) | verify/s (jose + JWKS) | verify/s (raw node:crypto) | raw verify vs RS256 | token bytes |`,
);
console.log("|---|---|---|---|---|---|---|");
for (const r of rows) {
  const ratio = rs.verifyNodeCryptoPerSec
    ? `${(Number(r.verifyNodeCryptoPerSec) / rs.verifyNodeCryptoPerSec).toFixed(2)}×`
    : "–";
  console.log(
    `| ${r.alg} | ${r.signWebCryptoPerSec} | ${r.signNodeCryptoPerSec || "–"} | ${r.verifyJosePerSec} | ${r.verifyNodeCryptoPerSec || "–"} | ${ratio} | ${r.tokenBytes} |`,
  );
}
