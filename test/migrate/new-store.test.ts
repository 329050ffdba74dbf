/**
 * A store the server created is recorded as migrated (src/store/new-store.ts, docs/migration.md):
 * the real server (Node, a child process) on a new embedded store and on an empty redis-server,
 * then tikti-migrate's `--list` and a run; a Go keyspace the server starts on stays pending.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MIGRATIONS } from "../../migrate/migrations/index.ts";
import { silentLogger } from "../../src/logger.ts";
import { MIGRATIONS_SATISFIED_BY_SERVER } from "../../src/store/new-store.ts";
import { createRedisStore } from "../../src/store/redis.ts";
import { type RedisHandle, rawClient, startRedis, waitFor, waitForStore } from "../support/redis-server.ts";
import { startTikti } from "../support/tikti-process.ts";
import { writeGoFixtures } from "./go-fixtures.ts";
import { runCli } from "./support.ts";

const ALL_APPLIED = /^\d{4}_[a-z0-9_]+\s+applied \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

it("the server records exactly the migrations tikti-migrate knows (a new one needs a decision)", () => {
  expect([...MIGRATIONS_SATISFIED_BY_SERVER]).toEqual(MIGRATIONS.map((m) => m.id));
});

describe("a store the server created [embedded]", () => {
  it("--list shows every migration applied; a run has nothing to do", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tikti-new-store-"));
    try {
      const server = await startTikti({ runtime: "node", dir });
      try {
        expect(server.stdout()).toContain('"msg":"new store: migrations recorded as applied"');
      } finally {
        await server.stop();
      }
      const dataDir = join(dir, "data");
      const list = await runCli(["--data-dir", dataDir, "--list"]);
      expect(list.code, list.all).toBe(0);
      expect(list.stdout).toHaveLength(MIGRATIONS.length);
      for (const line of list.stdout) expect(line).toMatch(ALL_APPLIED);
      const run = await runCli(["--data-dir", dataDir]);
      expect(run.code, run.all).toBe(0);
      expect(run.stdout.at(-1)).toMatch(/^nothing to do/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("a store the server created [redis]", () => {
  let redis: RedisHandle;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  const flush = async () => {
    const c = await rawClient(redis);
    await c.flushAll();
    c.destroy();
  };

  it("an empty Redis the server starts on is recorded as migrated (records name the server)", async () => {
    await flush();
    const server = await startTikti({ runtime: "node", config: { redisAddr: redis.addr } });
    try {
      const list = await runCli(["--redis-addr", redis.addr, "--list"]);
      expect(list.code, list.all).toBe(0);
      expect(list.stdout).toHaveLength(MIGRATIONS.length);
      for (const line of list.stdout) expect(line).toMatch(ALL_APPLIED);
      const c = await rawClient(redis);
      const record = JSON.parse((await c.hGet("tikti:migrations", "0001")) ?? "{}");
      c.destroy();
      expect(record).toMatchObject({ id: "0001", counts: {} });
      expect(record.toolVersion).toMatch(/^tikti \d+\.\d+\.\d+ \(.+\): new store$/);
    } finally {
      await server.stop();
    }
  });

  it("a Go keyspace the server starts on is left to tikti-migrate: every migration stays pending", async () => {
    await flush();
    const kv = createRedisStore({ addr: redis.addr, logger: silentLogger });
    try {
      await waitForStore(kv);
      await writeGoFixtures(kv);
    } finally {
      await kv.close();
    }
    const server = await startTikti({ runtime: "node", config: { redisAddr: redis.addr } });
    try {
      // docs/spec/operations.md §4: the legacy hash without 0001 recorded is a start-up warning (logged once
      // the store first answers, which may be just after "tikti listening").
      const warning = '"msg":"legacy users hash present and migration 0001 not recorded: run tikti-migrate"';
      expect(await waitFor(async () => server.stdout().includes(warning), 10_000)).toBe(true);
      expect(server.stdout()).not.toContain("new store");
      const list = await runCli(["--redis-addr", redis.addr, "--list"]);
      expect(list.code, list.all).toBe(0);
      expect(list.stdout).toHaveLength(MIGRATIONS.length);
      for (const line of list.stdout) expect(line).toMatch(/\s+pending$/);
    } finally {
      await server.stop();
    }
  });
});
