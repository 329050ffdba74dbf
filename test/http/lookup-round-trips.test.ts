/**
 * Store round trips of one `POST /accounts/lookup` (issue 14 item 2: "lookup in at most two round trips
 * on Redis: pipeline what is known up front"), counted by test/support/round-trips.ts: an upper bound
 * on the real count, so a third round trip fails the test.
 */
import { beforeAll, beforeEach, expect, it } from "vitest";
import type { User } from "../../src/domain/types.ts";
import { keys } from "../../src/store/keys.ts";
import { forEachEngine } from "../support/app.ts";
import { countingEngine, type RoundTrips } from "../support/round-trips.ts";
import { type AccountsApp, accountsApp, samlTokenFor, seedUser, tokenFor } from "./accounts-support.ts";

forEachEngine("store round trips of one lookup", (engine) => {
  let t: AccountsApp;
  let rt: RoundTrips;
  let member: User;
  let memberToken: string;

  beforeAll(async () => {
    t = await accountsApp(
      countingEngine(engine, (counted) => {
        rt = counted;
      }),
    );
    for (const id of ["acme", "beta", "zeta"]) {
      await t.app.services.repos.tenants.create({ id, slug: id, name: id });
    }
    member = await seedUser(t, "rt1@example.com", { companyId: "zeta" });
    await t.app.services.repos.memberships.put("zeta", member.localId, ["x"]);
    await t.app.services.repos.memberships.put("beta", member.localId, ["x"]);
    memberToken = await tokenFor(t, member);
  });
  beforeEach(() => rt.reset());

  const lookup = async (idToken: string) => {
    const res = await t.post("/accounts/lookup", { idToken });
    expect(res.status, await res.clone().text()).toBe(200);
    return ((await res.json()) as { users: Array<Record<string, unknown>> }).users[0];
  };

  it("a member of two tenants: two round trips (user, tenant and membership index; the memberships)", async () => {
    expect((await lookup(memberToken))?.tenantId).toBe("beta");
    expect(rt.trips).toHaveLength(2);
    expect(rt.trips[0]).toEqual(
      expect.arrayContaining([
        `hget ${keys.users()}`,
        `hget ${keys.tenants()}`,
        `smembers ${keys.membershipsByUser(member.localId)}`,
      ]),
    );
    expect([...(rt.trips[1] ?? [])].sort()).toEqual([
      `hget ${keys.memberships("beta")}`,
      `hget ${keys.memberships("zeta")}`,
    ]);
  });

  it("a user without memberships: one round trip", async () => {
    const loner = await seedUser(t, "rt2@example.com", { companyId: "acme" });
    const token = await tokenFor(t, loner);
    rt.reset();
    expect((await lookup(token))?.tenantId).toBe("acme");
    expect(rt.trips).toHaveLength(1);
  });

  it("a SAML token: one round trip (user, tenant and SAML session together)", async () => {
    const federated = await seedUser(t, "rt3@example.com", { companyId: "acme" });
    const token = await samlTokenFor(t, federated, "beta");
    rt.reset();
    expect((await lookup(token))?.tenantId).toBe("beta");
    expect(rt.trips).toHaveLength(1);
    expect(rt.trips[0]).toContain(`get ${keys.samlSession("0123456789abcdef0123456789abcdef")}`);
  });

  it("a rejected token starts no store read that outlives the answer", async () => {
    const res = await t.post("/accounts/lookup", { idToken: `${memberToken.slice(0, -2)}xx` });
    expect(res.status).toBe(401);
    expect(rt.trips).toEqual([]);
  });
});
