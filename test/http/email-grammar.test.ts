/**
 * Issue 11 §6: no email with a control (C0, DEL, C1) or Unicode format (Cf) character enters the
 * store, whichever way it comes in: sign-up (open and admin), update, tenant code dispatch (which
 * creates users), membership creation, and SAML JIT attributes. Both engines.
 */
import { expect, it } from "vitest";
import { DEFAULT_ATTRIBUTE_MAP, NAMEID_EMAIL } from "../../src/saml/idp-records.ts";
import { mapAttributes } from "../../src/services/saml/jit.ts";
import { keys } from "../../src/store/keys.ts";
import type { KV } from "../../src/store/kv.ts";
import { forEachEngine } from "../support/app.ts";
import { describeWithoutEngine } from "../support/engines.ts";
import { accountsApp, expectError, PASSWORD, seedUser, storedUser, tokenFor } from "./accounts-support.ts";

/** ESC (an ANSI colour sequence), C1 NEL and CSI, DEL, zero-width space, RLO (bidi override), BOM inside. */
const HOSTILE = [
  "eve\u001b[31m@example.com",
  "eve\u0085@example.com",
  "eve\u009b2J@example.com",
  "eve\u007f@example.com",
  "ev\u200be@example.com",
  "admin\u202emoc.elpmaxe@evil.io",
  "eve@exa\ufeffmple.com",
];

async function emailIndexKeys(kv: KV): Promise<string[]> {
  const out: string[] = [];
  for await (const batch of kv.scan("userByEmail:")) out.push(...batch);
  return out;
}

forEachEngine("email grammar at every entry point", (engine) => {
  it("sign-up (open and privileged) refuses each hostile email with 400 and writes nothing", async () => {
    const t = await accountsApp(engine);
    for (const email of HOSTILE) {
      await expectError(
        await t.post("/accounts/signUp", { email, password: PASSWORD }, { key: false }),
        "INVALID_ARGUMENT",
        { email: "must be a valid email address" },
      );
      await expectError(
        await t.post("/accounts/signUp", { email, password: PASSWORD, role: "ADMIN" }),
        "INVALID_ARGUMENT",
        { email: "must be a valid email address" },
      );
    }
    expect(await emailIndexKeys(t.store)).toEqual([]);
    // The same address without the hostile character is fine.
    expect((await t.post("/accounts/signUp", { email: "eve@example.com", password: PASSWORD })).status).toBe(
      200,
    );
  });

  it("update refuses a hostile new email and leaves the record as it was", async () => {
    const t = await accountsApp(engine);
    const user = await seedUser(t, "frank@example.com");
    const idToken = await tokenFor(t, user);
    for (const email of HOSTILE) {
      await expectError(await t.post("/accounts/update", { idToken, email }), "INVALID_ARGUMENT", {
        email: "must be a valid email address",
      });
    }
    expect(await storedUser(t, user.localId)).toMatchObject({ email: "frank@example.com", tokenVersion: 0 });
  });

  it("tenant code dispatch does not create a user with a hostile email", async () => {
    const t = await accountsApp(engine);
    await t.app.services.repos.tenants.create({ id: "acme", slug: "acme", name: "Acme" });
    for (const email of HOSTILE.slice(0, 3)) {
      const res = await t.post("/tenants/acme/oob/send", { requestType: "EMAIL_SIGNIN", email });
      await expectError(res, "INVALID_ARGUMENT");
    }
    expect(await emailIndexKeys(t.store)).toEqual([]);
    expect(await t.store.hlen(keys.users())).toBe(0);
  });

  it("membership creation refuses a hostile email (400 naming the field)", async () => {
    const t = await accountsApp(engine);
    await t.app.services.repos.tenants.create({ id: "acme", slug: "acme", name: "Acme" });
    for (const email of HOSTILE) {
      const res = await t.post("/tenants/acme/users", { email, roles: ["viewer"] });
      expect(res.status).toBe(400);
      expect((await res.json()).details).toHaveProperty("email");
    }
  });
});

describeWithoutEngine("SAML JIT attributes (docs/spec/saml.md §8.1)", () => {
  const map = { ...DEFAULT_ATTRIBUTE_MAP };
  it("an asserted email or an email NameID with a control or format character is refused", () => {
    for (const email of HOSTILE) {
      expect(mapAttributes({ mail: [email] }, map, "n-1", null)).toEqual({
        ok: false,
        detail: "email_invalid",
      });
      expect(mapAttributes({}, map, email, NAMEID_EMAIL)).toEqual({
        ok: false,
        detail: "email_name_id_invalid",
      });
    }
    expect(mapAttributes({ mail: ["Eve@Example.com"] }, map, "n-1", null)).toMatchObject({
      ok: true,
      mapped: { email: "eve@example.com" },
    });
  });
});
