/**
 * The admin audit records (docs/spec/operations.md §7) are written by the services that make the
 * changes — tenancy, user admin, SAML admin — not by the HTTP routes: each service method is called
 * here directly, without HTTP, on the embedded store, and must leave exactly its one record (and none
 * for a change it refused before writing). A future caller (a CLI-facing route, a job) then cannot be
 * the only auditor.
 */
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { isTiktiError } from "../../src/errors.ts";
import type { AdminCaller } from "../../src/services/audit.ts";
import type { Services } from "../../src/services/index.ts";
import {
  buildSamlTestApp,
  idpMetadata,
  makeCert,
  rsaKey,
  type SpFiles,
  spFiles,
  type TestCert,
} from "../saml/metadata/helpers.ts";
import { buildTestApp, manualClock, type TestApp } from "../support/app.ts";
import { openTempEmbedded } from "../support/stores.ts";

const T0 = Date.UTC(2026, 10, 1, 12, 0, 0);
const CALLER: AdminCaller = { actor: "user:admin-1", requestId: "req-admin-audit" };
const TENANT = "acme";

type Record_ = Record<string, unknown>;

/** The records written since `from`, parsed. */
function recordsSince(t: TestApp, from: number): Record_[] {
  return t.auditLines.slice(from).map((l) => JSON.parse(l) as Record_);
}

/** Runs `change` and returns the one record it wrote (fails on none or several). */
async function onlyRecordOf(t: TestApp, change: () => Promise<unknown>): Promise<Record_> {
  const from = t.auditLines.length;
  await change();
  const written = recordsSince(t, from);
  expect(written).toHaveLength(1);
  return written[0] as Record_;
}

/** The full record of docs/spec/operations.md §7 for a change by CALLER. */
function adminRecord(action: string, tenantId: string, targetId: string, outcome = "success"): Record_ {
  return {
    log: "audit",
    event: `admin.${action}`,
    schemaVersion: 1,
    ts: new Date(T0).toISOString(),
    actor: CALLER.actor,
    tenantId,
    targetId,
    outcome,
    httpRequestId: CALLER.requestId,
    replicaID: "test-replica",
  };
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (isTiktiError(err)) return err.code;
    throw err;
  }
  return "no error";
}

describe("admin audit written by the services (embedded store, no HTTP)", () => {
  let t: TestApp;
  let services: Services;

  beforeEach(async () => {
    t = await buildTestApp({ store: await openTempEmbedded(), clock: manualClock(T0) });
    services = t.app.services;
  });

  it("tenancy: every change writes its record, with the caller's actor and request id", async () => {
    const { tenancy, repos } = services;
    expect(
      await onlyRecordOf(t, () => tenancy.createTenant(CALLER, { id: TENANT, name: "Acme", slug: TENANT })),
    ).toEqual(adminRecord("tenant.create", TENANT, TENANT));
    expect(await onlyRecordOf(t, () => tenancy.setTenantStatus(CALLER, TENANT, "disabled"))).toEqual(
      adminRecord("tenant.status", TENANT, TENANT),
    );
    await tenancy.setTenantStatus(CALLER, TENANT, "ACTIVE");

    const user = await repos.users.create({ localId: "u-1", email: "u1@acme.example", password: "" });
    expect(
      await onlyRecordOf(t, () =>
        tenancy.putMembership(CALLER, TENANT, { localId: user.localId, roles: ["r"] }),
      ),
    ).toEqual(adminRecord("membership.put", TENANT, user.localId));
    expect(
      await onlyRecordOf(t, () => tenancy.removeMembership(CALLER, TENANT, { email: "U1@acme.example" })),
    ).toEqual(adminRecord("membership.remove", TENANT, user.localId));
    expect(
      await onlyRecordOf(t, () => tenancy.putRole(CALLER, TENANT, { name: "viewer", permissions: ["read"] })),
    ).toEqual(adminRecord("role.put", TENANT, "viewer"));

    expect(
      await onlyRecordOf(t, () => tenancy.createClient(CALLER, TENANT, { clientId: "billing" })),
    ).toEqual(adminRecord("client.create", TENANT, "billing"));
    expect(
      await onlyRecordOf(t, () =>
        tenancy.updateClient(CALLER, TENANT, "billing", { defaultScopes: ["read"] }),
      ),
    ).toEqual(adminRecord("client.update", TENANT, "billing"));
    expect(await onlyRecordOf(t, () => tenancy.rotateClientSecret(CALLER, TENANT, "billing", 0))).toEqual(
      adminRecord("client.secret.rotate", TENANT, "billing"),
    );
    expect(
      await onlyRecordOf(t, () => tenancy.setClientJwks(CALLER, TENANT, "billing", { keys: [] })),
    ).toEqual(adminRecord("client.jwks.put", TENANT, "billing"));
  });

  it("tenancy: a refused change writes no record", async () => {
    const { tenancy } = services;
    await tenancy.createTenant(CALLER, { id: TENANT, name: "Acme", slug: TENANT });
    const from = t.auditLines.length;
    expect(await codeOf(tenancy.createTenant(CALLER, { id: TENANT, name: "Again", slug: TENANT }))).toBe(
      "TENANT_EXISTS",
    );
    expect(await codeOf(tenancy.putMembership(CALLER, TENANT, { localId: "nobody" }))).toBe("USER_NOT_FOUND");
    expect(await codeOf(tenancy.updateClient(CALLER, TENANT, "ghost", {}))).toBe("CLIENT_NOT_FOUND");
    expect(await codeOf(tenancy.setTenantStatus(CALLER, "Bad Id", "ACTIVE"))).toBe("INVALID_TENANT");
    expect(recordsSince(t, from)).toEqual([]);
  });

  it("user admin: status and revocation write their records (no tenant)", async () => {
    const { userAdmin, repos } = services;
    const user = await repos.users.create({ localId: "u-2", email: "u2@acme.example", password: "" });
    expect(
      await onlyRecordOf(t, () =>
        userAdmin.setStatus(CALLER, { localId: user.localId, status: "suspended" }),
      ),
    ).toEqual(adminRecord("user.status", "", user.localId));
    expect(await onlyRecordOf(t, () => userAdmin.revoke(CALLER, { email: user.email }))).toEqual(
      adminRecord("user.revoke", "", user.localId),
    );
    const from = t.auditLines.length;
    expect(await codeOf(userAdmin.revoke(CALLER, { localId: user.localId, scope: "tenant" }))).toBe(
      "UNSUPPORTED_REVOCATION_SCOPE",
    );
    expect(recordsSince(t, from)).toEqual([]);
  });
});

