/**
 * Attribute mapping, JIT provisioning, linking and role sync through the ACS route (docs/spec/saml.md
 * §8, docs/spec/storage.md §4.3): new federated users, linking of existing members only, an email held by
 * a non-member refused (`email_conflict`, neither takeover nor shadow account), one user per NameID
 * under concurrency, roleMap as the only source of roles, tenant
 * attributes stripped, inactive users refused.
 */
import { afterAll, beforeAll, beforeEach, expect, it } from "vitest";
import { isRoleName } from "../../../src/domain/grammar.ts";
import { DEFAULT_ATTRIBUTE_MAP, NAMEID_EMAIL } from "../../../src/saml/idp-records.ts";
import { mapAttributes, mapRoles } from "../../../src/services/saml/jit.ts";
import { keys } from "../../../src/store/keys.ts";
import { forEachEngine, manualClock } from "../../support/app.ts";
import {
  ACS,
  claimsOf,
  cookieSet,
  DEFAULT_USER,
  type FlowApp,
  flowApp,
  type Idp,
  login,
  PERSISTENT_FORMAT,
  postAcs,
  SP_ENTITY,
  STATE,
  samlAudits,
  setupFiles,
  signIn,
} from "./idp.ts";

const map = {
  email: [...DEFAULT_ATTRIBUTE_MAP.email],
  name: [...DEFAULT_ATTRIBUTE_MAP.name],
  roles: [...DEFAULT_ATTRIBUTE_MAP.roles],
};

it("maps attributes per §8.1 (first listed non-empty, normalised email, NameID fallback)", () => {
  expect(
    mapAttributes({ mail: ["", " Bob@Example.TEST "], displayName: ["Bob"] }, map, "n", PERSISTENT_FORMAT),
  ).toEqual({ ok: true, mapped: { email: "bob@example.test", name: "Bob", roles: [] } });
  expect(
    mapAttributes(
      { "urn:oid:0.9.2342.19200300.100.1.3": ["oid@example.test"], mail: ["first@example.test"] },
      map,
      "n",
      null,
    ),
  ).toMatchObject({ mapped: { email: "first@example.test" } });
  expect(mapAttributes({}, map, "Carol@Example.test", NAMEID_EMAIL)).toMatchObject({
    mapped: { email: "carol@example.test" },
  });
  expect(mapAttributes({}, map, "carol@example.test", PERSISTENT_FORMAT)).toEqual({
    ok: false,
    detail: "email_missing",
  });
  // An email attribute that is present but invalid is not replaced by the NameID.
  expect(mapAttributes({ mail: ["nope"] }, map, "carol@example.test", NAMEID_EMAIL)).toMatchObject({
    ok: false,
  });
  // Roles: the first listed name present, at most 100 values of at most 256 characters.
  const many = Array.from({ length: 150 }, (_, i) => `g${i}`);
  const r = mapAttributes(
    { mail: ["a@b.test"], groups: [...many.slice(0, 99), "x".repeat(257), ...many.slice(99)] },
    map,
    "n",
    null,
  );
  expect(r.ok && r.mapped.roles.length).toBe(99);
  expect(r.ok && r.mapped.roles.includes("x".repeat(257))).toBe(false);
  // Prototype names are ordinary attribute names.
  expect(
    mapAttributes(JSON.parse('{"__proto__": ["p@x.test"]}'), { ...map, email: ["__proto__"] }, "n", null),
  ).toMatchObject({
    mapped: { email: "p@x.test" },
  });
});

it("maps roles only through roleMap, never to ADMIN or COMPANY_ADMIN", () => {
  const roleMap = {
    engineering: ["developer", "reader"],
    staff: ["reader"],
    boss: ["ADMIN", "COMPANY_ADMIN", "lead"],
  };
  expect(mapRoles(roleMap, ["engineering", "staff"])).toEqual(["developer", "reader"]);
  expect(mapRoles(roleMap, ["boss"])).toEqual(["lead"]);
  expect(mapRoles(roleMap, ["ADMIN", "unknown"])).toEqual(["COMPANY_EMPLOYEE"]);
  expect(mapRoles(roleMap, ["constructor", "__proto__", "toString"])).toEqual(["COMPANY_EMPLOYEE"]);
  expect(mapRoles({}, ["engineering"])).toEqual(["COMPANY_EMPLOYEE"]);
  expect(mapRoles({ a: ["bad role name"] }, ["a"]).every(isRoleName)).toBe(true);
});

