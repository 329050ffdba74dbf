/**
 * Store reads per request (issue 13 item 6, "store re-reads"): the token exchange reads the token's
 * tenant once — procedure V reads it (docs/spec/tokens.md §4.1 V10, docs/spec/api.md §2.11.4) and
 * step 5 of docs/spec/tokens.md §7 reuses it. A counting KV wrapper makes a second read fail the test.
 */
import { beforeEach, expect, it } from "vitest";
import { silentLogger } from "../../src/logger.ts";
import { keys } from "../../src/store/keys.ts";
import type { KV } from "../../src/store/kv.ts";
import { basic, buildOAuthApp, createClient } from "../oauth/support.ts";
import { buildTestApp, forEachEngine, type TestApp } from "../support/app.ts";

const T1 = "tenant-1";
const T2 = "tenant-2";
const USER = "user-1";
const EMAIL = "worker@example.com";
const SID = "0123456789abcdef0123456789abcdef";

/** `kv` counting `HGET tenants <id>` per tenant id; everything else passes through. */
function countingTenantReads(kv: KV): { kv: KV; reads: Map<string, number> } {
  const reads = new Map<string, number>();
  const wrapped = new Proxy(kv, {
    get(target, prop, receiver) {
      if (prop === "hget") {
        return (key: string, field: string) => {
          if (key === keys.tenants()) reads.set(field, (reads.get(field) ?? 0) + 1);
          return target.hget(key, field);
        };
      }
      const value = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { kv: wrapped, reads };
}

forEachEngine("store reads of one token exchange", (engine) => {
  let t: TestApp;
  let reads: Map<string, number>;

  beforeEach(async () => {
    const counted = countingTenantReads(await engine.freshStore());
    reads = counted.reads;
    t = await buildTestApp({ store: counted.kv });
    const { repos } = t.app.services;
    await repos.users.create({ localId: USER, email: EMAIL, password: "", role: "COMPANY_EMPLOYEE" });
    for (const id of [T1, T2]) {
      await repos.tenants.create({ id, slug: id, name: id });
      await repos.memberships.put(id, USER, ["COMPANY_EMPLOYEE"]);
      await repos.clients.create(id, { clientId: "worker", secretHash: "", defaultScopes: [] });
    }
    await t.store.set(keys.samlSession(SID), JSON.stringify({ userId: USER, tenantId: T1, nameId: EMAIL }));
    reads.clear();
  });

  async function idToken(tid: string, saml: boolean): Promise<string> {
    const signed = await t.deps.idTokens.sign({
      sub: USER,
      email: EMAIL,
      role: "COMPANY_EMPLOYEE",
      amr: saml ? "saml" : "pwd",
      ver: 0,
      tid,
      ...(saml ? { sid: SID } : {}),
    });
    return signed.token;
  }

  it("reads the token's tenant once (password and SAML tokens)", async () => {
    for (const saml of [false, true]) {
      reads.clear();
      const result = await t.app.services.exchange.exchange(
        { idToken: await idToken(T1, saml), audience: "worker", tenantId: T1 },
        silentLogger,
      );
      expect(result.accessToken).not.toBe("");
      expect(Object.fromEntries(reads), `saml=${saml}`).toEqual({ [T1]: 1 });
    }
  });

  it("another target tenant than the token's tid is read once more (its own record)", async () => {
    await t.app.services.exchange.exchange(
      { idToken: await idToken(T1, false), audience: "worker", tenantId: T2 },
      silentLogger,
    );
    expect(Object.fromEntries(reads)).toEqual({ [T1]: 1, [T2]: 1 });
  });

  it("/oauth/token exchange: the client's tenant, read by client authentication, is the token's (one read)", async () => {
    const counted = countingTenantReads(await engine.freshStore());
    const o = await buildOAuthApp({ ...engine, freshStore: async () => counted.kv });
    await o.app.services.repos.users.create({
      localId: USER,
      email: EMAIL,
      password: "",
      role: "COMPANY_EMPLOYEE",
    });
    await o.app.services.repos.tenants.create({ id: T1, slug: T1, name: T1 });
    await o.app.services.repos.memberships.put(T1, USER, []);
    const backend = await createClient(o, T1, { clientId: "backend", allowedGrantTypes: ["token_exchange"] });
    const signed = await o.deps.idTokens.sign({
      sub: USER,
      email: EMAIL,
      role: "COMPANY_EMPLOYEE",
      amr: "pwd",
      ver: 0,
      tid: T1,
    });
    counted.reads.clear();
    const res = await o.form(
      "/oauth/token",
      {
        grant_type: "urn:ietf:params:oauth:grant-type:token-exchange",
        subject_token: signed.token,
        subject_token_type: "urn:ietf:params:oauth:token-type:id_token",
      },
      { headers: { authorization: basic(backend.oauthClientId, backend.secret) } },
    );
    expect(res.status, await res.clone().text()).toBe(200);
    expect(Object.fromEntries(counted.reads)).toEqual({ [T1]: 1 });
  });
});
