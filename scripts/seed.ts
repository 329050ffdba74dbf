#!/usr/bin/env node
/**
 * Bulk seeding of users with memberships, for benchmarks and sizing (issue 8 "Scale"):
 *
 *   node scripts/rt.mjs node scripts/seed.ts --users 1000000 --redis 127.0.0.1:6379
 *   node scripts/rt.mjs node scripts/seed.ts --users 1000000 --data-dir ./data   # server stopped
 *
 * What it writes is exactly what the app writes (records encoded by src/store/repos/codec.ts, keys
 * from src/store/keys.ts): `T` tenants and one client `bench-api` per tenant through the repos,
 * then `N` users `user<i>@bench.example` (password `--password`, one hash computed once and shared),
 * each an ACTIVE `COMPANY_EMPLOYEE` of tenant `bench-<i mod T>` with that tenant as `companyId`:
 * `users_v2` field, `userByEmail:{email}`, `memberships:{tenant}` field and `membershipsByUser:{id}`.
 *
 * Users go in bulk, not through `KV`, for a measured reason: the KV writes are one command (Redis)
 * or one fsynced transaction (embedded, docs/spec/storage.md §7.3) each, so 1 M users would be 4 M round
 * trips or 4 M fsyncs. In bulk:
 * - Redis: one `HSET users_v2` / `MSET` / `HSET memberships:{t}` per batch with many fields, and
 *   the per-user `SADD`s, all pipelined (commands issued in one tick share one write).
 * - Embedded: the same rows the engine writes (`kv_keys` / `kv_items`, src/store/embedded.ts), one
 *   transaction per batch, on the engine's own connection (it holds the store's exclusive lock, so
 *   no server can be running on the directory).
 * test/store/seed-bulk.test.ts proves both paths read back through the real engines and repos.
 */
import { createClient } from "redis";
import type { Clock } from "../src/clock.ts";
import { hashClientSecret } from "../src/crypto/client-secret.ts";
import { createInProcessPasswordHasher } from "../src/crypto/password-portable.ts";
import type { Membership, User } from "../src/domain/types.ts";
import { silentLogger } from "../src/logger.ts";
import { keys } from "../src/store/keys.ts";
import type { KV } from "../src/store/kv.ts";
import { encodeMembership, encodeUser } from "../src/store/repos/codec.ts";
import { createRepos } from "../src/store/repos/index.ts";
import type { SqliteDb } from "../src/store/sqlite.ts";

export const BENCH_CLIENT = "bench-api";
export const BENCH_SCOPE = "codeq:claim";
/** The OAuth client of every bench tenant (`bench-k/bench-oauth`, docs/oauth.md) and its role. */
export const BENCH_OAUTH_CLIENT = "bench-oauth";
export const BENCH_OAUTH_ROLE = "bench-oauth";
/** A fixed secret (bench data only): 43 chars of base64url like a generated one. */
export const BENCH_OAUTH_SECRET = "YmVuY2gtb2F1dGgtc2VjcmV0LW5vdC1mb3ItcHJvZHVj";
export const BENCH_PASSWORD = "bench-password-0123";
const CREATED_AT = "2026-01-01T00:00:00.000Z";

export interface SeedPlan {
  users: number;
  tenants: number;
  /** PHC/bcrypt string every user shares (see `seedPasswordHash`). */
  passwordHash: string;
  /** Users per batch (one pipeline or one transaction). */
  batch?: number;
}

/** Deterministic ids, so a benchmark can mint tokens for any user without reading the store. */
export function benchUserId(i: number): string {
  return `00000000-0000-4000-8000-${i.toString(16).padStart(12, "0")}`;
}
export const benchEmail = (i: number): string => `user${i}@bench.example`;
export const benchTenant = (i: number, tenants: number): string => `bench-${i % tenants}`;

export function benchUser(i: number, plan: Pick<SeedPlan, "tenants" | "passwordHash">): User {
  return {
    localId: benchUserId(i),
    email: benchEmail(i),
    password: plan.passwordHash,
    role: "COMPANY_EMPLOYEE",
    status: "ACTIVE",
    companyId: benchTenant(i, plan.tenants),
    tokenVersion: 0,
    createdAt: CREATED_AT,
    authSource: "password",
    externalSubject: "",
  };
}

function benchMembership(i: number, tenants: number): Membership {
  return {
    id: `10000000-0000-4000-8000-${i.toString(16).padStart(12, "0")}`,
    tenantId: benchTenant(i, tenants),
    userId: benchUserId(i),
    roles: ["COMPANY_EMPLOYEE"],
    createdAt: CREATED_AT,
  };
}

