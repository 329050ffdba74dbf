/**
 * `npm run bench` (issue 8): the benchmark with same-run baselines. For each runtime (Bun, Node,
 * Deno) it measures the baselines (raw RS256 signs/s, one password verify, a Redis GET round trip,
 * Hono hello-world and "HTTP + one store read" servers), then the real server on a Redis it starts
 * and on the embedded store: JWKS, lookup, token exchange, signIn and the SAML ACS (unsolicited,
 * test/bench/saml.ts), each as req/s and p50/p99, and the ratio to its baseline. Then the scale
 * run: N users seeded in bulk (scripts/seed.ts) into Redis and into the embedded store, bytes per
 * user, lookup/exchange at that size. Writes
 * docs/benchmarks.json and docs/benchmarks.md (test/bench/report.ts).
 *
 * Bounded: every load point is `BENCH_SECONDS` (default 4) on loopback with wrk; the whole run fits
 * in 10 minutes on a 2-core machine. Environment knobs (defaults in brackets):
 *   BENCH_SECONDS [4]  BENCH_RUNTIMES [bun,node,deno]  BENCH_USERS [10000]
 *   BENCH_SCALE_USERS [300000] (0 skips the scale run; 10 M is `npm run bench:10m`)  BENCH_SCALE_RUNTIME [bun]
 *   BENCH_OUT [docs]  (where benchmarks.json/.md go)
 *   BENCH_ACS_SECONDS [3] (upper bound of each ACS point)  BENCH_ACS_BODIES [1500] (signed Responses
 *   for the closed-loop ACS point; it ends early when they run out)
 *
 * `npm run bench -- --only acs[,exchange,...]` runs only those groups (models, jwks, lookup,
 * exchange, oauth, signin, acs, scale) to iterate on one of them; the crypto baselines always run. Its
 * report goes to $TMPDIR/tikti-bench-only unless BENCH_OUT is set, never over docs/.
 * `npm run bench -- --render` rewrites benchmarks.md from benchmarks.json (after editing notes.md).
 * `npm run bench:10m` (`--scale-run`, issue 14 item 4) is the scale run alone at BENCH_SCALE_USERS
 * [10000000] users: it writes docs/benchmarks-10m.json (BENCH_SCALE_JSON; a run at another size goes
 * to $TMPDIR unless that is set), which every render of benchmarks.md includes as it stands. It needs
 * ~13 GB free memory for Redis and ~11 GB of disk in $TMPDIR for the embedded store. To iterate on
 * one store: BENCH_SCALE_STORES [redis,embedded]; BENCH_SCALE_DATA_DIR keeps the embedded store in that
 * directory (seeded when it has no tikti.db, reused as it is when it has one).
 * `npm run bench -- --profile` (issue 14 item 1) records a CPU profile of the server under load on
 * JWKS, lookup and exchange, one route at a time, on each runtime (Redis, pinned like the bench),
 * and writes them as text to test/bench/profiles/<runtime>-<route>.txt (test/bench/cpuprofile.ts).
 * Its knobs: BENCH_PROFILE_ROUTES [jwks,lookup,exchange] (also `oauth-cc`: `/oauth/token` client
 * credentials), BENCH_PROFILE_STORE [redis] (`embedded`: a seeded embedded store, files named
 * `<runtime>-<route>-embedded.txt`), BENCH_PROFILE_SECONDS [8].
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, tmpdir, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { createClient } from "redis";
import {
  BENCH_CLIENT,
  BENCH_OAUTH_CLIENT,
  BENCH_OAUTH_SECRET,
  BENCH_PASSWORD,
  benchEmail,
  benchTenant,
  benchUserId,
  type SeedPlan,
  seedPasswordHash,
  seedTenants,
  seedUsersEmbedded,
  seedUsersRedis,
} from "../../scripts/seed.ts";
import { configObjectSchema } from "../../src/config/schema.ts";
import { createIdTokenSigner } from "../../src/crypto/id-token.ts";
import { generateAccessTokenKeyPair } from "../../src/crypto/keygen.ts";
import { silentLogger } from "../../src/logger.ts";
import { openEmbeddedStore } from "../../src/runtime/embedded-open.ts";
import { openSqlite } from "../../src/runtime/sqlite-node.ts";
import type { SqliteDb } from "../../src/store/sqlite.ts";
import { generateRsaPem, randomSecret } from "../support/keys.ts";
import { freePort } from "../support/ports.ts";
import { startRedis } from "../support/redis-server.ts";
import { type ByteRow, redisBytesByKey, sqliteBytesByTable } from "./bytes.ts";
import { type CpuProfile, renderSummary, summarise } from "./cpuprofile.ts";
import { startInspectorProfile } from "./inspector.ts";
import { PIN, pinPid } from "./pin.ts";
import {
  BENCH_RATE_LIMITS,
  type BenchRuntime,
  bin,
  type Proc,
  runCryptoBaselines,
  startBaseline,
  startPeer,
  startServer,
} from "./procs.ts";
import {
  type BenchReport,
  type RuntimeReport,
  renderMarkdown,
  type ScaleReport,
  type StoreReport,
} from "./report.ts";
import {
  BENCH_ISSUER,
  BENCH_SP_CERT_FILE,
  BENCH_SP_KEY_FILE,
  BenchIdp,
  benchAcsTarget,
  benchIdpMetadataXml,
} from "./saml.ts";
import { ensureWrk, type LoadResult, type LoadSpec, runLoad, runOnce, wrkVersion } from "./wrk.ts";

const root = resolve(import.meta.dirname, "../..");
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const RUNTIMES = (process.env.BENCH_RUNTIMES ?? "bun,node,deno").split(",").filter(Boolean) as BenchRuntime[];
const USERS = Number(process.env.BENCH_USERS ?? 10_000);
// 300 k, not 1 M: the regular run must stay under 10 minutes (issue 14) and seeding is linear (1 M took 92 s
// of a 637-s run); bytes per user hold within 2 % from 100 k to 10 M, and 10 M has its own run (bench:10m).
const SCALE_USERS = Number(process.env.BENCH_SCALE_USERS ?? 300_000);
const SCALE_RUNTIME = (process.env.BENCH_SCALE_RUNTIME ?? "bun") as BenchRuntime;
const SCALE_RUN = process.argv.includes("--scale-run");
const SCALE_RUN_USERS = Number(process.env.BENCH_SCALE_USERS ?? 10_000_000);
const SCALE_STORES = (process.env.BENCH_SCALE_STORES ?? "redis,embedded").split(",");
const SCALE_DATA_DIR = process.env.BENCH_SCALE_DATA_DIR;
/** The separate scale run's report: rendered into every benchmarks.md, never written by the regular run. */
const SCALE_JSON_DOCS = join(root, "docs", "benchmarks-10m.json");
const SCALE_JSON = resolve(
  root,
  process.env.BENCH_SCALE_JSON ??
    (SCALE_RUN_USERS === 10_000_000
      ? SCALE_JSON_DOCS
      : join(tmpdir(), `tikti-bench-scale-${SCALE_RUN_USERS}.json`)),
);
const GROUPS = ["models", "jwks", "lookup", "exchange", "oauth", "peer", "signin", "acs", "scale"] as const;
type Group = (typeof GROUPS)[number];
const ONLY = parseOnly(process.argv.slice(2));
const want = (group: Group) => ONLY === null || ONLY.has(group);
const OUT = resolve(
  root,
  process.env.BENCH_OUT ?? (ONLY === null ? "docs" : join(tmpdir(), "tikti-bench-only")),
);
const TENANTS = 10;
const TOKENS = 2000;
const CORES = availableParallelism();
/**
 * Fixed issuer: tokens minted once are valid on every server of the run, whatever its port; so are
 * the signed SAML Responses (Destination, Recipient and Audience derive from it).
 */
