/**
 * tikti-migrate on a real 3-master Redis Cluster (docs/spec/storage.md §8): the keys of one Go keyspace are
 * spread over every master; index keys are found by SCAN on each, users by HSCAN, and the result,
 * the dry run and the re-run behave as on a single node.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/logger.ts";
import type { KV } from "../../src/store/kv.ts";
import { createRedisStore } from "../../src/store/redis.ts";
import {
  type RedisClusterHandle,
  rawClient,
  startRedisCluster,
  waitForStore,
} from "../support/redis-server.ts";
import { DEFAULT_TENANT, EXPECTED_COUNTS, USERS, writeGoFixtures } from "./go-fixtures.ts";
import { blockCounts, dumpKeyspace, expectSameKeyspace, FIXED_NOW, field, runCli } from "./support.ts";

describe("tikti-migrate [redis-cluster]", () => {
  let cluster: RedisClusterHandle;
  let kv: KV;

  beforeAll(async () => {
    cluster = await startRedisCluster();
    kv = createRedisStore({ cluster: cluster.nodes, logger: silentLogger });
    await waitForStore(kv);
    await writeGoFixtures(kv, Math.floor(FIXED_NOW / 1000));
  });
  afterAll(async () => {
    await kv?.close();
    await cluster?.stop();
  });

  const args = (...more: string[]) => ["--redis-cluster", cluster.nodes.join(","), ...more];

  it("the Go keyspace really is spread over several masters", async () => {
    let mastersWithIndexKeys = 0;
    for (const server of cluster.servers) {
      const c = await rawClient(server);
      const [, keys] = (await c.sendCommand(["SCAN", "0", "MATCH", "userByEmail:*", "COUNT", "1000"])) as [
        string,
        string[],
      ];
      if (keys.length > 0) mastersWithIndexKeys++;
      c.destroy();
    }
    expect(mastersWithIndexKeys).toBeGreaterThan(1);
  });

  it("dry run writes nothing; the run counts as on one node; a second run changes nothing", async () => {
    const before = await dumpKeyspace(kv);
    let started = Date.now();
    const dry = await runCli(args("--default-tenant", DEFAULT_TENANT, "--dry-run"));
    expect(dry.code, dry.all).toBe(0);
    expectSameKeyspace(before, await dumpKeyspace(kv), Date.now() - started);

    const r = await runCli(args("--default-tenant", DEFAULT_TENANT));
    expect(r.code, r.all).toBe(0);
    expect(blockCounts(r.stdout, "0002_email_index_normalise")).toMatchObject({
      "index keys": EXPECTED_COUNTS["0002"].indexKeys,
      normalised: 1,
      merged: 1,
      removed: 2,
    });
    expect(blockCounts(r.stdout, "0001_users_v2").migrated).toBe(5);
    expect(blockCounts(dry.stdout, "0001_users_v2")).toEqual(blockCounts(r.stdout, "0001_users_v2"));
    const after = await dumpKeyspace(kv);
    for (const u of USERS) {
      expect(after.get(`userByEmail:${u.normalised}`)?.value, u.label).toBe(u.id);
      expect(field(after, "users_v2", u.id)?.authSource, u.label).toBe("password");
    }
    expect([...after.keys()].filter((k) => k.startsWith("userByEmail:"))).toHaveLength(USERS.length);

    started = Date.now();
    const again = await runCli(args());
    expect(again.code).toBe(0);
    expect(again.stdout.at(-1)).toBe("nothing to do: all selected migrations are already applied");
    expectSameKeyspace(after, await dumpKeyspace(kv), Date.now() - started);
  });
});
