/**
 * Latency-tail probe (issue 14, tails; docs/adr/0115-request-bodies-without-web-streams.md): one
 * Tikti server (pinned like the bench, test/bench/pin.ts) under wrk points, and for each point the
 * client's percentiles beside the server's own view of the same requests (the access log's
 * `durationMs`) and the GC pauses the runtime traced. A tail the client sees but the server does not
 * is outside the handler (socket, scheduler, an event-loop turn before the request is read).
 *
 *   node test/bench/tail-probe.ts <bun|node|deno> <redis|embedded> <route> <connections> [delayMs]
 *
 * route: lookup, exchange, signin or jwks. Environment:
 *   PROBE_POINTS  several points in one server, `route:connections:delayMs[:burst]`, comma-separated
 *                 (`burst`: a 16-connection signIn burst runs alongside)
 *   PROBE_FLAGS   runtime flags, e.g. "--trace-gc" or "--trace-gc-nvp" (pause and promoted bytes)
 *   PROBE_HEAP=1  V8 sampling heap profile of the point (Node/Deno, through the inspector)
 *   PROBE_LOG     file prefix: the server's output of each point is written there
 *   PROBE_SECONDS [4]  PROBE_USERS [2000]
 * Measure under the machine's exclusive lock, like the bench.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "redis";
import {
  BENCH_CLIENT,
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
import { createIdTokenSigner } from "../../src/crypto/id-token.ts";
import { silentLogger } from "../../src/logger.ts";
import { openEmbeddedStore } from "../../src/runtime/embedded-open.ts";
import { openSqlite } from "../../src/runtime/sqlite-node.ts";
import type { SqliteDb } from "../../src/store/sqlite.ts";
import { generateRsaPem, randomSecret } from "../support/keys.ts";
import { freePort } from "../support/ports.ts";
import { startRedis, waitForStore } from "../support/redis-server.ts";
import { PIN, pinPid } from "./pin.ts";
import { BENCH_RATE_LIMITS, type BenchRuntime, startServer } from "./procs.ts";
import { BENCH_ISSUER } from "./saml.ts";
import { runLoad } from "./wrk.ts";

const [runtime, store, route, connsArg, delayArg] = process.argv.slice(2) as [
  BenchRuntime,
  "redis" | "embedded",
  "lookup" | "exchange" | "signin",
  string,
  string | undefined,
];
const SECONDS = Number(process.env.PROBE_SECONDS ?? 4);
const USERS = Number(process.env.PROBE_USERS ?? 2000);
const TENANTS = 10;
const work = mkdtempSync(join(tmpdir(), "tikti-probe-"));
const jwtSecret = randomSecret(48);
const apiKey = randomSecret(32);
const pem = await generateRsaPem();
const plan: SeedPlan = { users: USERS, tenants: TENANTS, passwordHash: await seedPasswordHash() };

const redis = store === "redis" ? await startRedis() : undefined;
if (redis && PIN) pinPid(PIN.load, redis.pid);
const dataDir = join(work, "data");
if (redis) {
  const client = createClient({ socket: { host: redis.host, port: redis.port } });
  await client.connect();
  const { createRedisStore } = await import("../../src/store/redis.ts");
  const kv = createRedisStore({ addr: redis.addr, logger: silentLogger });
  await waitForStore(kv);
  await seedTenants(kv, TENANTS);
  await kv.close();
  await seedUsersRedis(client, plan);
  client.destroy();
} else {
  let db: SqliteDb | undefined;
  const kv = await openEmbeddedStore({
    dataDir,
    logger: silentLogger,
    openSqlite: (p) => {
      db = openSqlite(p);
      return db;
    },
  });
  await seedTenants(kv, TENANTS);
  seedUsersEmbedded(db!, plan);
  db!.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  await kv.close();
}

const signer = await createIdTokenSigner({
  jwtSecret,
  issuerBaseUrl: BENCH_ISSUER,
  defaultAudience: "tikti",
  idTokenTtlSeconds: 3600,
  clockSkewSeconds: 30,
});
const tokens: string[] = [];
for (let i = 0; i < USERS; i++) {
  const { token } = await signer.sign({
    sub: benchUserId(i),
    email: benchEmail(i),
    role: "COMPANY_EMPLOYEE",
    tid: benchTenant(i, TENANTS),
    amr: "pwd",
    ver: 0,
  });
  tokens.push(token);
}
const file = (name: string, lines: string[]) => {
  const p = join(work, `${name}.txt`);
  writeFileSync(p, `${lines.join("\n")}\n`);
  return p;
};
const lookupFile = file(
  "lookup",
  tokens.map((t) => JSON.stringify({ idToken: t })),
);
const exchangeFile = file(
  "exchange",
  tokens.map((t) => JSON.stringify({ idToken: t, audience: BENCH_CLIENT })),
);
const signInFile = file(
  "signin",
  tokens.map((_, i) => JSON.stringify({ email: benchEmail(i), password: BENCH_PASSWORD })),
);

const port = await freePort();
const flags = (process.env.PROBE_FLAGS ?? "").split(" ").filter(Boolean);
const inspectPort = await freePort();
if (process.env.PROBE_HEAP) flags.push(`--inspect=127.0.0.1:${inspectPort}`);
const server = await startServer(
  runtime,
  work,
  "probe",
  {
    devMode: true,
    bindAddress: "127.0.0.1",
    port,
    issuerBaseUrl: BENCH_ISSUER,
    dataDir,
    jwtSecret,
    apiKey,
    jwksPrivateKey: pem,
    jwksKeyId: "bench-key-1",
    rateLimits: BENCH_RATE_LIMITS,
    http: { shutdownDelaySeconds: 0, shutdownGraceSeconds: 5 },
    logging: { level: "info" },
    ...(redis ? { redisAddr: redis.addr } : {}),
    workers: 1,
  },
  flags,
);
const base = `http://127.0.0.1:${port}`;
const specs = {
  lookup: { url: `${base}/accounts/lookup`, method: "POST" as const, requestsFile: lookupFile, apiKey },
  exchange: {
    url: `${base}/accounts/token/exchange`,
    method: "POST" as const,
    requestsFile: exchangeFile,
    apiKey,
  },
  signin: { url: `${base}/accounts/signIn`, method: "POST" as const, requestsFile: signInFile },
  jwks: { url: `${base}/.well-known/jwks.json`, method: "GET" as const },
};
const specOf = (name: string) => specs[name as keyof typeof specs];
const points = (process.env.PROBE_POINTS ?? `${route}:${connsArg}:${delayArg ?? 0}`).split(",");
try {
  for (const name of new Set(points.map((p) => p.split(":")[0]!))) {
    await runLoad({ ...specOf(name), connections: 8, seconds: 1 });
  }
  for (const p of points) {
    const [name, conns, delay, burstOn] = p.split(":");
    const heap = process.env.PROBE_HEAP ? await startHeapSampling(inspectPort) : undefined;
    const mark = server.output().length;
    const point = runLoad({
      ...specOf(name!),
      connections: Number(conns),
      seconds: SECONDS,
      ...(Number(delay) > 0 ? { delayMs: Number(delay) } : {}),
    });
    const burst = burstOn ? runLoad({ ...specOf("signin"), connections: 16, seconds: SECONDS }) : undefined;
    const r = await point;
    const b = await burst;
    if (heap) summariseHeap(await heap.stop());
    if (burst) await new Promise((res) => setTimeout(res, 2500));
    const out = server.output().slice(mark);
    const durations: number[] = [];
    let gcLines = 0;
    let gcMs = 0;
    let gcMax = 0;
    for (const line of out.split("\n")) {
      const m = /"route":"([^"]+)".*"durationMs":([\d.]+)/.exec(line);
      if (m && m[1] !== "/accounts/signIn") durations.push(Number(m[2]));
      const g = /MB, ([\d.]+) \/ ([\d.]+) ms/.exec(line) ?? /pause=([\d.]+).*?()/.exec(line);
      if (g) {
        gcLines++;
        gcMs += Number(g[1]);
        gcMax = Math.max(gcMax, Number(g[1]));
      }
    }
    durations.sort((a, b) => a - b);
    const pct = (q: number) =>
      durations[Math.min(durations.length - 1, Math.floor((q / 100) * durations.length))];
    console.log(`== ${p}`);
    console.log(
      `client: ${r.rps.toFixed(0)} req/s p50 ${r.p50Ms.toFixed(2)} p90 ${r.p90Ms.toFixed(2)} p99 ${r.p99Ms.toFixed(2)} max ${r.maxMs.toFixed(2)} ms errors ${r.errors}`,
    );
    if (b)
      console.log(`burst: ${b.rps.toFixed(0)} req/s p50 ${b.p50Ms.toFixed(2)} p99 ${b.p99Ms.toFixed(2)}`);
    console.log(
      `server: n=${durations.length} p50 ${pct(50)} p90 ${pct(90)} p99 ${pct(99)} max ${durations.at(-1)} ms; >5ms: ${durations.filter((d) => d > 5).length}; gc ${gcLines} pauses ${gcMs.toFixed(1)} ms max ${gcMax}`,
    );
    if (process.env.PROBE_LOG) writeFileSync(`${process.env.PROBE_LOG}-${p.replaceAll(":", "_")}.log`, out);
  }
} finally {
  await server.stop();
  await redis?.stop();
  rmSync(work, { recursive: true, force: true });
}

interface SamplingNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: SamplingNode[];
}

async function startHeapSampling(port: number) {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as {
    webSocketDebuggerUrl: string;
  }[];
  const ws = new WebSocket(targets[0]!.webSocketDebuggerUrl);
  await new Promise((r) => ws.addEventListener("open", r, { once: true }));
  const pending = new Map<number, (r: { result?: unknown }) => void>();
  ws.addEventListener("message", (ev) => {
    const msg = JSON.parse(String(ev.data)) as { id?: number; result?: unknown };
    if (msg.id !== undefined) pending.get(msg.id)?.(msg);
  });
  let next = 1;
  const call = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<unknown>((resolve) => {
      const id = next++;
      pending.set(id, (r) => resolve(r.result));
      ws.send(JSON.stringify({ id, method, params }));
    });
  await call("HeapProfiler.enable");
  await call("HeapProfiler.startSampling", {
    samplingInterval: 1024,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: false,
  });
  return {
    async stop() {
      const { profile } = (await call("HeapProfiler.stopSampling")) as { profile: { head: SamplingNode } };
      ws.close();
      return profile.head;
    },
  };
}

function summariseHeap(head: SamplingNode) {
  // Bytes by the innermost frames (3 levels) that allocated them.
  const byStack = new Map<string, number>();
  let total = 0;
  const walk = (n: SamplingNode, path: string[]) => {
    const here = `${n.callFrame.functionName || "(anon)"}@${n.callFrame.url.split("/").slice(-2).join("/")}:${n.callFrame.lineNumber + 1}`;
    const p = [...path, here];
    if (n.selfSize > 0) {
      const key = p.slice(-4).reverse().join(" < ");
      byStack.set(key, (byStack.get(key) ?? 0) + n.selfSize);
      total += n.selfSize;
    }
    for (const c of n.children) walk(c, p);
  };
  walk(head, []);
  console.log(`heap (survived a scavenge): ${(total / 1e6).toFixed(1)} MB sampled`);
  for (const [k, v] of [...byStack].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
    console.log(`  ${(v / 1e3).toFixed(0).padStart(7)} KB  ${k}`);
  }
}