const ISSUER = BENCH_ISSUER;
const MAX_CONNECTIONS = 32;
const HALF_CONNECTIONS = 4;
/** SAML ACS (issue 8, docs/spec/operations.md §8): upper bound per point, the SLO's rate, its connections. */
const ACS_SECONDS = Number(process.env.BENCH_ACS_SECONDS ?? 3);
const ACS_BODIES = Number(process.env.BENCH_ACS_BODIES ?? 1500);
const ACS_RATE = 50;
const ACS_RATE_CONNECTIONS = 8;
/** The tenant whose IdP record allows unsolicited Responses, and how many of its users log in. */
const ACS_TENANT = benchTenant(0, TENANTS);
const ACS_USERS = 100;
const FORM = "application/x-www-form-urlencoded";

function parseOnly(argv: string[]): Set<Group> | null {
  const i = argv.findIndex((a) => a === "--only" || a.startsWith("--only="));
  if (i < 0) return null;
  const value = argv[i]!.startsWith("--only=") ? argv[i]!.slice("--only=".length) : (argv[i + 1] ?? "");
  const names = value.split(",").filter(Boolean);
  const unknown = names.filter((n) => !(GROUPS as readonly string[]).includes(n));
  if (names.length === 0 || unknown.length > 0) {
    throw new Error(`bench: --only takes a comma-separated list of ${GROUPS.join(", ")} (got "${value}")`);
  }
  return new Set(names as Group[]);
}

const started = Date.now();
const log = (msg: string) => console.error(`[bench ${((Date.now() - started) / 1000).toFixed(0)}s] ${msg}`);
/** Whether this checkout has the `workers` key (multi-core serving). */
const HAS_WORKERS = "workers" in configObjectSchema.shape;

function workersFor(runtime: BenchRuntime, store: "redis" | "embedded"): number {
  if (!HAS_WORKERS || store === "embedded" || runtime === "deno") return 1;
  return PIN ? PIN.serverCores : CORES;
}

interface Secrets {
  jwtSecret: string;
  apiKey: string;
  pem: string;
  /** Access-token keys of the ES256 and EdDSA exchange points (PKCS#8 PEM). */
  ecPems: Record<EcAlg, string>;
}

/** The access-token algorithms beside RS256 measured by the exchange points (issue 14 item 3). */
const EC_ALGS = ["ES256", "EdDSA"] as const;
type EcAlg = (typeof EC_ALGS)[number];

function serverConfig(
  secrets: Secrets,
  port: number,
  dataDir: string,
  store: { redisAddr: string } | null,
  workers: number,
  saml: SamlFiles | null,
): Record<string, unknown> & { port: number } {
  return {
    devMode: true,
    bindAddress: "127.0.0.1",
    port,
    issuerBaseUrl: ISSUER,
    dataDir,
    jwtSecret: secrets.jwtSecret,
    apiKey: secrets.apiKey,
    jwksPrivateKey: secrets.pem,
    jwksKeyId: "bench-key-1",
    rateLimits: BENCH_RATE_LIMITS,
    http: { shutdownDelaySeconds: 0, shutdownGraceSeconds: 5 },
    logging: { level: "info" },
    ...(store ?? {}),
    ...(HAS_WORKERS ? { workers } : {}),
    // SP URLs default to `${issuerBaseUrl}/saml[/acs]` (fixed ISSUER: the signed Responses name them).
    ...(saml
      ? {
          saml: {
            enabled: true,
            sp: {
              signingKeyPath: saml.spKey,
              signingCertPath: saml.spCert,
              nextSigningKeyPath: join(saml.dir, "absent-sp-next.key"),
              nextSigningCertPath: join(saml.dir, "absent-sp-next.crt"),
            },
          },
        }
      : {}),
  };
}

/** SP key files of the bench server (the TEST-ONLY fixture pair, copied with mode 0600). */
interface SamlFiles {
  dir: string;
  spKey: string;
  spCert: string;
}

function writeSamlFiles(dir: string): SamlFiles {
  const spKey = join(dir, "sp.key");
  const spCert = join(dir, "sp.crt");
  writeFileSync(spKey, readFileSync(BENCH_SP_KEY_FILE), { mode: 0o600 });
  writeFileSync(spCert, readFileSync(BENCH_SP_CERT_FILE));
  return { dir, spKey, spCert };
}

