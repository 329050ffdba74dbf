/**
 * Same-run baselines, executed by the runtime being measured (Bun, Node or Deno) — started by
 * test/bench/run.ts, never by the tests:
 *
 *   <runtime> test/bench/baseline.ts crypto --redis 127.0.0.1:6379 --seconds 1.5
 *       → one JSON line: raw RS256, ES256 and EdDSA signs/s (crypto.subtle, node:crypto), one password verify time
 *         with the server's own hasher, a Redis GET round trip through the server's KV engine, the
 *         server's SAML Response verification (P1–P4, §6.3 steps 2–11) of one Response of the ACS
 *         point per second, and raw RSA-SHA256 verifies/s.
 *   <runtime> test/bench/baseline.ts hello --port P [--reuse-port]
 *       → Hono hello-world served by the same runtime adapter the server uses.
 *   <runtime> test/bench/baseline.ts read --port P (--redis addr | --data-dir dir) [--reuse-port]
 *       → the "HTTP + one store read" model: GET /read?i=N answers the `users_v2` record of bench
 *         user N read with one `HGET` through the real KV engine.
 */
import { Buffer } from "node:buffer";
import { createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify } from "node:crypto";
import { readFileSync } from "node:fs";
import { Hono } from "hono";
import { BENCH_PASSWORD, benchUserId, seedPasswordHash } from "../../scripts/seed.ts";
import { generateAccessTokenKeyPair } from "../../src/crypto/keygen.ts";
import type { PasswordHashPolicy } from "../../src/crypto/password.ts";
import { silentLogger } from "../../src/logger.ts";
import type { RuntimeAdapter } from "../../src/runtime/adapter.ts";
import { keys } from "../../src/store/keys.ts";
import type { KV } from "../../src/store/kv.ts";
import { createRedisStore } from "../../src/store/redis.ts";
import { generateRsaPem } from "../support/keys.ts";

declare const Deno: { args: string[] } | undefined;

const argv: string[] = typeof Deno !== "undefined" ? Deno.args : process.argv.slice(2);
const mode = argv[0];
const opt = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};

async function loadAdapter(): Promise<RuntimeAdapter> {
  if (typeof Deno !== "undefined") return (await import("../../src/runtime/deno.ts")).denoAdapter;
  if (typeof Bun !== "undefined") return (await import("../../src/runtime/bun.ts")).bunAdapter;
  return (await import("../../src/runtime/node.ts")).nodeAdapter;
}

const POLICY: PasswordHashPolicy = {
  scheme: "argon2id",
  bcryptCost: 10,
  scrypt: { ln: 15, r: 8, p: 1 },
  argon2id: { m: 19_456, t: 2, p: 1 },
};

/** Operations per second of `op` run one at a time for `seconds` (after a short warm-up). */
async function rate(seconds: number, op: () => unknown): Promise<number> {
  const warm = performance.now();
  while (performance.now() - warm < 200) await op();
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < seconds * 1000) {
    await op();
    n++;
  }
  return n / ((performance.now() - start) / 1000);
}

