/**
 * Store reads of one SAML login (issue 13 item 6, "store re-reads"): a returning user's ACS reads the
 * user record once and the membership once; the login that links an existing member reads the
 * membership once too. A counting KV wrapper makes a re-read fail the test.
 */
import { afterAll, beforeAll, beforeEach, expect, it } from "vitest";
import { keys } from "../../../src/store/keys.ts";
import type { KV } from "../../../src/store/kv.ts";
import { forEachEngine, manualClock } from "../../support/app.ts";
import { type FlowApp, flowApp, type Idp, PERSISTENT_FORMAT, setupFiles, signIn } from "./idp.ts";

/** `kv` counting `HGET <key> <field>` as `key field`; everything else passes through. */
function countingHget(kv: KV): { kv: KV; reads: string[] } {
  const reads: string[] = [];
  const wrapped = new Proxy(kv, {
    get(target, prop, receiver) {
      if (prop === "hget") {
        return (key: string, field: string) => {
          reads.push(`${key} ${field}`);
          return target.hget(key, field);
        };
      }
      const value = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { kv: wrapped, reads };
}

forEachEngine("store reads of one SAML login", (engine) => {
  let setup: Idp;
  let t: FlowApp;
  let reads: string[];
  beforeAll(async () => {
    setup = await setupFiles();
  });
  afterAll(() => setup.cleanup());
  beforeEach(async () => {
    const counted = countingHget(await engine.freshStore());
    reads = counted.reads;
    t = await flowApp({ store: counted.kv, setup, clock: manualClock(Date.now()), tenants: ["acme"] });
  });

  it("a returning user: the user record and the membership are each read once by the ACS", async () => {
    const first = await signIn(t);
    const userId = first.claims.sub as string;
    reads.length = 0;
    const again = await signIn(t);
    expect(again.claims.sub).toBe(userId);
    const count = (entry: string) => reads.filter((r) => r === entry).length;
    expect(count(`${keys.users()} ${userId}`)).toBe(1);
    expect(count(`${keys.memberships("acme")} ${userId}`)).toBe(1);
  });

  it("the login that links an existing member reads that membership once", async () => {
    const signUp = await t.call("/accounts/signUp", {
      json: { email: "bob@example.test", password: "correct horse battery" },
    });
    expect(signUp.status, await signUp.clone().text()).toBe(200);
    const userId = ((await signUp.json()) as { localId: string }).localId;
    const added = await t.call("/tenants/acme/users", {
      json: { email: "bob@example.test", roles: ["manager"] },
    });
    expect(added.status, await added.clone().text()).toBe(200);
    reads.length = 0;
    const s = await signIn(t, {
      assertion: {
        nameId: "bob-at-idp",
        nameIdFormat: PERSISTENT_FORMAT,
        attributes: { mail: ["bob@example.test"] },
      },
    });
    expect(s.claims.sub).toBe(userId);
    expect(reads.filter((r) => r === `${keys.memberships("acme")} ${userId}`)).toHaveLength(1);
    // The link kept the membership as it was (roleMap empty).
    expect((await t.app.services.repos.memberships.get("acme", userId))?.roles).toEqual(["manager"]);
  });
});