/** Bodies files of the ACS points of one runtime (one signed Response per line, each used once). */
interface AcsFiles {
  saml: SamlFiles;
  /** Every ACS user once (its first SAML login links the seeded member, §8.3), then once more. */
  warm: string;
  max: string;
  rate: string;
}

/** Users of tenant ACS_TENANT (`i mod TENANTS = 0`) who log in through the bench IdP. */
const acsUser = (k: number) => (k % ACS_USERS) * TENANTS;

/**
 * Signs the Responses of one runtime's ACS points (both stores: their replay caches are separate)
 * right before its points: IssueInstant must stay within `requestTTLSeconds` + skew (7 min by
 * default) of the post (docs/spec/saml.md §6.6), and the Redis replay cache is shared by the runtimes.
 */
function writeAcsFiles(dir: string, tag: string, saml: SamlFiles): AcsFiles {
  const t0 = performance.now();
  const idp = new BenchIdp();
  const now = Date.now();
  const target = { ...benchAcsTarget(ACS_TENANT), now };
  let k = 0;
  let signed = 0;
  const file = (name: string, count: number) => {
    const path = join(dir, `${tag}-acs-${name}.txt`);
    const lines = Array.from({ length: count }, () =>
      idp.formBody({ ...target, email: benchEmail(acsUser(k++)) }),
    );
    signed += count;
    writeFileSync(path, `${lines.join("\n")}\n`);
    return path;
  };
  // Line 1 of each file is used up by wrk's start-up check (test/bench/acs.lua).
  const files = {
    saml,
    warm: file("warm", 1 + 2 * ACS_USERS),
    max: file("max", 1 + ACS_BODIES),
    rate: file("rate", 1 + Math.ceil(ACS_RATE * ACS_SECONDS * 1.2)),
  };
  log(`  signed ${signed} SAML Responses in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return files;
}

/** Request files for wrk: bodies of lookup, exchange and signIn for `count` users out of `users`. */
async function writeRequestFiles(dir: string, secrets: Secrets, users: number, tag: string) {
  const signer = await createIdTokenSigner({
    jwtSecret: secrets.jwtSecret,
    issuerBaseUrl: ISSUER,
    defaultAudience: "tikti",
    idTokenTtlSeconds: 3600,
    clockSkewSeconds: 30,
  });
  const picks = Array.from({ length: Math.min(TOKENS, users) }, (_, k) =>
    users <= TOKENS ? k : Math.floor(Math.random() * users),
  );
  const tokens = await Promise.all(
    picks.map(async (i) => {
      const { token } = await signer.sign({
        sub: benchUserId(i),
        email: benchEmail(i),
        role: "COMPANY_EMPLOYEE",
        tid: benchTenant(i, TENANTS),
        amr: "pwd",
        ver: 0,
      });
      return token;
    }),
  );
  const file = (name: string, lines: string[]) => {
    const path = join(dir, `${tag}-${name}.txt`);
    writeFileSync(path, `${lines.join("\n")}\n`);
    return path;
  };
  return {
    lookup: file(
      "lookup",
      tokens.map((t) => JSON.stringify({ idToken: t })),
    ),
    exchange: file(
      "exchange",
      tokens.map((t) => JSON.stringify({ idToken: t, audience: BENCH_CLIENT })),
    ),
    // `/oauth/token` bodies (client_secret_post: the credentials travel in each body, so one file
    // serves every tenant's client). The exchange needs the user's own tenant's client.
    oauthClientCredentials: file(
      "oauth-cc",
      Array.from({ length: TENANTS }, (_, k) =>
        new URLSearchParams({
          grant_type: "client_credentials",
          audience: BENCH_CLIENT,
          client_id: `${benchTenant(k, TENANTS)}/${BENCH_OAUTH_CLIENT}`,
          client_secret: BENCH_OAUTH_SECRET,
        }).toString(),
      ),
    ),
    oauthExchange: file(
      "oauth-exchange",
      tokens.map((t, k) =>
        new URLSearchParams({
          grant_type: "urn:ietf:params:oauth:grant-type:token-exchange",
          subject_token: t,
          subject_token_type: "urn:ietf:params:oauth:token-type:id_token",
          audience: BENCH_CLIENT,
          client_id: `${benchTenant(picks[k] as number, TENANTS)}/${BENCH_OAUTH_CLIENT}`,
          client_secret: BENCH_OAUTH_SECRET,
        }).toString(),
      ),
    ),
    signIn: file(
      "signin",
      picks.map((i) => JSON.stringify({ email: benchEmail(i), password: BENCH_PASSWORD })),
    ),
    read: file(
      "read",
      picks.map((i) => `/read?i=${i}`),
    ),
  };
}

type Files = Awaited<ReturnType<typeof writeRequestFiles>>;

async function point(label: string, spec: LoadSpec | (() => Promise<LoadResult>)): Promise<LoadResult> {
  const r = await (typeof spec === "function" ? spec() : runLoad(spec));
  log(
    `  ${label}: ${r.rps.toFixed(0)} req/s p50 ${r.p50Ms.toFixed(2)} ms p99 ${r.p99Ms.toFixed(2)} ms` +
      (r.exhausted
        ? ` (bodies ran out: ${r.requests} answers in ${(r.requests / r.rps).toFixed(1)} s)`
        : "") +
      (r.errors ? ` ERRORS ${r.errors}` : ""),
  );
  return r;
}

/** The server's points on one store. `acs`: SAML on, with the ACS points (full runs only). */
async function measureServer(
  runtime: BenchRuntime,
  dir: string,
  secrets: Secrets,
  files: Files,
  store: { redisAddr: string } | null,
  dataDir: string,
  workers: number,
  full: boolean,
  acs: AcsFiles | null = null,
): Promise<Omit<StoreReport, "hello" | "read" | "workers">> {
  const port = await freePort();
  const server = await startServer(
    runtime,
    dir,
    `server-${runtime}-${store ? "redis" : "embedded"}`,
    serverConfig(secrets, port, dataDir, store, workers, acs?.saml ?? null),
  );
  const base = `http://127.0.0.1:${port}`;
  const apiKey = secrets.apiKey;
  const out: Omit<StoreReport, "hello" | "read" | "workers"> = {};
  try {
    const lookup = {
      url: `${base}/accounts/lookup`,
      method: "POST" as const,
      requestsFile: files.lookup,
      apiKey,
    };
    const exchange = {
      url: `${base}/accounts/token/exchange`,
      method: "POST" as const,
      requestsFile: files.exchange,
      apiKey,
    };
    const signIn = { url: `${base}/accounts/signIn`, method: "POST" as const, requestsFile: files.signIn };
    const jwks = { url: `${base}/.well-known/jwks.json`, method: "GET" as const };
    const doJwks = full && want("jwks");
    const doLookup = !full || want("lookup");
    const doExchange = !full || want("exchange");
    const doOAuth = full && want("oauth");
    const form = "application/x-www-form-urlencoded";
    const oauthCc = {
      url: `${base}/oauth/token`,
      method: "POST" as const,
      requestsFile: files.oauthClientCredentials,
      contentType: form,
    };
    const oauthExchange = {
      url: `${base}/oauth/token`,
      method: "POST" as const,
      requestsFile: files.oauthExchange,
      contentType: form,
    };
    // Warm-up (JIT, connections): not recorded. signIn is warmed up later: its queued hashes
    // would still be running during the next points.
    for (const [spec, on] of [
      [jwks, doJwks],
      [lookup, doLookup],
      [exchange, doExchange],
      [oauthCc, doOAuth],
      [oauthExchange, doOAuth],
    ] as const) {
      if (on) await runLoad({ ...spec, connections: 8, seconds: 1 });
    }
    if (doJwks) out.jwks = await point("jwks", { ...jwks, connections: MAX_CONNECTIONS, seconds: SECONDS });
    if (doLookup) {
      out.lookupUnloaded = await point("lookup unloaded", { ...lookup, connections: 1, seconds: SECONDS });
      out.lookup = await point("lookup", { ...lookup, connections: MAX_CONNECTIONS, seconds: SECONDS });
    }
    if (doExchange) {
      out.exchangeUnloaded = await point("exchange unloaded", {
        ...exchange,
        connections: 1,
        seconds: SECONDS,
      });
      out.exchange = await point("exchange", { ...exchange, connections: MAX_CONNECTIONS, seconds: SECONDS });
    }
    if (doOAuth) {
      out.oauthClientCredentials = await point("oauth client_credentials", {
        ...oauthCc,
        connections: MAX_CONNECTIONS,
        seconds: SECONDS,
      });
      out.oauthExchange = await point("oauth token exchange", {
        ...oauthExchange,
        connections: MAX_CONNECTIONS,
        seconds: SECONDS,
      });
    }
    // Half of the measured maximum, paced: each of HALF_CONNECTIONS connections waits `delay`
    // after every answer (wrk's delay()), so the offered rate is ≈ connections / delay.
    const half = (out.exchange?.rps ?? 0) / 2;
    const delayMs = Math.max(1, Math.round((HALF_CONNECTIONS * 1000) / half));
    const paced = { ...exchange, connections: HALF_CONNECTIONS, seconds: SECONDS, delayMs };
    if (full && doExchange) out.exchangeHalf = await point("exchange at half load", paced);
    // Before signIn: no hashes queued behind it (signIn's own warm-up is followed by a drain).
    if (acs) Object.assign(out, await measureAcs(base, apiKey, acs, server));
    if (full && want("signin")) {
      await runLoad({ ...signIn, connections: 4, seconds: 1 });
      await drain();
      if (doExchange) {
        const [during, burst] = await Promise.all([
          point("exchange at half load during a signIn burst", paced),
          point("signIn burst", { ...signIn, connections: 16, seconds: SECONDS }),
        ]);
        out.exchangeDuringSignIn = during;
        out.signInBurst = burst;
        await drain();
      }
      out.signIn = await point("signIn", { ...signIn, connections: 16, seconds: SECONDS });
    }
  } finally {
    const code = await server.stop();
    if (code !== 0) log(`  server exited with ${code} on SIGTERM`);
  }
  return out;
}

/**
 * The exchange with ES256 and EdDSA access-token keys (`jwksAlgorithm`, issue 14 item 3): one server per
 * algorithm on the same store, a warm-up, then the closed-loop point only — the one the targets need
 * (exchange ≥ 0.8 × that algorithm's raw sign rate; ES256 or EdDSA ≥ 4 × the RS256 exchange).
 */
async function measureAlgExchanges(
  runtime: BenchRuntime,
  dir: string,
  secrets: Secrets,
  files: Files,
  store: { redisAddr: string },
  workers: number,
): Promise<Pick<StoreReport, "exchangeEs256" | "exchangeEdDsa">> {
  const out: Pick<StoreReport, "exchangeEs256" | "exchangeEdDsa"> = {};
  for (const alg of EC_ALGS) {
    const port = await freePort();
    const config = {
      ...serverConfig(secrets, port, join(dir, `data-${runtime}-${alg}`), store, workers, null),
      jwksPrivateKey: secrets.ecPems[alg],
      jwksAlgorithm: alg,
      jwksKeyId: `bench-${alg.toLowerCase()}`,
    };
    const server = await startServer(runtime, dir, `server-${runtime}-${alg}`, config);
    try {
      const spec = {
        url: `http://127.0.0.1:${port}/accounts/token/exchange`,
        method: "POST" as const,
        requestsFile: files.exchange,
        apiKey: secrets.apiKey,
      };
      await runLoad({ ...spec, connections: 8, seconds: 1 });
      const r = await point(`exchange (${alg})`, { ...spec, connections: MAX_CONNECTIONS, seconds: SECONDS });
      if (alg === "ES256") out.exchangeEs256 = r;
      else out.exchangeEdDsa = r;
    } finally {
      await server.stop();
    }
  }
  return out;
}

/**
 * The SAML ACS points (docs/spec/saml.md §6.6): the tenant's IdP record registered through the admin API
 * with `allowUnsolicited`, one post checked by hand (302, else the audit reason), a warm-up in which
 * every ACS user logs in (their first SAML login links the seeded member), then the closed-loop
 * maximum and the docs/spec/operations.md §8 rate. Every request carries its own signed Response.
 */
async function measureAcs(
  base: string,
  apiKey: string,
  acs: AcsFiles,
  server: Proc,
): Promise<Pick<StoreReport, "acs" | "acsRate">> {
  const idp = await fetch(`${base}/tenants/${ACS_TENANT}/saml/idp`, {
    method: "PUT",
    headers: { "X-API-Key": apiKey, "Content-Type": "application/json" },
    body: JSON.stringify({ metadataXml: benchIdpMetadataXml(), allowUnsolicited: true }),
  });
  if (idp.status !== 200) throw new Error(`bench: IdP registration ${idp.status}: ${await idp.text()}`);
  const url = `${base}/saml/acs/${ACS_TENANT}`;
  const body = new BenchIdp().formBody({
    ...benchAcsTarget(ACS_TENANT),
    email: benchEmail(acsUser(0)),
    now: Date.now(),
  });
  const check = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": FORM },
    body,
    redirect: "manual",
  });
  await check.arrayBuffer();
  if (check.status !== 302) {
    const audit = server
      .output()
      .split("\n")
      .filter((l) => l.includes('"saml.assertion"'))
      .at(-1);
    throw new Error(`bench: ACS answered ${check.status} instead of 302; audit: ${audit ?? "none"}`);
  }
  const once = (file: string, connections: number, seconds: number, rate?: number) => () =>
    runOnce({
      url,
      bodiesFile: file,
      contentType: FORM,
      connections,
      seconds,
      ...(rate ? { rate } : {}),
    });
  const warm = await once(acs.warm, 8, 10)();
  if (warm.errors) log(`  SAML ACS warm-up: ${warm.errors} errors of ${warm.requests}`);
  // The rate point first, after the warm-up's last requests are answered: a closed-loop point
  // leaves up to MAX_CONNECTIONS requests (hundreds of ms of XML work) queued in the server when
  // wrk stops, which would land in the next point's first latencies.
  await new Promise((r) => setTimeout(r, 500));
  const acsRate = await point(
    `SAML ACS at ${ACS_RATE} req/s`,
    once(acs.rate, ACS_RATE_CONNECTIONS, ACS_SECONDS, ACS_RATE),
  );
  const max = await point("SAML ACS", once(acs.max, MAX_CONNECTIONS, ACS_SECONDS));
  return { acs: max, acsRate };
}

