/**
 * Helpers for the admin route tests (tenants, memberships, roles, clients, user lifecycle):
 * users seeded straight through the repositories (no password hashing), idTokens signed with the
 * app's signer, and assertions on the documented error bodies and audit records.
 */
import { expect } from "vitest";
import type { User } from "../../src/domain/types.ts";
import { catalogue, type ErrorCode } from "../../src/errors.ts";
import { keys } from "../../src/store/keys.ts";
import type { NewUser } from "../../src/store/repos/users.ts";
import type { TestApp } from "./app.ts";

/** A user written through the repository; `password` is any string (never verified here). */
export function seedUser(t: TestApp, input: Partial<NewUser> & { email: string }): Promise<User> {
  return t.app.services.repos.users.create({ password: "not-a-real-hash", ...input });
}

/** The stored record, read back (for token versions, status, companyId). */
export async function storedUser(t: TestApp, id: string): Promise<User> {
  const user = await t.app.services.repos.users.getById(id);
  if (!user) throw new Error(`user ${id} not stored`);
  return user;
}

/** An idToken for `user` as sign-in would issue it (`amr: pwd`, current token version). */
export async function idTokenFor(t: TestApp, user: User): Promise<string> {
  const signed = await t.deps.idTokens.sign({
    sub: user.localId,
    email: user.email,
    role: user.role,
    amr: "pwd",
    ver: user.tokenVersion,
  });
  return signed.token;
}

/** A SAML idToken with a live session `saml:sid:{sid}` in an ACTIVE tenant `tenantId`. */
export async function samlIdTokenFor(t: TestApp, user: User, tenantId: string): Promise<string> {
  if (!(await t.app.services.repos.tenants.get(tenantId))) {
    await t.app.services.repos.tenants.create({ id: tenantId, slug: tenantId, name: tenantId });
  }
  const sid = crypto.randomUUID().replace(/-/g, "");
  await t.store.set(
    keys.samlSession(sid),
    JSON.stringify({ sid, tenantId, userId: user.localId, nameId: user.email, sessionIndex: "s1" }),
  );
  const signed = await t.deps.idTokens.sign({
    sub: user.localId,
    email: user.email,
    role: user.role,
    tid: tenantId,
    amr: "saml",
    ver: user.tokenVersion,
    sid,
  });
  return signed.token;
}

/** Asserts the documented error body (docs/spec/api.md §2.1): status, code, catalogue message, details. */
export async function expectError(
  res: Response,
  code: ErrorCode,
  details?: Record<string, string>,
): Promise<Record<string, unknown>> {
  const body = (await res.json()) as Record<string, unknown>;
  expect(res.status, JSON.stringify(body)).toBe(catalogue[code].status);
  expect(body.code).toBe(code);
  expect(body.error).toBe(catalogue[code].message);
  if (details) expect(body.details).toEqual(details);
  expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
  return body;
}

/** Asserts a 400 whose `details` names exactly `fields` (reasons not compared). */
export async function expectFields(res: Response, code: ErrorCode, fields: string[]): Promise<void> {
  const body = await expectError(res, code);
  expect(Object.keys((body.details ?? {}) as Record<string, string>).sort()).toEqual([...fields].sort());
}

/** The audit records written since `from` (an index into `t.auditLines`), parsed. */
export function auditSince(t: TestApp, from: number): Array<Record<string, unknown>> {
  return t.auditLines.slice(from).map((line) => JSON.parse(line) as Record<string, unknown>);
}

/**
 * Asserts one admin audit record of docs/spec/operations.md §7, exactly its members: `actor` defaults to
 * `apiKey`, `httpRequestId` is the response's `X-Request-ID`.
 */
export function expectAdminAudit(
  record: Record<string, unknown> | undefined,
  expected: { action: string; tenantId: string; targetId: string; requestId: string | null; actor?: string },
): void {
  expect(record).toEqual({
    log: "audit",
    event: `admin.${expected.action}`,
    schemaVersion: 1,
    ts: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    actor: expected.actor ?? "apiKey",
    tenantId: expected.tenantId,
    targetId: expected.targetId,
    outcome: "success",
    httpRequestId: expected.requestId,
    replicaID: "test-replica",
  });
}

/** The value of `tikti_token_version_bumps_total{cause}` so far. */
export function bumps(t: TestApp, cause: string): number {
  return t.deps.metrics.tokenVersionBumps.get({ cause });
}

export const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
export const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$/;