async function openRedis(addr: string): Promise<KV> {
  const kv = createRedisStore({ addr, logger: silentLogger });
  for (let i = 0; ; i++) {
    try {
      await kv.ping();
      return kv;
    } catch (e) {
      if (i > 400) throw e;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

async function cryptoBaselines(): Promise<void> {
  const seconds = Number(opt("seconds") ?? "1.5");
  const pem = await generateRsaPem();
  const der = Uint8Array.from(atob(pem.replace(/-----[^-]+-----|\s/g, "")), (c) => c.charCodeAt(0));
  const subtleKey = await crypto.subtle.importKey(
    "pkcs8",
    der,
    { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const keyObject = createPrivateKey(pem);
  // A signing input of an access token's size (header + claims, ~420 bytes).
  const data = new TextEncoder().encode("e".repeat(420));
  const subtleSign = () => crypto.subtle.sign("RSASSA-PKCS1-v1_5", subtleKey, data);
  const out: Record<string, number> = {};
  out.subtleSignsPerSec = await rate(seconds, subtleSign);
  out.nodeCryptoSignsPerSec = await rate(seconds, () => nodeSign("sha256", data, keyObject));
  // 16 in flight: what the runtime's asynchronous WebCrypto reaches with its own threads.
  out.subtleSignsPerSec16 =
    16 * (await rate(seconds, () => Promise.all(Array.from({ length: 16 }, subtleSign))));
  Object.assign(out, await ecSignBaselines(seconds / 2, data));

  const adapter = await loadAdapter();
  const hasher = adapter.createPasswordHasher(POLICY);
  await hasher.warmUp();
  const stored = await seedPasswordHash(BENCH_PASSWORD);
  const times: number[] = [];
  for (let i = 0; i < 7; i++) {
    const t = performance.now();
    if (!(await hasher.verify(BENCH_PASSWORD, stored))) throw new Error("verify failed");
    times.push(performance.now() - t);
  }
  await hasher.close();
  times.sort((a, b) => a - b);
  out.passwordVerifyMs = times[3]!;

  Object.assign(out, await samlBaselines());

  const addr = opt("redis");
  if (addr) {
    const kv = await openRedis(addr);
    await kv.set("bench:get", "x".repeat(400));
    const rtts: number[] = [];
    for (let i = 0; i < 3000; i++) {
      const t = performance.now();
      await kv.get("bench:get");
      rtts.push((performance.now() - t) * 1000);
    }
    rtts.sort((a, b) => a - b);
    out.redisGetP50Us = rtts[Math.floor(rtts.length / 2)]!;
    out.redisGetP99Us = rtts[Math.floor(rtts.length * 0.99)]!;
    await kv.del("bench:get");
    await kv.close();
  }
  console.log(JSON.stringify(out));
  process.exit(0);
}

/**
 * Raw ES256 and EdDSA signs/s, one at a time, as the exchange points of those algorithms need them
 * (issue 14 item 3): Web Crypto on every runtime, node:crypto with a KeyObject (the signer of Bun and
 * Node, src/runtime/access-token-node.ts) where it exists. Keys from src/crypto/keygen.ts.
 */
async function ecSignBaselines(
  seconds: number,
  data: Uint8Array<ArrayBuffer>,
): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const alg of ["ES256", "EdDSA"] as const) {
    const pair = await generateAccessTokenKeyPair(alg);
    const params = alg === "ES256" ? { name: "ECDSA", namedCurve: "P-256" } : { name: "Ed25519" };
    const der = new Uint8Array(pair.pkcs8);
    const key = await crypto.subtle.importKey("pkcs8", der, params, false, ["sign"]);
    const signParams = alg === "ES256" ? { name: "ECDSA", hash: "SHA-256" } : { name: "Ed25519" };
    const tag = alg === "ES256" ? "es256" : "edDsa";
    out[`${tag}SubtleSignsPerSec`] = await rate(seconds, () => crypto.subtle.sign(signParams, key, data));
    if (typeof Deno === "undefined") {
      const keyObject = createPrivateKey(pair.pkcs8Pem);
      out[`${tag}NodeCryptoSignsPerSec`] = await rate(seconds, () =>
        alg === "ES256"
          ? nodeSign("sha256", data, { key: keyObject, dsaEncoding: "ieee-p1363" })
          : nodeSign(null, data, keyObject),
      );
    }
  }
  return out;
}

/**
 * The ACS point's model: what the server does with the message itself — `prepareSamlResponse`
 * (strict base64, pre-scan, the one parse, shape rules) and `validateSamlResponse` (both signatures
 * against the pinned certificate, issuer, audience, times, subject confirmation) — for one Response
 * the bench IdP signs exactly as for the load (test/bench/saml.ts), one at a time on this runtime.
 * Plus one raw RSA-SHA256 verify (2048-bit, SignedInfo-sized input) to show how little of it is RSA.
 */
async function samlBaselines(): Promise<Record<string, number>> {
  const saml = await import("./saml.ts");
  const { prepareSamlResponse, validateSamlResponse } = await import("../../src/saml/response.ts");
  const { configObjectSchema } = await import("../../src/config/schema.ts");
  const target = saml.benchAcsTarget("bench-0");
  const { xml } = new saml.BenchIdp().response({ ...target, email: "user0@bench.example", now: Date.now() });
  const posted = Buffer.from(xml).toString("base64");
  const certPem = readFileSync(saml.BENCH_IDP_CERT_FILE, "utf8");
  const context = {
    spEntityId: target.audience,
    acsUrl: target.acsUrl,
    requestId: null,
    idp: {
      entityId: saml.BENCH_IDP_ENTITY,
      signingCerts: [{ der: saml.certBase64(certPem), notAfter: "2100-01-01T00:00:00Z" }],
    },
    policy: configObjectSchema.shape.saml.parse({}).sp,
    decryptionKeys: [],
  };
  const verifyOnce = async () => {
    const prepared = prepareSamlResponse(posted);
    if (!prepared.ok) throw new Error(`SAML baseline: ${prepared.reason} ${prepared.detail ?? ""}`);
    const v = await validateSamlResponse(prepared.response, { ...context, now: Date.now() });
    if (!v.ok) throw new Error(`SAML baseline: ${v.reason} ${v.detail ?? ""}`);
  };
  // The JIT needs ~100 verifications before the rate settles (5–8 ms each until then). Then the
  // best of three 0.5 s windows: on a shared 2-core VM a single window swung ±40 % between runs,
  // and interference only ever slows a CPU-bound loop down.
  for (let i = 0; i < 100; i++) await verifyOnce();
  let samlVerifyPerSec = 0;
  for (let w = 0; w < 3; w++) samlVerifyPerSec = Math.max(samlVerifyPerSec, await rate(0.5, verifyOnce));

  const signedInfo = Buffer.from("s".repeat(700));
  const key = createPrivateKey(readFileSync(saml.BENCH_IDP_KEY_FILE, "utf8"));
  const signature = nodeSign("sha256", signedInfo, key);
  const publicKey = createPublicKey(certPem);
  const rsaVerifyPerSec = await rate(0.5, () => {
    if (!nodeVerify("sha256", signedInfo, publicKey, signature))
      throw new Error("RSA baseline: verify failed");
  });
  return { samlVerifyPerSec, rsaVerifyPerSec };
}

async function serveApp(app: Hono): Promise<void> {
  const adapter = await loadAdapter();
  const server = await adapter.serve({
    fetch: (req) => app.fetch(req),
    hostname: "127.0.0.1",
    port: Number(opt("port")),
    reusePort: argv.includes("--reuse-port"),
    headersTimeoutSeconds: 10,
    requestTimeoutSeconds: 30,
    keepAliveTimeoutSeconds: 60,
    maxHeaderBytes: 16_384,
  });
  process.on("SIGTERM", () => {
    void server.stop(500).then(() => process.exit(0));
  });
  console.log("ready");
}

async function main(): Promise<void> {
  if (mode === "crypto") return cryptoBaselines();
  if (mode === "hello") {
    const app = new Hono();
    app.get("/", (c) => c.text("Hello Hono!"));
    return serveApp(app);
  }
  if (mode === "read") {
    let kv: KV;
    const redis = opt("redis");
    if (redis) kv = await openRedis(redis);
    else {
      const adapter = await loadAdapter();
      const { openEmbeddedStore } = await import("../../src/runtime/embedded-open.ts");
      kv = await openEmbeddedStore({
        dataDir: opt("data-dir")!,
        logger: silentLogger,
        openSqlite: adapter.openSqlite,
      });
    }
    const users = keys.users();
    const app = new Hono();
    app.get("/read", async (c) => {
      const text = await kv.hget(users, benchUserId(Number(c.req.query("i"))));
      return text === null ? c.json({ error: "not found" }, 404) : c.json({ user: text });
    });
    return serveApp(app);
  }
  throw new Error(`unknown mode ${mode}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
