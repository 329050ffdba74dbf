/**
 * scripts/seed.ts writes users in bulk, around the KV interface (pipelined Redis commands, batched
 * SQLite transactions). These tests read what it wrote back through the real engines and the real
 * repositories, so the bulk path cannot drift from what the app writes and reads.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "redis";
import { afterAll, describe, expect, it } from "vitest";
import {
  BENCH_CLIENT,
  BENCH_PASSWORD,
  benchEmail,
  benchTenant,
  benchUser,
  benchUserId,
  type SeedPlan,
  seedPasswordHash,
  seedTenants,
  seedUsersEmbedded,
  seedUsersRedis,
} from "../../scripts/seed.ts";
import { createInProcessPasswordHasher } from "../../src/crypto/password-portable.ts";
import { silentLogger } from "../../src/logger.ts";
import { openEmbeddedStore } from "../../src/runtime/embedded-open.ts";
import { openSqlite } from "../../src/runtime/sqlite-node.ts";
import { keys } from "../../src/store/keys.ts";
import type { KV } from "../../src/store/kv.ts";
import { createRedisStore } from "../../src/store/redis.ts";
import { createRepos } from "../../src/store/repos/index.ts";
import type { SqliteDb } from "../../src/store/sqlite.ts";
import { type RedisHandle, startRedis, waitForStore } from "../support/redis-server.ts";

const USERS = 250;
const TENANTS = 3;

async function expectSeeded(kv: KV, plan: SeedPlan): Promise<void> {
  const repos = createRepos({
    kv,
    logger: silentLogger,
    clock: { now: () => Date.now() },
    oobCodeTtlSeconds: 900,
  });
  expect(await kv.hlen(keys.users())).toBe(plan.users);
  for (const i of [0, 1, 117, plan.users - 1]) {
    const id = benchUserId(i);
    const user = await repos.users.getById(id);
    expect(user).toMatchObject({ ...benchUser(i, plan), raw: expect.any(Object) });
    expect((await repos.users.findByEmail(benchEmail(i)))?.localId).toBe(id);
    const tenantId = benchTenant(i, plan.tenants);
    expect(await repos.memberships.get(tenantId, id)).toMatchObject({
      tenantId,
      userId: id,
      roles: ["COMPANY_EMPLOYEE"],
    });
    expect((await repos.memberships.tenantsOfUser(id)).map((m) => m.tenantId)).toEqual([tenantId]);
  }
  for (let t = 0; t < plan.tenants; t++) {
    expect(await repos.tenants.get(`bench-${t}`)).toMatchObject({ id: `bench-${t}`, status: "ACTIVE" });
    expect(await repos.clients.get(`bench-${t}`, BENCH_CLIENT)).toMatchObject({
      status: "ACTIVE",
      allowedGrantTypes: ["token_exchange"],
      defaultScopes: ["codeq:claim"],
    });
  }
  // The shared hash is a real argon2id hash of the bench password.
  const hasher = createInProcessPasswordHasher({
    scheme: "argon2id",
    bcryptCost: 10,
    scrypt: { ln: 15, r: 8, p: 1 },
    argon2id: { m: 19_456, t: 2, p: 1 },
  });
  expect(await hasher.verify(BENCH_PASSWORD, (await repos.users.getById(benchUserId(5)))!.password)).toBe(
    true,
  );
}

let plan: SeedPlan;
const dirs: string[] = [];
let redis: RedisHandle | undefined;

afterAll(async () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  await redis?.stop();
});

describe("scripts/seed.ts bulk seeding", () => {
  it("writes users the embedded engine and the repos read back (small batches, re-run safe)", async () => {
    plan = { users: USERS, tenants: TENANTS, passwordHash: await seedPasswordHash(), batch: 64 };
    const dataDir = mkdtempSync(join(tmpdir(), "tikti-seed-"));
    dirs.push(dataDir);
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
      seedUsersEmbedded(db!, plan);
      // A second run over the same range changes nothing (upserts).
      seedUsersEmbedded(db!, plan, 100);
      await seedTenants(kv, plan.tenants);
      await expectSeeded(kv, plan);
    } finally {
      await kv.close();
    }
  });

  it("writes users Redis and the repos read back", async () => {
    redis = await startRedis();
    const kv = createRedisStore({ addr: redis.addr, logger: silentLogger });
    const client = createClient({ socket: { host: redis.host, port: redis.port } });
    await client.connect();
    try {
      await waitForStore(kv);
      await seedTenants(kv, plan.tenants);
      await seedUsersRedis(client, { ...plan, batch: 64 });
      await expectSeeded(kv, plan);
    } finally {
      client.destroy();
      await kv.close();
    }
  });
});