/** One argon2id hash (the default policy) of `password`, computed in this process. */
export function seedPasswordHash(password = BENCH_PASSWORD): Promise<string> {
  return createInProcessPasswordHasher({
    scheme: "argon2id",
    bcryptCost: 10,
    scrypt: { ln: 15, r: 8, p: 1 },
    argon2id: { m: 19_456, t: 2, p: 1 },
  }).hash(password);
}

const fixedClock: Clock = { now: () => Date.parse(CREATED_AT) };

/** Tenants `bench-0..T-1` and their client, through the repos (few records: the normal path). */
export async function seedTenants(kv: KV, tenants: number): Promise<void> {
  const repos = createRepos({ kv, logger: silentLogger, clock: fixedClock, oobCodeTtlSeconds: 900 });
  for (let t = 0; t < tenants; t++) {
    const id = `bench-${t}`;
    if (!(await repos.tenants.get(id))) await repos.tenants.create({ id, slug: id, name: `Bench ${t}` });
    if (!(await repos.clients.get(id, BENCH_CLIENT))) {
      await repos.clients.create(id, {
        clientId: BENCH_CLIENT,
        secretHash: "",
        allowedGrantTypes: ["token_exchange"],
        defaultScopes: [BENCH_SCOPE],
      });
    }
    if (!(await repos.roles.get(id, BENCH_OAUTH_ROLE))) {
      await repos.roles.put(id, { name: BENCH_OAUTH_ROLE, permissions: [BENCH_SCOPE] });
    }
    if (!(await repos.clients.get(id, BENCH_OAUTH_CLIENT))) {
      await repos.clients.create(id, {
        clientId: BENCH_OAUTH_CLIENT,
        secretHash: await hashClientSecret(BENCH_OAUTH_SECRET),
        allowedGrantTypes: ["client_credentials", "token_exchange"],
        roles: [BENCH_OAUTH_ROLE],
      });
    }
  }
}

type Progress = (done: number) => void;

/** Users `from..to-1` into Redis (`redis` is a connected node-redis client, RESP2 or 3). */
export async function seedUsersRedis(
  redis: { sendCommand(args: string[]): Promise<unknown> },
  plan: SeedPlan,
  from = 0,
  onProgress?: Progress,
): Promise<void> {
  const batch = plan.batch ?? 2000;
  for (let start = from; start < plan.users; start += batch) {
    const end = Math.min(plan.users, start + batch);
    const users: string[] = ["HSET", keys.users()];
    const emails: string[] = ["MSET"];
    const byTenant = new Map<string, string[]>();
    const pending: Promise<unknown>[] = [];
    for (let i = start; i < end; i++) {
      const user = benchUser(i, plan);
      const m = benchMembership(i, plan.tenants);
      users.push(user.localId, encodeUser(user));
      emails.push(keys.userByEmail(user.email), user.localId);
      let fields = byTenant.get(m.tenantId);
      if (!fields) {
        fields = ["HSET", keys.memberships(m.tenantId)];
        byTenant.set(m.tenantId, fields);
      }
      fields.push(m.userId, encodeMembership(m));
      pending.push(redis.sendCommand(["SADD", keys.membershipsByUser(m.userId), m.tenantId]));
    }
    pending.push(redis.sendCommand(users), redis.sendCommand(emails));
    for (const fields of byTenant.values()) pending.push(redis.sendCommand(fields));
    await Promise.all(pending);
    onProgress?.(end);
  }
}

/**
 * Users `from..to-1` into an embedded store's database (`db`: the engine's own connection, see the
 * file comment). Rows as src/store/embedded.ts writes them: a hash or set is one `kv_keys` row
 * (value NULL) plus one `kv_items` row per field/member; a string is one `kv_keys` row.
 */