forEachEngine("SAML JIT and linking (docs/spec/saml.md §8)", (engine) => {
  let setup: Idp;
  let t: FlowApp;
  beforeAll(async () => {
    setup = await setupFiles();
  });
  afterAll(() => setup.cleanup());
  beforeEach(async () => {
    t = await flowApp({
      store: await engine.freshStore(),
      setup,
      clock: manualClock(Date.now()),
      tenants: ["acme", "globex"],
    });
  });

  const repos = () => t.app.services.repos;

  async function passwordUser(email: string, role?: string): Promise<string> {
    const res = await t.call("/accounts/signUp", {
      json: { email, password: "correct horse battery", ...(role ? { role } : {}) },
    });
    expect(res.status, await res.clone().text()).toBe(200);
    return (await res.json()).localId;
  }

  async function addMember(tid: string, email: string, roles: string[] = ["COMPANY_EMPLOYEE"]) {
    const res = await t.call(`/tenants/${tid}/users`, { json: { email, roles } });
    expect(res.status, await res.clone().text()).toBe(200);
  }

  it("creates a federated user with authSource saml and a membership", async () => {
    const s = await signIn(t, { assertion: { nameId: "alice-nameid", nameIdFormat: PERSISTENT_FORMAT } });
    const user = (await repos().users.getById(s.claims.sub as string))!;
    expect(user).toMatchObject({
      email: DEFAULT_USER,
      password: "",
      role: "COMPANY_EMPLOYEE",
      status: "ACTIVE",
      companyId: "acme",
      authSource: "saml",
      externalSubject: "alice-nameid",
      tokenVersion: 0,
    });
    expect(await t.store.get(keys.samlSubject("acme", "alice-nameid"))).toBe(user.localId);
    expect((await repos().users.findByEmail(DEFAULT_USER))?.localId).toBe(user.localId);
    expect((await repos().memberships.get("acme", user.localId))?.roles).toEqual(["COMPANY_EMPLOYEE"]);
    expect(samlAudits(t).at(-1)).toMatchObject({ jit: "created", userId: user.localId });
    // A SAML-only user has no password: password sign-in fails.
    const signInRes = await t.call("/accounts/signInWithPassword", {
      json: { email: DEFAULT_USER, password: "anything-at-all" },
    });
    expect(signInRes.status).toBe(401);

    // Known subject: the same user again; its email is not changed by SAML.
    const again = await signIn(t, {
      assertion: {
        nameId: "alice-nameid",
        nameIdFormat: PERSISTENT_FORMAT,
        attributes: { mail: ["renamed@example.test"] },
      },
    });
    expect(again.claims.sub).toBe(user.localId);
    expect(again.claims.email).toBe(DEFAULT_USER);
    expect((await repos().users.getById(user.localId))!.email).toBe(DEFAULT_USER);
    expect(samlAudits(t).at(-1)).toMatchObject({ jit: "existing" });
  });

  it("links an existing member of the tenant, keeping authSource, password and global role", async () => {
    const id = await passwordUser("bob@example.test", "COMPANY_ADMIN");
    await addMember("acme", "bob@example.test", ["manager"]);
    const before = (await repos().users.getById(id))!;
    const s = await signIn(t, {
      assertion: {
        nameId: "bob-at-idp",
        nameIdFormat: PERSISTENT_FORMAT,
        attributes: { mail: ["Bob@Example.test"] },
      },
    });
    expect(s.claims.sub).toBe(id);
    expect(s.claims.role).toBe("COMPANY_ADMIN");
    const after = (await repos().users.getById(id))!;
    expect(after).toMatchObject({ authSource: "password", password: before.password, role: "COMPANY_ADMIN" });
    expect(await t.store.get(keys.samlSubject("acme", "bob-at-idp"))).toBe(id);
    // roleMap empty: the existing membership keeps its roles.
    expect((await repos().memberships.get("acme", id))?.roles).toEqual(["manager"]);
    expect(samlAudits(t).at(-1)).toMatchObject({ jit: "linked", userId: id });
    // The password still works.
    const pwd = await t.call("/accounts/signInWithPassword", {
      json: { email: "bob@example.test", password: "correct horse battery" },
    });
    expect(pwd.status).toBe(200);
  });

  /** The SP-initiated round trip for one assertion, whatever the answer. */
  async function acsAnswer(assertion: { nameId: string; email: string }): Promise<Response> {
    const l = await login(t);
    const r = await t.idp.signedResponse({
      acsUrl: ACS,
      audience: SP_ENTITY,
      requestId: l.requestId,
      assertion: {
        nameId: assertion.nameId,
        nameIdFormat: PERSISTENT_FORMAT,
        attributes: { mail: [assertion.email] },
      },
    });
    return postAcs(t, {
      samlResponse: r.base64,
      relayState: l.relayState,
      cookie: `${STATE}=${l.requestId}`,
    });
  }

  /** Every `users_v2` id whose record holds `email`. */
  async function usersWithEmail(email: string): Promise<string[]> {
    const ids: string[] = [];
    for await (const batch of t.store.hscan(keys.users())) {
      for (const [id, value] of batch) if (JSON.parse(value).email === email) ids.push(id);
    }
    return ids;
  }

  it("refuses an email held by a non-member (email_conflict): no second account, nothing written", async () => {
    const victim = await passwordUser("carol@example.test", "ADMIN");
    await addMember("globex", "carol@example.test");
    const before = (await repos().users.getById(victim))!;

    const res = await acsAnswer({ nameId: "carol-at-acme-idp", email: "Carol@Example.test" });
    expect(res.status).toBe(403);
    expect(res.headers.get("content-type")).toContain("text/html");
    const page = await res.text();
    expect(page).toContain("Access Denied");
    expect(page).not.toContain("carol");
    expect(page).not.toContain("email_conflict");
    expect(cookieSet(res, "tikti_idt")).toBeNull();
    // The expired state cookie, as on every ACS decision.
    expect(cookieSet(res, STATE)).toBe("");

    // Audited with the tenant and the attribute hash (which covers the email), no user.
    const audit = samlAudits(t).at(-1)!;
    expect(audit).toMatchObject({
      decision: "reject",
      reason: "email_conflict",
      detail: "email_held_by_non_member",
      tid: "acme",
      attrHash: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
    });
    expect(audit.userId).toBeUndefined();
    expect(audit.jit).toBeUndefined();
    expect(JSON.stringify(audit)).not.toContain("carol");
    const metrics = await (await t.call("/metrics")).text();
    expect(metrics).toContain('tikti_saml_validation_failures_total{reason="email_conflict",tid="acme"} 1');
    expect(metrics).not.toContain("tikti_saml_jit_provisions_total{");

    // No user, subject, membership or session was written; the victim is untouched.
    expect(await usersWithEmail("carol@example.test")).toEqual([victim]);
    expect(await repos().users.getById(victim)).toEqual(before);
    expect((await repos().users.findByEmail("carol@example.test"))?.localId).toBe(victim);
    expect(await t.store.get(keys.samlSubject("acme", "carol-at-acme-idp"))).toBeNull();
    expect(await repos().memberships.get("acme", victim)).toBeNull();
    const members = await (await t.call("/tenants/acme/users")).json();
    expect(members.users).toEqual([]);
    for await (const batch of t.store.scan(keys.samlSession(""))) expect(batch).toEqual([]);

    // The admin routes that address users by email keep reaching exactly one user.
    const status = await t.call("/accounts/status", {
      json: { email: "carol@example.test", status: "ACTIVE" },
    });
    expect(status.status).toBe(200);

    // Once the administrator adds the existing user to acme, the next login links it.
    await addMember("acme", "carol@example.test");
    const linked = await acsAnswer({ nameId: "carol-at-acme-idp", email: "carol@example.test" });
    expect(linked.status, await linked.clone().text()).toBe(302);
    expect(claimsOf(cookieSet(linked, "tikti_idt")!).sub).toBe(victim);
    expect(samlAudits(t).at(-1)).toMatchObject({ decision: "accept", jit: "linked", userId: victim });
    expect(await t.store.get(keys.samlSubject("acme", "carol-at-acme-idp"))).toBe(victim);
    expect(await usersWithEmail("carol@example.test")).toEqual([victim]);
    expect((await repos().users.getById(victim))!).toMatchObject({
      authSource: "password",
      role: "ADMIN",
      password: before.password,
    });
    // Removing the member now reaches that same user (it answered 404 while a shadow existed).
    const removed = await t.call("/tenants/acme/users/remove", { json: { email: "carol@example.test" } });
    expect(removed.status, await removed.clone().text()).toBe(200);
    expect((await removed.json()).userId).toBe(victim);
  });

  it("refuses the email of a SAML user of another tenant (one email, one account)", async () => {
    const first = await signIn(t, {
      tid: "globex",
      assertion: {
        nameId: "erin",
        nameIdFormat: PERSISTENT_FORMAT,
        attributes: { mail: ["erin@example.test"] },
      },
    });
    const res = await acsAnswer({ nameId: "erin", email: "erin@example.test" });
    expect(res.status).toBe(403);
    expect(samlAudits(t).at(-1)).toMatchObject({ tid: "acme", reason: "email_conflict" });
    expect(await usersWithEmail("erin@example.test")).toEqual([first.claims.sub]);
    expect(await t.store.get(keys.samlSubject("acme", "erin"))).toBeNull();
  });

  it("creates the user when the email index holds only a dangling claim (its user is gone)", async () => {
    const ghost = "00000000-0000-4000-8000-0000000000aa";
    await t.store.set(keys.userByEmail("frank@example.test"), ghost);
    const res = await acsAnswer({ nameId: "frank", email: "frank@example.test" });
    expect(res.status, await res.clone().text()).toBe(302);
    const sub = claimsOf(cookieSet(res, "tikti_idt")!).sub;
    expect(await t.store.get(keys.userByEmail("frank@example.test"))).toBe(sub);
    expect(await usersWithEmail("frank@example.test")).toEqual([sub]);
  });

  it("replaces a dangling samlSubject entry (user deleted) with a new user", async () => {
    await t.store.set(keys.samlSubject("acme", DEFAULT_USER), "00000000-0000-4000-8000-000000000000");
    const s = await signIn(t);
    expect(s.claims.sub).not.toBe("00000000-0000-4000-8000-000000000000");
    expect(await t.store.get(keys.samlSubject("acme", DEFAULT_USER))).toBe(s.claims.sub);
  });

  it("creates exactly one user for 10 concurrent logins of one new NameID", async () => {
    const logins = await Promise.all(Array.from({ length: 10 }, () => login(t)));
    const responses = await Promise.all(
      logins.map((l) =>
        t.idp.signedResponse({
          acsUrl: ACS,
          audience: SP_ENTITY,
          requestId: l.requestId,
          assertion: {
            nameId: "race-nameid",
            nameIdFormat: PERSISTENT_FORMAT,
            attributes: { mail: ["race@example.test"] },
          },
        }),
      ),
    );
    const results = await Promise.all(
      logins.map((l, i) =>
        postAcs(t, {
          samlResponse: responses[i]!.base64,
          relayState: l.relayState,
          cookie: `${STATE}=${l.requestId}`,
        }),
      ),
    );
    for (const r of results) expect(r.status, await r.clone().text()).toBe(302);
    const subs = new Set(
      results.map(
        (r) => JSON.parse(Buffer.from(cookieSet(r, "tikti_idt")!.split(".")[1]!, "base64url").toString()).sub,
      ),
    );
    expect(subs.size).toBe(1);
    const [sub] = [...subs];
    const ids: string[] = [];
    for await (const batch of t.store.hscan(keys.users())) {
      for (const [id, value] of batch) if (JSON.parse(value).externalSubject === "race-nameid") ids.push(id);
    }
    expect(ids).toEqual([sub]);
    expect(await t.store.get(keys.samlSubject("acme", "race-nameid"))).toBe(sub);
    expect((await repos().users.findByEmail("race@example.test"))?.localId).toBe(sub);
    expect((await repos().memberships.get("acme", sub))?.roles).toEqual(["COMPANY_EMPLOYEE"]);
    const audits = samlAudits(t);
    expect(audits.filter((a) => a.jit === "created")).toHaveLength(1);
    expect(audits.filter((a) => a.decision === "accept")).toHaveLength(10);
    expect(await (await t.call("/metrics")).text()).toContain(
      'tikti_saml_jit_provisions_total{tid="acme"} 1',
    );
  });

  it("one email stays one account when several NameIDs and tenants claim it concurrently", async () => {
    const email = "contested@example.test";
    const attempts = [
      ...Array.from({ length: 3 }, () => ({ tid: "acme", nameId: "n-one" })),
      ...Array.from({ length: 3 }, () => ({ tid: "acme", nameId: "n-two" })),
      ...Array.from({ length: 3 }, () => ({ tid: "globex", nameId: "n-one" })),
    ];
    const logins = await Promise.all(attempts.map((a) => login(t, a.tid)));
    const responses = await Promise.all(
      logins.map((l, i) =>
        t.idp.signedResponse({
          acsUrl: ACS,
          audience: SP_ENTITY,
          requestId: l.requestId,
          assertion: {
            nameId: attempts[i]!.nameId,
            nameIdFormat: PERSISTENT_FORMAT,
            attributes: { mail: [email] },
          },
        }),
      ),
    );
    const results = await Promise.all(
      logins.map((l, i) =>
        postAcs(t, {
          samlResponse: responses[i]!.base64,
          relayState: l.relayState,
          cookie: `${STATE}=${l.requestId}`,
        }),
      ),
    );
    // Exactly one record holds the email, and the index names it.
    const holders = await usersWithEmail(email);
    expect(holders).toHaveLength(1);
    const [owner] = holders;
    expect((await repos().users.findByEmail(email))?.localId).toBe(owner);
    // Every accepted login is that user; every refusal is email_conflict with no user behind it.
    const audits = samlAudits(t).slice(-attempts.length);
    for (const r of results) {
      if (r.status === 302) expect(claimsOf(cookieSet(r, "tikti_idt")!).sub).toBe(owner);
      else expect(r.status, await r.text()).toBe(403);
    }
    expect(results.some((r) => r.status === 302)).toBe(true);
    for (const a of audits) {
      if (a.decision === "accept") expect(a.userId).toBe(owner);
      else expect(a).toMatchObject({ reason: "email_conflict", detail: "email_held_by_non_member" });
    }
    expect(audits.filter((a) => a.jit === "created")).toHaveLength(1);
    // The owner is a member only where it was accepted; subjects point at it or nowhere.
    for (const { tid, nameId } of attempts) {
      const subject = await t.store.get(keys.samlSubject(tid, nameId));
      expect([null, owner]).toContain(subject);
    }
  });

  it("sets membership roles from roleMap on every login and bumps tokenVersion when a role is removed", async () => {
    const put = await t.call("/tenants/acme/saml/idp", {
      method: "PUT",
      json: { roleMap: { engineering: ["developer"], staff: ["member"], "Domain Admins": ["lead"] } },
    });
    expect(put.status).toBe(200);
    const first = await signIn(t, {
      assertion: { attributes: { mail: [DEFAULT_USER], groups: ["engineering", "staff", "ADMIN"] } },
    });
    const uid = first.claims.sub as string;
    expect((await repos().memberships.get("acme", uid))?.roles).toEqual(["developer", "member"]);
    expect((await repos().users.getById(uid))!.role).toBe("COMPANY_EMPLOYEE");
    expect(first.claims.ver).toBe(0);

    // Same groups: nothing changes, the first token stays valid.
    await signIn(t, {
      assertion: { attributes: { mail: [DEFAULT_USER], groups: ["staff", "engineering"] } },
    });
    expect((await t.call("/accounts/lookup", { json: { idToken: first.idToken } })).status).toBe(200);

    // A group is gone: roles follow, the version is bumped, earlier tokens stop working.
    const second = await signIn(t, {
      assertion: { attributes: { mail: [DEFAULT_USER], groups: ["staff"] } },
    });
    expect((await repos().memberships.get("acme", uid))?.roles).toEqual(["member"]);
    expect(second.claims.ver).toBe(1);
    expect((await t.call("/accounts/lookup", { json: { idToken: first.idToken } })).status).toBe(401);
    expect((await t.call("/accounts/lookup", { json: { idToken: second.idToken } })).status).toBe(200);
    expect(await (await t.call("/metrics")).text()).toContain(
      'tikti_token_version_bumps_total{cause="saml_roles"} 1',
    );

    // Nothing maps: COMPANY_EMPLOYEE.
    await signIn(t, { assertion: { attributes: { mail: [DEFAULT_USER], groups: ["Admins"] } } });
    expect((await repos().memberships.get("acme", uid))?.roles).toEqual(["COMPANY_EMPLOYEE"]);
  });

  it("refuses roleMap targets ADMIN/COMPANY_ADMIN at the admin API", async () => {
    const res = await t.call("/tenants/acme/saml/idp", {
      method: "PUT",
      json: { roleMap: { g: ["ADMIN"] } },
    });
    expect(res.status).toBe(400);
  });

  it("strips tenant attributes: the tenant always comes from the URL", async () => {
    const s = await signIn(t, {
      assertion: {
        attributes: { mail: [DEFAULT_USER], tid: ["globex"], tenant_id: ["globex"], tenantId: ["globex"] },
      },
    });
    expect(s.claims.tid).toBe("acme");
    expect(await repos().memberships.get("globex", s.claims.sub as string)).toBeNull();
    expect(await (await t.call("/metrics")).text()).toContain(
      'tikti_saml_tid_override_ignored_total{tid="acme"} 3',
    );
  });

  it("refuses a user who is not ACTIVE (subject_confirmation_mismatch, detail user_inactive)", async () => {
    const s = await signIn(t);
    const status = await t.call("/accounts/status", { json: { email: DEFAULT_USER, status: "SUSPENDED" } });
    expect(status.status).toBe(200);
    const l = await login(t);
    const r = await t.idp.signedResponse({ acsUrl: ACS, audience: SP_ENTITY, requestId: l.requestId });
    const res = await postAcs(t, {
      samlResponse: r.base64,
      relayState: l.relayState,
      cookie: `${STATE}=${l.requestId}`,
    });
    expect(res.status).toBe(403);
    expect(cookieSet(res, "tikti_idt")).toBeNull();
    expect(samlAudits(t).at(-1)).toMatchObject({
      decision: "reject",
      reason: "subject_confirmation_mismatch",
      detail: "user_inactive",
    });
    expect(s.claims.sub).toBeTruthy();
  });

  it("does not link an inactive member found by email", async () => {
    const id = await passwordUser("dave@example.test");
    await addMember("acme", "dave@example.test");
    expect(
      (await t.call("/accounts/status", { json: { email: "dave@example.test", status: "INACTIVE" } })).status,
    ).toBe(200);
    const l = await login(t);
    const r = await t.idp.signedResponse({
      acsUrl: ACS,
      audience: SP_ENTITY,
      requestId: l.requestId,
      assertion: {
        nameId: "dave",
        nameIdFormat: PERSISTENT_FORMAT,
        attributes: { mail: ["dave@example.test"] },
      },
    });
    const res = await postAcs(t, {
      samlResponse: r.base64,
      relayState: l.relayState,
      cookie: `${STATE}=${l.requestId}`,
    });
    expect(res.status).toBe(403);
    expect(await t.store.get(keys.samlSubject("acme", "dave"))).toBeNull();
    expect((await repos().users.getById(id))!.authSource).toBe("password");
  });
});