/** The peer's client (test/bench/peer-oidc-provider.ts) and the resource its tokens are for. */
const PEER = { clientId: "bench-peer", secret: randomSecret(32), resource: "urn:tikti-bench:api" };

/**
 * oidc-provider's client credentials grant (issue 14's peer), closed loop like Tikti's
 * `/oauth/token` client_credentials point: one confidential client, RS256 JWT access tokens.
 */
async function measurePeer(dir: string): Promise<LoadResult> {
  const port = await freePort();
  const peer = await startPeer(dir, [
    "--port",
    String(port),
    "--client-id",
    PEER.clientId,
    "--client-secret",
    PEER.secret,
    "--resource",
    PEER.resource,
  ]);
  try {
    const body = new URLSearchParams({
      grant_type: "client_credentials",
      client_id: PEER.clientId,
      client_secret: PEER.secret,
      resource: PEER.resource,
    }).toString();
    const bodies = join(dir, "peer-cc.txt");
    writeFileSync(bodies, `${body}\n`);
    const check = await fetch(`http://127.0.0.1:${port}/token`, {
      method: "POST",
      headers: { "Content-Type": FORM },
      body,
    });
    const answer = (await check.json()) as { access_token?: string };
    if (check.status !== 200 || !answer.access_token) {
      throw new Error(`bench: oidc-provider answered ${check.status}: ${JSON.stringify(answer)}`);
    }
    const spec = {
      url: `http://127.0.0.1:${port}/token`,
      method: "POST" as const,
      requestsFile: bodies,
      contentType: FORM,
    };
    await runLoad({ ...spec, connections: 8, seconds: 1 });
    return await point("oidc-provider client_credentials (peer)", {
      ...spec,
      connections: MAX_CONNECTIONS,
      seconds: SECONDS,
    });
  } finally {
    await peer.stop();
  }
}