export function seedUsersEmbedded(db: SqliteDb, plan: SeedPlan, from = 0, onProgress?: Progress): void {
  const batch = plan.batch ?? 20_000;
  const keyRow = db.prepare(
    "INSERT INTO kv_keys (key, type, value, expires_at) VALUES (?, ?, NULL, NULL) ON CONFLICT (key) DO NOTHING",
  );
  const stringRow = db.prepare(
    "INSERT INTO kv_keys (key, type, value, expires_at) VALUES (?, 'string', ?, NULL) " +
      "ON CONFLICT (key) DO UPDATE SET type = 'string', value = excluded.value, expires_at = NULL",
  );
  const itemRow = db.prepare(
    "INSERT INTO kv_items (key, item, value) VALUES (?, ?, ?) " +
      "ON CONFLICT (key, item) DO UPDATE SET value = excluded.value",
  );
  for (let start = from; start < plan.users; start += batch) {
    const end = Math.min(plan.users, start + batch);
    db.exec("BEGIN IMMEDIATE");
    try {
      keyRow.run(keys.users(), "hash");
      for (let i = start; i < end; i++) {
        const user = benchUser(i, plan);
        const m = benchMembership(i, plan.tenants);
        itemRow.run(keys.users(), user.localId, encodeUser(user));
        stringRow.run(keys.userByEmail(user.email), user.localId);
        keyRow.run(keys.memberships(m.tenantId), "hash");
        itemRow.run(keys.memberships(m.tenantId), m.userId, encodeMembership(m));
        keyRow.run(keys.membershipsByUser(m.userId), "set");
        itemRow.run(keys.membershipsByUser(m.userId), m.tenantId, null);
      }
      db.exec("COMMIT");
    } catch (e) {
      db.exec("ROLLBACK");
      throw e;
    }
    onProgress?.(end);
  }
}

// ------------------------------------------------------------------------------------------ CLI

interface CliArgs {
  users: number;
  tenants: number;
  redis?: string;
  dataDir?: string;
  password: string;
}

function parseCli(argv: string[]): CliArgs {
  const out: CliArgs = { users: 10_000, tenants: 100, password: BENCH_PASSWORD };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = argv[i + 1];
    const need = () => {
      if (v === undefined) throw new Error(`${a} needs a value`);
      i++;
      return v;
    };
    if (a === "--users") out.users = Number(need());
    else if (a === "--tenants") out.tenants = Number(need());
    else if (a === "--redis") out.redis = need();
    else if (a === "--data-dir") out.dataDir = need();
    else if (a === "--password") out.password = need();
    else throw new Error(`unknown argument ${a}`);
  }
  if (!Number.isSafeInteger(out.users) || out.users < 1)
    throw new Error("--users must be a positive integer");
  if (!Number.isSafeInteger(out.tenants) || out.tenants < 1) throw new Error("--tenants must be ≥ 1");
  if (!out.redis === !out.dataDir)
    throw new Error("give exactly one of --redis host:port and --data-dir dir");
  return out;
}

async function cli(): Promise<void> {
  const args = parseCli(process.argv.slice(2));
  const started = performance.now();
  const plan: SeedPlan = {
    users: args.users,
    tenants: args.tenants,
    passwordHash: await seedPasswordHash(args.password),
  };
  let last = 0;
  const progress = (done: number) => {
    const now = performance.now();
    if (now - last > 2000 || done === plan.users) {
      last = now;
      const secs = (now - started) / 1000;
      process.stderr.write(`seed: ${done}/${plan.users} users, ${secs.toFixed(1)} s\n`);
    }
  };
  if (args.redis) {
    const { createRedisStore } = await import("../src/store/redis.ts");
    const kv = createRedisStore({ addr: args.redis, logger: silentLogger, timeoutMs: 30_000 });
    const [host, port] = [args.redis.slice(0, args.redis.lastIndexOf(":")), args.redis.split(":").pop()];
    const client = createClient({ socket: { host, port: Number(port) } });
    await client.connect();
    try {
      await waitForPing(kv);
      await seedTenants(kv, plan.tenants);
      await seedUsersRedis(client, plan, 0, progress);
    } finally {
      client.destroy();
      await kv.close();
    }
  } else {
    const { openEmbeddedStore } = await import("../src/runtime/embedded-open.ts");
    const { openSqlite } = await import("../src/runtime/sqlite-node.ts");
    let db: SqliteDb | undefined;
    const kv = await openEmbeddedStore({
      dataDir: args.dataDir!,
      logger: silentLogger,
      openSqlite: (path) => {
        db = openSqlite(path);
        return db;
      },
    });
    try {
      await seedTenants(kv, plan.tenants);
      seedUsersEmbedded(db!, plan, 0, progress);
      db!.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    } finally {
      await kv.close();
    }
  }
  process.stderr.write(`seed: done in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
}

async function waitForPing(kv: KV): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      await kv.ping();
      return;
    } catch (e) {
      if (i > 200) throw e;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

if (import.meta.main) {
  cli().catch((e) => {
    process.stderr.write(`seed: ${(e as Error).message}\n`);
    process.exit(1);
  });
}