describe("SAML admin audit written by the service (embedded store, no HTTP)", () => {
  let files: SpFiles;
  let current: TestCert;
  let next: TestCert;
  let idpCert: TestCert;
  let t: TestApp & { app: { services: Services } };

  beforeAll(async () => {
    current = await makeCert({ key: await rsaKey("sp-current"), cn: "sp-current" });
    next = await makeCert({ key: await rsaKey("sp-next"), cn: "sp-next" });
    idpCert = await makeCert({ cn: "idp-audit" });
  });
  beforeEach(async () => {
    files = await spFiles();
    await files.install("current", current);
    await files.install("next", next);
    t = await buildSamlTestApp({ store: await openTempEmbedded(), files, clock: manualClock(T0) });
    await t.app.services.tenancy.createTenant(CALLER, { id: TENANT, name: "Acme", slug: TENANT });
  });
  afterEach(async () => {
    await files.cleanup();
  });

  it("IdP records: success and refused changes, with the IdP entity id as target", async () => {
    const { samlAdmin } = t.app.services;
    const entityId = "https://idp.acme.example/metadata";
    const metadataXml = idpMetadata({ entityId, signing: [idpCert] });
    expect(await onlyRecordOf(t, () => samlAdmin.writeIdp(CALLER, TENANT, { metadataXml }, "post"))).toEqual(
      adminRecord("saml.idp.create", TENANT, entityId),
    );
    // Refused: a second POST (409 IDP_EXISTS) is a failure record without a target.
    const from = t.auditLines.length;
    expect(await codeOf(samlAdmin.writeIdp(CALLER, TENANT, { metadataXml }, "post"))).toBe("IDP_EXISTS");
    expect(recordsSince(t, from)).toEqual([adminRecord("saml.idp.create", TENANT, "", "failure")]);
    expect(
      await onlyRecordOf(t, () => samlAdmin.writeIdp(CALLER, TENANT, { forceAuthn: true }, "put")),
    ).toEqual(adminRecord("saml.idp.put", TENANT, entityId));
    expect(await onlyRecordOf(t, () => samlAdmin.deleteIdp(CALLER, TENANT))).toEqual(
      adminRecord("saml.idp.delete", TENANT, entityId),
    );
    // An unknown tenant is not a change to any IdP record: no record at all.
    const before = t.auditLines.length;
    expect(await codeOf(samlAdmin.deleteIdp(CALLER, "ghost"))).toBe("TENANT_NOT_FOUND");
    expect(recordsSince(t, before)).toEqual([]);
  });

  it("domains and SP rotation", async () => {
    const { samlAdmin } = t.app.services;
    expect(await onlyRecordOf(t, () => samlAdmin.putDomain(CALLER, TENANT, "Acme.Example"))).toEqual(
      adminRecord("saml.domain.put", TENANT, "acme.example"),
    );
    expect(await onlyRecordOf(t, () => samlAdmin.deleteDomain(CALLER, TENANT, "acme.example"))).toEqual(
      adminRecord("saml.domain.delete", TENANT, "acme.example"),
    );
    // Nothing prepared: committing is a refused transition, audited as a failure.
    const from = t.auditLines.length;
    expect(await codeOf(samlAdmin.rotate(CALLER, "commit", false))).toBe("ROTATION_STATE_CONFLICT");
    expect(recordsSince(t, from)).toEqual([adminRecord("saml.sp.rotation", "", "commit", "failure")]);
    expect(await onlyRecordOf(t, () => samlAdmin.rotate(CALLER, "prepare", false))).toEqual(
      adminRecord("saml.sp.rotation", "", "prepare"),
    );
  });
});