/** Lets hashes still queued from a finished signIn point complete before the next point. */
function drain(): Promise<void> {
  return new Promise((r) => setTimeout(r, 2500));
}

async function measureBaselineServers(
  runtime: BenchRuntime,
  dir: string,
  files: Files,
  workers: number,
  readArgs: string[],
): Promise<Pick<StoreReport, "hello" | "read">> {
  const port = await freePort();
  const hello = await startBaseline(runtime, dir, "hello", port, workers);
  let helloResult: LoadResult;
  try {
    const spec = { url: `http://127.0.0.1:${port}/`, method: "GET" as const };
    await runLoad({ ...spec, connections: 8, seconds: 1 });
    helloResult = await point(`hello-world ×${workers}`, {
      ...spec,
      connections: MAX_CONNECTIONS,
      seconds: SECONDS,
    });
  } finally {
    await hello.stop();
  }
  const readPort = await freePort();
  const read = await startBaseline(runtime, dir, "read", readPort, workers, readArgs);
  try {
    const spec = { url: `http://127.0.0.1:${readPort}/`, method: "GET" as const, requestsFile: files.read };
    await runLoad({ ...spec, connections: 8, seconds: 1 });
    const readResult = await point(`HTTP + one store read ×${workers}`, {
      ...spec,
      connections: MAX_CONNECTIONS,
      seconds: SECONDS,
    });
    return { hello: helloResult, read: readResult };
  } finally {
    await read.stop();
  }
}

