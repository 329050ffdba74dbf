/**
 * Store round trips of one `POST /accounts/token/exchange` (issue 14 item 2: "exchange in at most two
 * round trips on Redis: pipeline what is known up front"; docs/adr/0110-exchange-reads-ahead.md),
 * counted with test/support/round-trips.ts on both engines: the reads that depend only on the
 * idToken's claims and the body go out with procedure V's user read, the role reads of *P* with
 * the rate-limit increment.
 */
import { createHash } from "node:crypto";
import { beforeEach, expect, it } from "vitest";
import { storeUnavailable } from "../../src/errors.ts";
import { hashSubject } from "../../src/services/rate-limit.ts";
import { keys } from "../../src/store/keys.ts";
import { type Engine, forEachEngine, type TestApp } from "../support/app.ts";
import { buildExchangeApp, idToken, SID, seed, T1, T2, USER, WORKER } from "../support/exchange-fixture.ts";
import { countingEngine, type RoundTrips } from "../support/round-trips.ts";

forEachEngine("store round trips of one token exchange", (engine) => {
  let t: TestApp;
  let rt: RoundTrips;

  beforeEach(async () => {
    // As on Bun and Node: the rate-limit subject is hashed synchronously (Web Crypto's digest, as on
    // Deno, issues the increment a task later: a third, overlapping round trip).
    const sha256Sync = (data: Uint8Array) => new Uint8Array(createHash("sha256").update(data).digest());
    ({ t } = await buildExchangeApp(
      countingEngine(engine, (counted) => {
        rt = counted;
      }),
      {},
      { sha256Sync },
    ));
    await seed(t, { memberships: { [T1]: ["COMPANY_EMPLOYEE", "reader"], [T2]: ["COMPANY_EMPLOYEE"] } });
    await t.app.services.repos.roles.put(T1, { name: "reader", permissions: ["docs:read"] });
  });

  async function exchange(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    rt.reset();
    const res = await t.call("/accounts/token/exchange", {
      json: { audience: WORKER, eventTypes: ["render_video"], ...body },
    });
    expect(res.status, await res.clone().text()).toBe(200);
    return (await res.json()) as Record<string, unknown>;
  }

  /** Round trip `i` as sorted `command key` entries. */
  const trip = (i: number) => [...(rt.trips[i] ?? [])].sort();

  it("the token names the tenant: two round trips (V with T's reads; the rate limit with the roles)", async () => {
    await exchange({ idToken: await idToken(t, { tid: T1 }) });
    expect(rt.trips).toHaveLength(2);
    expect(trip(0)).toEqual(
      [
        `hget ${keys.users()}`,
        `hget ${keys.tenants()}`,
        `hget ${keys.memberships(T1)}`,
        `hget ${keys.clients(T1)}`,
      ].sort(),
    );
    // The global role and the membership's other role.
    expect(trip(1)).toEqual(
      [
        `rlIncr ${keys.rateLimit("exchangeUser", await hashSubject(USER))}`,
        `hget ${keys.roles(T1)}`,
        `hget ${keys.roles(T1)}`,
      ].sort(),
    );
  });

  it("the body names another tenant than the token: still two round trips (both tenants read with the user)", async () => {
    await t.app.services.repos.clients.create(T2, { clientId: WORKER, secretHash: "", defaultScopes: [] });
    await exchange({ idToken: await idToken(t, { tid: T1 }), tenantId: T2 });
    expect(rt.trips).toHaveLength(2);
    expect(trip(0)).toEqual(
      [
        `hget ${keys.users()}`,
        `hget ${keys.tenants()}`,
        `hget ${keys.tenants()}`,
        `hget ${keys.memberships(T2)}`,
        `hget ${keys.clients(T2)}`,
      ].sort(),
    );
  });

  it("a SAML token: two round trips (its session read travels with the user)", async () => {
    await t.store.set(keys.samlSession(SID), JSON.stringify({ userId: USER, tenantId: T1, nameId: "n" }));
    await exchange({ idToken: await idToken(t, { tid: T1, amr: "saml" }) });
    expect(rt.trips).toHaveLength(2);
    expect(rt.trips[0]).toContain(`get ${keys.samlSession(SID)}`);
  });
});

/** `engine` whose stores fail every `HGET` of a key in `failing` as the store being down. */
function failingEngine(engine: Engine, failing: Set<string>): Engine {
  return {
    ...engine,
    async freshStore() {
      const kv = await engine.freshStore();
      return new Proxy(kv, {
        get(target, prop, receiver) {
          if (prop === "hget") {
            return (key: string, field: string) =>
              failing.has(key)
                ? Promise.reject(storeUnavailable(new Error(`test: ${key} down`)))
                : target.hget(key, field);
          }
          const value = Reflect.get(target, prop, receiver);
          return typeof value === "function" ? value.bind(target) : value;
        },
      });
    },
  };
}

forEachEngine("reads ahead keep the order of the exchange's failures", (engine) => {
  const failing = new Set<string>();
  let t: TestApp;

  async function build(config: Record<string, unknown> = {}): Promise<void> {
    failing.clear();
    ({ t } = await buildExchangeApp(failingEngine(engine, failing), config));
    await seed(t);
  }

  const exchange = async (body: Record<string, unknown> = {}) =>
    t.call("/accounts/token/exchange", {
      json: {
        idToken: await idToken(t, { tid: T1 }),
        audience: WORKER,
        eventTypes: ["render_video"],
        ...body,
      },
    });

  const codeOf = async (res: Response) => [res.status, ((await res.json()) as { code?: string }).code];

  beforeEach(() => build());

  it("step 3 before 7 and 8: a rate-limited request is 429 although its membership and client reads failed", async () => {
    await build({ rateLimits: { exchangeUser: { limit: 1, windowSeconds: 60 } } });
    expect((await exchange()).status).toBe(200);
    failing.add(keys.memberships(T1)).add(keys.clients(T1));
    expect(await codeOf(await exchange())).toEqual([429, "RATE_LIMITED"]);
  });

  it("step 5 before 7: a disabled tenant is 400 INVALID_TENANT although the membership read failed", async () => {
    await t.app.services.repos.tenants.create({ id: "tenant-3", slug: "tenant-3", name: "T3" });
    await t.app.services.repos.tenants.setStatus("tenant-3", "DISABLED");
    failing.add(keys.memberships("tenant-3"));
    expect(await codeOf(await exchange({ tenantId: "tenant-3" }))).toEqual([400, "INVALID_TENANT"]);
  });

  it("the failed read answers at its own step: membership (7), then client (8), as 503 STORE_UNAVAILABLE", async () => {
    failing.add(keys.clients(T1));
    expect(await codeOf(await exchange())).toEqual([503, "STORE_UNAVAILABLE"]);
    // Not a member of tenant 2: step 7 answers before the failed client read of step 8.
    failing.add(keys.clients(T2));
    expect(await codeOf(await exchange({ tenantId: T2 }))).toEqual([403, "TENANT_ACCESS_DENIED"]);
  });
});
