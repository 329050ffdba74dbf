/**
 * Builds a real app for HTTP tests (`app.request()`): the real config schema with test values,
 * the real key ring, and a real store — the embedded engine in a temp dir, or a real redis-server.
 * `forEachEngine` runs a describe block on both, so every route is proven on each engine.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe } from "vitest";
import { type App, createApp } from "../../src/app.ts";
import { createCoreDeps } from "../../src/bootstrap.ts";
import type { Clock } from "../../src/clock.ts";
import { type Config, configSchema } from "../../src/config/schema.ts";
import { createInProcessPasswordHasher } from "../../src/crypto/password-portable.ts";
import type { AppDeps } from "../../src/deps.ts";
import { silentLogger } from "../../src/logger.ts";
import { openEmbeddedStore } from "../../src/runtime/embedded-open.ts";
import { openSqlite } from "../../src/runtime/sqlite-node.ts";
import type { KV } from "../../src/store/kv.ts";
import { createRedisStore } from "../../src/store/redis.ts";
import { selectedEngines } from "./engines.ts";
import { generateRsaPem, randomSecret } from "./keys.ts";
import { type RedisHandle, rawClient, startRedis } from "./redis-server.ts";

export const TEST_API_KEY = "test-api-key-0123456789abcdefghijklmnop";
export const TEST_ISSUER = "https://id.test.example";

let cachedPem: Promise<string> | undefined;
/** One RSA key per test process: generating 2048-bit keys is the slow part of app setup. */
export function testSigningPem(): Promise<string> {
  cachedPem ??= generateRsaPem();
  return cachedPem;
}

function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] =
      v && typeof v === "object" && !Array.isArray(v) && b && typeof b === "object" && !Array.isArray(b)
        ? merge(b as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

/** A validated Config with test secrets; `overrides` use the YAML shape (e.g. `{rateLimits: {enabled: false}}`). */
export async function testConfig(overrides: Record<string, unknown> = {}): Promise<Config> {
  const raw = merge(
    {
      issuerBaseUrl: TEST_ISSUER,
      jwtSecret: "test-jwt-secret-that-is-long-enough-0123456789",
      apiKey: TEST_API_KEY,
      jwksPrivateKey: await testSigningPem(),
      jwksKeyId: "test-key-1",
      // HTTP tests read /metrics through app.request(), i.e. on the main port: the explicit opt-in
      // (outside dev mode the default is a separate listener, which app.request() cannot reach).
      metrics: { port: 0 },
    },
    overrides,
  );
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`test config invalid: ${JSON.stringify(parsed.error.issues)}`);
  return parsed.data;
}

/** A clock tests can move. */
export function manualClock(
  start = Date.UTC(2026, 0, 1),
): Clock & { advance(ms: number): void; set(ms: number): void } {
  let now = start;
  return {
    now: () => now,
    advance: (ms) => {
      now += ms;
    },
    set: (ms) => {
      now = ms;
    },
  };
}

export interface TestApp {
  app: App;
  deps: AppDeps;
  store: KV;
  /** Audit records written so far (JSON lines). */
  auditLines: string[];
  /** `app.request` with the API key header added unless `headers` already decide it. */
  call(path: string, init?: RequestInit & { json?: unknown; key?: boolean }): Promise<Response>;
}

export interface BuildOptions {
  store: KV;
  config?: Record<string, unknown>;
  clock?: Clock;
  /** Replace or add deps (e.g. a password hasher) before createApp. */
  extend?: (deps: AppDeps) => AppDeps;
}

export async function buildTestApp(options: BuildOptions): Promise<TestApp> {
  const config = await testConfig(options.config);
  const auditLines: string[] = [];
  let deps = await createCoreDeps({
    config,
    store: options.store,
    logger: silentLogger,
    passwords: createInProcessPasswordHasher(config.accounts.passwordHash),
    auditSink: (line) => {
      auditLines.push(line);
    },
    clock: options.clock ?? { now: () => Date.now() },
    replicaId: "test-replica",
  });
  if (options.extend) deps = options.extend(deps);
  const app = createApp(deps);
  return {
    app,
    deps,
    store: options.store,
    auditLines,
    async call(path, init = {}) {
      const { json, key = true, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (key && !headers.has("x-api-key")) headers.set("x-api-key", TEST_API_KEY);
      if (json !== undefined) {
        if (!headers.has("content-type")) headers.set("content-type", "application/json");
        rest.body = typeof json === "string" ? json : JSON.stringify(json);
        rest.method ??= "POST";
      }
      return app.request(path, { ...rest, headers }, { remoteAddr: "192.0.2.10" });
    },
  };
}

export interface Engine {
  name: "embedded" | "redis";
  /** A fresh, empty store for one test. */
  freshStore(): Promise<KV>;
}

/**
 * Runs `body` once per engine: embedded (new temp dir per store) and a real redis-server shared by
 * the block (FLUSHDB before each fresh store, so tests must not run concurrently inside a block).
 * The vitest project decides which engines run where (test/support/engines.ts): `fast` runs the
 * embedded half, `slow` the Redis half, `npm test` both.
 */
export function forEachEngine(title: string, body: (engine: Engine) => void): void {
  describe.each(selectedEngines())(`${title} [%s]`, (name) => {
    let redis: RedisHandle | undefined;
    let redisKv: KV | undefined;
    const opened: Array<{ kv: KV; dir?: string }> = [];

    beforeAll(async () => {
      if (name === "redis") {
        redis = await startRedis();
        redisKv = createRedisStore({ addr: redis.addr, logger: silentLogger });
      }
    });
    afterAll(async () => {
      for (const o of opened) {
        await o.kv.close().catch(() => {});
        if (o.dir) await rm(o.dir, { recursive: true, force: true });
      }
      await redisKv?.close();
      await redis?.stop();
    });
    body({
      name,
      async freshStore() {
        if (name === "redis") {
          const client = await rawClient(redis!);
          await client.flushDb();
          client.destroy();
          // A wrapper whose close() is a no-op: the shared connection is closed in afterAll.
          return new Proxy(redisKv!, {
            get: (target, prop) => {
              if (prop === "close") return async () => {};
              const v = Reflect.get(target, prop, target);
              return typeof v === "function" ? v.bind(target) : v;
            },
          });
        }
        const dir = await mkdtemp(join(tmpdir(), "tikti-http-"));
        const kv = await openEmbeddedStore({ dataDir: dir, logger: silentLogger, openSqlite });
        opened.push({ kv, dir });
        return kv;
      },
    });
  });
}

export { randomSecret };