/** An embedded store directory with tenants and `plan.users` users (server stopped). */
async function seedEmbeddedDir(
  dataDir: string,
  plan: SeedPlan,
  breakdown = false,
): Promise<{ before: number; after: number; seededAt: number; bytesByKey?: ByteRow[] }> {
  let db: SqliteDb | undefined;
  const kv = await openEmbeddedStore({
    dataDir,
    logger: silentLogger,
    openSqlite: (path) => {
      db = openSqlite(path);
      return db;
    },
  });
  try {
    await seedTenants(kv, plan.tenants);
    db!.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    const before = statSync(join(dataDir, "tikti.db")).size;
    let last = Date.now();
    seedUsersEmbedded(db!, plan, 0, (done) => {
      if (Date.now() - last > 10_000) {
        last = Date.now();
        log(`  embedded seed: ${done} users`);
      }
    });
    db!.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    const after = statSync(join(dataDir, "tikti.db")).size;
    const seededAt = Date.now();
    return {
      before,
      after,
      seededAt,
      ...(breakdown ? { bytesByKey: sqliteBytesByTable(db!, plan.users) } : {}),
    };
  } finally {
    await kv.close();
  }
}

function versionOf(runtime: BenchRuntime): string {
  const r = spawnSync(bin(runtime), ["--version"], { encoding: "utf8" });
  return r.stdout.split("\n")[0]!.trim();
}

/** Where `--profile` writes its text profiles (checked in). */
const PROFILES = join(root, "test/bench/profiles");
const PROFILE_SECONDS = Number(process.env.BENCH_PROFILE_SECONDS ?? 8);
const PROFILE_ROUTES = (process.env.BENCH_PROFILE_ROUTES ?? "jwks,lookup,exchange")
  .split(",")
  .filter(Boolean);
const PROFILE_STORE = process.env.BENCH_PROFILE_STORE === "embedded" ? "embedded" : "redis";

/** Fresh secrets of one run. */
async function newSecrets(): Promise<Secrets> {
  const ec = async (alg: EcAlg) => (await generateAccessTokenKeyPair(alg)).pkcs8Pem;
  return {
    jwtSecret: randomSecret(48),
    apiKey: randomSecret(32),
    pem: await generateRsaPem(),
    ecPems: { ES256: await ec("ES256"), EdDSA: await ec("EdDSA") },
  };
}

/** A redis-server on the load cores with the bench tenants (through the real KV), and a raw client. */
async function startSeededRedis() {
  const redis = await startRedis();
  if (PIN) pinPid(PIN.load, redis.pid);
  const client = createClient({ socket: { host: redis.host, port: redis.port } });
  await client.connect();
  const { createRedisStore } = await import("../../src/store/redis.ts");
  const kv = createRedisStore({ addr: redis.addr, logger: silentLogger });
  await waitPing(kv);
  await seedTenants(kv, TENANTS);
  await kv.close();
  return { redis, client };
}

/**
 * `--profile`: for each runtime and each of JWKS, lookup and exchange, a server on Redis (one
 * process, pinned) under the bench's closed-loop load for PROFILE_SECONDS while the CPU profiler
 * records. Node and Deno are profiled through the inspector for exactly the loaded window; Bun
 * with `--cpu-prof` for its lifetime, the samples before the window dropped.
 */
