/**
 * Refresh-token rotation on a real 3-master Redis Cluster (docs/spec/oauth.md §6, ADR 0045): the token
 * records, family markers and denylist entries spread over the masters, and N concurrent uses of
 * one live token still have exactly one winner. (The embedded store and standalone Redis are
 * covered by test/oauth/refresh-tokens.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/logger.ts";
import type { KV } from "../../src/store/kv.ts";
import { createRedisStore } from "../../src/store/redis.ts";
import { buildTestApp, type TestApp } from "../support/app.ts";
import { type RedisClusterHandle, startRedisCluster, waitForStore } from "../support/redis-server.ts";

describe("refresh tokens on a Redis Cluster", () => {
  let cluster: RedisClusterHandle;
  let kv: KV;
  let t: TestApp;

  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3 });
    kv = createRedisStore({ cluster: cluster.nodes, logger: silentLogger });
    await waitForStore(kv);
    t = await buildTestApp({ store: kv, config: { rateLimits: { enabled: false } } });
  }, 120_000);
  afterAll(async () => {
    await kv?.close();
    await cluster?.stop();
  });

  it("N concurrent uses of one live token: exactly one winner; reuse revokes the family; sign-out ends another", async () => {
    const user = await t.app.services.repos.users.create({ email: "carol@example.com", password: "" });
    const service = t.app.services.refreshTokens;
    const ctx = { clientIp: "192.0.2.10" };
    for (let round = 0; round < 3; round++) {
      const token = (await service.startFamily(user, { amr: "pwd" }))!;
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, () =>
          service.refresh({ grantType: "refresh_token", refreshToken: token }, ctx),
        ),
      );
      const won = results.filter((r) => r.status === "fulfilled");
      expect(won).toHaveLength(1);
      for (const r of results) {
        if (r.status === "rejected") expect(r.reason.code).toBe("INVALID_REFRESH_TOKEN");
      }
      const successor = (won[0] as PromiseFulfilledResult<{ refreshToken: string }>).value.refreshToken;
      const again = service.refresh({ grantType: "refresh_token", refreshToken: successor }, ctx);
      await expect(again).rejects.toMatchObject({ code: "INVALID_REFRESH_TOKEN" });
    }
    const other = (await service.startFamily(user, { amr: "oob" }))!;
    const { refreshToken } = await service.refresh({ grantType: "refresh_token", refreshToken: other }, ctx);
    await service.signOut(refreshToken, ctx);
    await expect(service.refresh({ grantType: "refresh_token", refreshToken }, ctx)).rejects.toMatchObject({
      code: "INVALID_REFRESH_TOKEN",
    });
  });
});