async function profileMain(): Promise<void> {
  ensureWrk();
  const work = mkdtempSync(join(tmpdir(), "tikti-profile-"));
  const secrets = await newSecrets();
  const plan: SeedPlan = { users: USERS, tenants: TENANTS, passwordHash: await seedPasswordHash() };
  const { redis, client } = await startSeededRedis();
  mkdirSync(PROFILES, { recursive: true });
  try {
    await seedUsersRedis(client, plan);
    client.destroy();
    const files = await writeRequestFiles(work, secrets, USERS, "profile");
    const template = join(work, "embedded-template");
    if (PROFILE_STORE === "embedded") await seedEmbeddedDir(template, plan);
    for (const runtime of RUNTIMES) {
      for (const route of PROFILE_ROUTES) {
        const port = await freePort();
        const name = `${runtime}-${route}${PROFILE_STORE === "embedded" ? "-embedded" : ""}`;
        const base = `http://127.0.0.1:${port}`;
        const spec: LoadSpec =
          route === "jwks"
            ? { url: `${base}/.well-known/jwks.json`, method: "GET", connections: 0, seconds: 0 }
            : route === "oauth-cc"
              ? {
                  url: `${base}/oauth/token`,
                  method: "POST",
                  requestsFile: files.oauthClientCredentials,
                  contentType: FORM,
                  connections: 0,
                  seconds: 0,
                }
              : {
                  url: `${base}/accounts/${route === "lookup" ? "lookup" : "token/exchange"}`,
                  method: "POST",
                  requestsFile: route === "lookup" ? files.lookup : files.exchange,
                  apiKey: secrets.apiKey,
                  connections: 0,
                  seconds: 0,
                };
        const inspectPort = await freePort();
        const flags =
          runtime === "bun"
            ? [
                "--cpu-prof",
                `--cpu-prof-dir=${work}`,
                `--cpu-prof-name=${name}.cpuprofile`,
                "--cpu-prof-interval=250",
              ]
            : [`--inspect=127.0.0.1:${inspectPort}`];
        const spawned = performance.now();
        const dataDir = join(work, `data-${name}`);
        if (PROFILE_STORE === "embedded") copyDir(template, dataDir);
        const config = serverConfig(
          secrets,
          port,
          dataDir,
          PROFILE_STORE === "embedded" ? null : { redisAddr: redis.addr },
          1,
          null,
        );
        const server = await startServer(runtime, work, name, config, flags);
        let profile: CpuProfile | undefined;
        let skipUs = 0;
        let result: LoadResult;
        try {
          await runLoad({ ...spec, connections: 8, seconds: 2 });
          if (runtime === "bun") {
            skipUs = (performance.now() - spawned) * 1000;
            result = await point(`${name} (profiled)`, {
              ...spec,
              connections: MAX_CONNECTIONS,
              seconds: PROFILE_SECONDS,
            });
          } else {
            const running = await startInspectorProfile(inspectPort);
            result = await point(`${name} (profiled)`, {
              ...spec,
              connections: MAX_CONNECTIONS,
              seconds: PROFILE_SECONDS,
            });
            profile = await running.stop();
          }
        } finally {
          await server.stop();
        }
        if (runtime === "bun") {
          profile = JSON.parse(readFileSync(join(work, `${name}.cpuprofile`), "utf8")) as CpuProfile;
        }
        const title =
          `${runtime} ${versionOf(runtime)} — ${route} on ${PROFILE_STORE === "embedded" ? "the embedded store" : "Redis"}, 1 process` +
          (PIN ? ` pinned to core(s) ${PIN.server}, wrk and Redis on ${PIN.load}` : ", unpinned") +
          ` — ${result.rps.toFixed(0)} req/s, p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms` +
          ` (${new Date().toISOString().slice(0, 16)}Z)`;
        if (!profile) throw new Error(`bench: no profile recorded for ${name}`);
        const text = renderSummary(title, summarise(profile, { skipUs }));
        writeFileSync(join(PROFILES, `${name}.txt`), text);
        log(`  wrote test/bench/profiles/${name}.txt`);
      }
    }
  } finally {
    await redis.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (process.argv.includes("--profile")) {
    await profileMain();
    return;
  }
  if (process.argv.includes("--render")) {
    // After editing test/bench/notes.md: the same report from the run's JSON, notes included.
    const report = JSON.parse(readFileSync(join(OUT, "benchmarks.json"), "utf8")) as BenchReport;
    writeFileSync(join(OUT, "benchmarks.md"), renderMarkdown(report, separateScale()));
    log(`re-rendered ${join(OUT, "benchmarks.md")} from benchmarks.json`);
    return;
  }
  if (SCALE_RUN) return scaleRunMain();
  ensureWrk();
  const work = mkdtempSync(join(tmpdir(), "tikti-bench-"));
  const secrets = await newSecrets();
  const plan: SeedPlan = { users: USERS, tenants: TENANTS, passwordHash: await seedPasswordHash() };
  log(`seeding ${USERS} users into Redis and a template embedded store`);
  const { redis, client: redisClient } = await startSeededRedis();
  await seedUsersRedis(redisClient, plan);
  const template = join(work, "embedded-template");
  await seedEmbeddedDir(template, plan);
  const files = await writeRequestFiles(work, secrets, USERS, "base");
  const saml = writeSamlFiles(work);
  const redisVersion = String(await redisClient.sendCommand(["INFO", "server"]))
    .split("\r\n")
    .find((l) => l.startsWith("redis_version:"))
    ?.slice("redis_version:".length);

  const runtimes: RuntimeReport[] = [];
  try {
    for (const runtime of RUNTIMES) {
      log(`${runtime}: baselines`);
      const baselines = await runCryptoBaselines(runtime, work, redis.addr);
      log(`  ${JSON.stringify(baselines)}`);
      const stores: RuntimeReport["stores"] = {};
      const acs = want("acs") ? writeAcsFiles(work, runtime, saml) : null;
      const anyServerGroup = GROUPS.some((g) => g !== "scale" && g !== "peer" && want(g));
      for (const store of anyServerGroup ? (["redis", "embedded"] as const) : []) {
        const workers = workersFor(runtime, store);
        log(`${runtime} on ${store}, ${workers} worker(s)`);
        const dataDir = join(work, `data-${runtime}-${store}`);
        if (store === "embedded") copyDir(template, dataDir);
        const readArgs = store === "redis" ? ["--redis", redis.addr] : ["--data-dir", dataDir];
        const model = want("models")
          ? await measureBaselineServers(runtime, work, files, workers, readArgs)
          : {};
        const server = await measureServer(
          runtime,
          work,
          secrets,
          files,
          store === "redis" ? { redisAddr: redis.addr } : null,
          dataDir,
          workers,
          true,
          acs,
        );
        // ES256 and EdDSA on Redis only: the algorithm changes the signature, not the store path.
        const algs =
          store === "redis" && want("exchange")
            ? await measureAlgExchanges(runtime, work, secrets, files, { redisAddr: redis.addr }, workers)
            : {};
        stores[store] = { workers, ...model, ...server, ...algs };
        rmSync(dataDir, { recursive: true, force: true });
      }
      // The peer is a Node program: measured beside Node's own points, against Node's baselines.
      const peer = runtime === "node" && want("peer") ? { oidcProvider: await measurePeer(work) } : undefined;
      runtimes.push({ runtime, version: versionOf(runtime), baselines, stores, ...(peer ? { peer } : {}) });
    }
  } finally {
    redisClient.destroy();
    await redis.stop();
  }

  let scale: ScaleReport | undefined;
  if (SCALE_USERS > 0 && want("scale")) scale = await scaleRun(work, secrets, plan.passwordHash, SCALE_USERS);

  rmSync(work, { recursive: true, force: true });
  const report: BenchReport = {
    date: new Date().toISOString(),
    machine: {
      cpu: cpus()[0]?.model ?? "unknown",
      cores: CORES,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      os: `${process.platform} ${process.arch}`,
    },
    tools: { wrk: wrkVersion(), redis: redisVersion ?? "unknown" },
    settings: {
      secondsPerPoint: SECONDS,
      users: USERS,
      tenants: TENANTS,
      tokens: Math.min(TOKENS, USERS),
      maxConnections: MAX_CONNECTIONS,
      halfLoadConnections: HALF_CONNECTIONS,
      workersKey: HAS_WORKERS,
      pinning: PIN ? { server: PIN.server, load: PIN.load } : null,
      acs: {
        secondsPerPoint: ACS_SECONDS,
        bodies: ACS_BODIES,
        rate: ACS_RATE,
        rateConnections: ACS_RATE_CONNECTIONS,
        users: ACS_USERS,
      },
      ...(ONLY ? { only: [...ONLY] } : {}),
    },
    runtimes,
    ...(scale ? { scale } : {}),
    totalSeconds: Math.round((Date.now() - started) / 1000),
  };
  mkdirSync(OUT, { recursive: true });
  writeFileSync(join(OUT, "benchmarks.json"), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(OUT, "benchmarks.md"), renderMarkdown(report, separateScale()));
  log(`wrote ${join(OUT, "benchmarks.md")} and benchmarks.json (${report.totalSeconds} s)`);
}

/** The 10 M run of docs/benchmarks-10m.json as it stands (absent until `npm run bench:10m` ran). */
function separateScale(): ScaleReport | undefined {
  try {
    return JSON.parse(readFileSync(SCALE_JSON_DOCS, "utf8")) as ScaleReport;
  } catch {
    return undefined;
  }
}

/** `--scale-run`: only the scale run, at SCALE_RUN_USERS, into SCALE_JSON. */
async function scaleRunMain(): Promise<void> {
  ensureWrk();
  const work = mkdtempSync(join(tmpdir(), "tikti-bench-scale-"));
  try {
    const secrets = await newSecrets();
    const scale = await scaleRun(work, secrets, await seedPasswordHash(), SCALE_RUN_USERS);
    const report: ScaleReport = {
      ...scale,
      date: new Date().toISOString(),
      totalSeconds: Math.round((Date.now() - started) / 1000),
      pinning: PIN ? { server: PIN.server, load: PIN.load } : null,
      secondsPerPoint: SECONDS,
    };
    writeFileSync(SCALE_JSON, `${JSON.stringify(report, null, 2)}\n`);
    log(`wrote ${SCALE_JSON} (${report.totalSeconds} s)`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function scaleRun(
  work: string,
  secrets: Secrets,
  passwordHash: string,
  users: number,
): Promise<ScaleReport> {
  const runtime = SCALE_RUNTIME;
  const plan: SeedPlan = { users, tenants: TENANTS, passwordHash };
  const files = await writeRequestFiles(work, secrets, users, "scale");
  const out: ScaleReport = { runtime, users, stores: {} };

  if (SCALE_STORES.includes("redis")) out.stores.redis = await scaleRedis(work, secrets, plan, files);
  if (SCALE_STORES.includes("embedded"))
    out.stores.embedded = await scaleEmbedded(work, secrets, plan, files);
  return out;
}

async function scaleRedis(
  work: string,
  secrets: Secrets,
  plan: SeedPlan,
  files: Files,
): Promise<ScaleReport["stores"]["redis"]> {
  const runtime = SCALE_RUNTIME;
  const users = plan.users;
  log(`scale: seeding ${users} users into a fresh Redis`);
  const { redis, client } = await startSeededRedis();
  try {
    const memory = async () =>
      Number(
        String(await client.sendCommand(["INFO", "memory"]))
          .split("\r\n")
          .find((l) => l.startsWith("used_memory:"))
          ?.slice("used_memory:".length),
      );
    const before = await memory();
    const t0 = Date.now();
    let last = Date.now();
    await seedUsersRedis(client, plan, 0, (done) => {
      if (Date.now() - last > 10_000) {
        last = Date.now();
        log(`  redis seed: ${done} users`);
      }
    });
    const seedSeconds = (Date.now() - t0) / 1000;
    const after = await memory();
    const bytesByKey = await redisBytesByKey(client, users, TENANTS, (after - before) / users);
    client.destroy();
    log(`  redis: ${seedSeconds.toFixed(1)} s, ${((after - before) / users).toFixed(0)} bytes/user`);
    for (const r of bytesByKey) log(`    ${r.what}: ${r.bytesPerUser.toFixed(0)} bytes/user`);
    const workers = workersFor(runtime, "redis");
    const points = await measureServer(
      runtime,
      work,
      secrets,
      files,
      { redisAddr: redis.addr },
      join(work, "scale-redis-data"),
      workers,
      false,
    );
    return {
      workers,
      seedSeconds,
      bytesPerUser: (after - before) / users,
      measure: "Redis INFO used_memory delta",
      bytesByKey,
      ...points,
    };
  } finally {
    await redis.stop();
  }
}

async function scaleEmbedded(
  work: string,
  secrets: Secrets,
  plan: SeedPlan,
  files: Files,
): Promise<ScaleReport["stores"]["embedded"]> {
  const runtime = SCALE_RUNTIME;
  const users = plan.users;
  const dataDir = SCALE_DATA_DIR ?? join(work, "scale-embedded");
  const reuse = SCALE_DATA_DIR !== undefined && existsSync(join(SCALE_DATA_DIR, "tikti.db"));
  if (reuse) {
    log(`scale: reusing the embedded store in ${dataDir}`);
    const points = await measureServer(runtime, work, secrets, files, null, dataDir, 1, false);
    return {
      workers: 1,
      seedSeconds: Number.NaN,
      bytesPerUser: Number.NaN,
      measure: "reused store",
      ...points,
    };
  }
  log(`scale: seeding ${users} users into a fresh embedded store`);
  const t0 = Date.now();
  const size = await seedEmbeddedDir(dataDir, plan, true);
  const seedSeconds = (size.seededAt - t0) / 1000;
  for (const r of size.bytesByKey ?? []) log(`    ${r.what}: ${r.bytesPerUser.toFixed(0)} bytes/user`);
  log(
    `  embedded: ${seedSeconds.toFixed(1)} s, ${((size.after - size.before) / users).toFixed(0)} bytes/user`,
  );
  const points = await measureServer(runtime, work, secrets, files, null, dataDir, 1, false);
  if (SCALE_DATA_DIR === undefined) rmSync(dataDir, { recursive: true, force: true });
  return {
    workers: 1,
    seedSeconds,
    bytesPerUser: (size.after - size.before) / users,
    measure: "tikti.db size delta after a WAL checkpoint",
    bytesByKey: size.bytesByKey,
    ...points,
  };
}

function copyDir(from: string, to: string): void {
  mkdirSync(to, { recursive: true, mode: 0o700 });
  const r = spawnSync("cp", ["-a", `${from}/.`, to]);
  if (r.status !== 0) throw new Error(`cp failed: ${r.stderr}`);
}

async function waitPing(kv: { ping(): Promise<void> }): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      await kv.ping();
      return;
    } catch (e) {
      if (i > 400) throw e;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

export type { Proc };

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
