/**
 * Shared helpers of the accounts HTTP tests (test/http/accounts-*.test.ts): an app with test
 * defaults, users seeded straight through the repositories (no hashing unless a test signs in),
 * idTokens minted with the app's signer, and exact error assertions.
 */
import { decodeProtectedHeader, jwtVerify } from "jose";
import { expect } from "vitest";
import type { Clock } from "../../src/clock.ts";
import type { PasswordHasher } from "../../src/crypto/password.ts";
import type { User } from "../../src/domain/types.ts";
import { catalogue, type ErrorCode } from "../../src/errors.ts";
import { keys } from "../../src/store/keys.ts";
import { buildTestApp, type Engine, TEST_ISSUER, type TestApp } from "../support/app.ts";

export const JWT_SECRET = "test-jwt-secret-that-is-long-enough-0123456789";
export const PASSWORD = "correct horse battery staple";
export const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
export const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
export const SAML_SID = "0123456789abcdef0123456789abcdef";

/**
 * Test defaults: bcrypt (cheaper than argon2id in-process; the rehash test builds its own argon2id
 * app) and rate limits off, since every request comes from one address. Tests that exercise a
 * limit pass their own `rateLimits`.
 */
export const ACCOUNT_DEFAULTS = {
  accounts: { passwordHash: { scheme: "bcrypt" } },
  rateLimits: { enabled: false },
};

export interface AccountsApp extends TestApp {
  /** POST `path` with a JSON body (API key added unless `key: false`). */
  post(path: string, json: unknown, init?: RequestInit & { key?: boolean }): Promise<Response>;
}

function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] =
      v && typeof v === "object" && !Array.isArray(v) && b && typeof b === "object" && !Array.isArray(b)
        ? merge(b as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

export async function accountsApp(
  engine: Engine,
  options: {
    config?: Record<string, unknown>;
    clock?: Clock;
    passwords?: (real: PasswordHasher) => PasswordHasher;
  } = {},
): Promise<AccountsApp> {
  const t = await buildTestApp({
    store: await engine.freshStore(),
    config: merge(ACCOUNT_DEFAULTS, options.config ?? {}),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.passwords
      ? { extend: (deps) => ({ ...deps, passwords: options.passwords!(deps.passwords) }) }
      : {}),
  });
  return Object.assign(t, {
    post: (path: string, json: unknown, init: RequestInit & { key?: boolean } = {}) =>
      t.call(path, { ...init, method: "POST", json }),
  });
}

const hashes = new Map<string, Promise<string>>();

/** A hash of `password` made by the app's hasher, computed once per scheme and password. */
export function hashOf(t: TestApp, password = PASSWORD): Promise<string> {
  const k = `${t.deps.config.accounts.passwordHash.scheme}:${password}`;
  let h = hashes.get(k);
  if (!h) {
    h = t.deps.passwords.hash(password);
    hashes.set(k, h);
  }
  return h;
}

export interface SeedOptions {
  password?: string;
  /** A stored hash, as is (e.g. `""` for a SAML-only user, or a bcrypt fixture). */
  hash?: string;
  role?: string;
  status?: string;
  companyId?: string;
  authSource?: "password" | "saml";
}

/** A user created through the repository (the sign-up path is tested separately). */
export async function seedUser(t: TestApp, email: string, options: SeedOptions = {}): Promise<User> {
  const hash = options.hash ?? (await hashOf(t, options.password ?? PASSWORD));
  return t.app.services.repos.users.create({
    email,
    password: hash,
    ...(options.role ? { role: options.role } : {}),
    ...(options.status ? { status: options.status } : {}),
    ...(options.companyId ? { companyId: options.companyId } : {}),
    ...(options.authSource ? { authSource: options.authSource } : {}),
  });
}

/** A password (`pwd`) or code (`oob`) idToken for the stored user, as sign-in would issue it. */
export async function tokenFor(t: TestApp, user: User, amr: "pwd" | "oob" = "pwd"): Promise<string> {
  const current = (await t.app.services.repos.users.getById(user.localId)) ?? user;
  const signed = await t.deps.idTokens.sign({
    sub: current.localId,
    email: current.email,
    role: current.role,
    ...(current.companyId ? { tid: current.companyId } : {}),
    amr,
    ver: current.tokenVersion,
  });
  return signed.token;
}

/** A SAML idToken with a live session (docs/spec/tokens.md §4.1 V10); the tenant must exist and be ACTIVE. */
export async function samlTokenFor(t: TestApp, user: User, tenantId: string): Promise<string> {
  await t.store.set(
    keys.samlSession(SAML_SID),
    JSON.stringify({ sid: SAML_SID, tenantId, userId: user.localId, nameId: user.email }),
  );
  const signed = await t.deps.idTokens.sign({
    sub: user.localId,
    email: user.email,
    role: user.role,
    tid: tenantId,
    amr: "saml",
    sid: SAML_SID,
    ver: user.tokenVersion,
  });
  return signed.token;
}

/** Asserts the documented error: status, `code`, the catalogue message, and `details` when given. */
export async function expectError(
  res: Response,
  code: ErrorCode,
  details?: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const body = (await res.json()) as Record<string, unknown>;
  expect({ status: res.status, code: body.code }).toEqual({ status: catalogue[code].status, code });
  expect(body.error).toBe(catalogue[code].message);
  if (details) expect(body.details).toMatchObject(details);
  else if (catalogue[code].status !== 400) expect(body.details).toBeUndefined();
  return body;
}

/** Asserts `429 RATE_LIMITED` with a `Retry-After` of 1..window seconds. */
export async function expectRateLimited(res: Response, windowSeconds: number): Promise<void> {
  const retryAfter = Number(res.headers.get("retry-after"));
  expect(Number.isInteger(retryAfter)).toBe(true);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(windowSeconds);
  await expectError(res, "RATE_LIMITED");
}

/**
 * Verifies an idToken as a third party would (jose, HS256, the test secret) and checks the claim
 * set of docs/spec/tokens.md §2 exactly: these names and no others, `userId` = `sub`, `exp - iat` = TTL.
 */
export async function verifiedClaims(
  token: string,
  expected: { sub: string; email: string; role: string; tid?: string; amr: string; ver: number },
  ttlSeconds = 3600,
): Promise<Record<string, unknown>> {
  expect(decodeProtectedHeader(token)).toEqual({ alg: "HS256", typ: "JWT" });
  const { payload } = await jwtVerify(token, new TextEncoder().encode(JWT_SECRET), {
    algorithms: ["HS256"],
    issuer: TEST_ISSUER,
    audience: "tikti",
  });
  const names = ["iss", "aud", "sub", "userId", "email", "role", "amr", "ver", "iat", "exp", "jti"];
  if (expected.tid) names.push("tid");
  expect(Object.keys(payload).sort()).toEqual(names.sort());
  expect(payload).toMatchObject({
    iss: TEST_ISSUER,
    aud: "tikti",
    sub: expected.sub,
    userId: expected.sub,
    email: expected.email,
    role: expected.role,
    amr: [expected.amr],
    ver: expected.ver,
    ...(expected.tid ? { tid: expected.tid } : {}),
  });
  expect(payload.jti).toMatch(UUID_V4);
  expect(Number.isInteger(payload.iat)).toBe(true);
  expect((payload.exp as number) - (payload.iat as number)).toBe(ttlSeconds);
  return payload as Record<string, unknown>;
}

/** The stored `users_v2` JSON of a user. */
export async function storedUser(t: TestApp, id: string): Promise<Record<string, unknown> | null> {
  const text = await t.store.hget(keys.users(), id);
  return text === null ? null : (JSON.parse(text) as Record<string, unknown>);
}

/** Counts calls of `verify`/`verifyDummy`/`hash` on top of the real hasher. */
export function countingHasher(real: PasswordHasher): PasswordHasher & {
  calls: { verify: number; verifyDummy: number; hash: number };
} {
  const calls = { verify: 0, verifyDummy: 0, hash: 0 };
  return {
    calls,
    hash: (p) => {
      calls.hash++;
      return real.hash(p);
    },
    verify: (p, s) => {
      calls.verify++;
      return real.verify(p, s);
    },
    verifyDummy: (p) => {
      calls.verifyDummy++;
      return real.verifyDummy(p);
    },
    needsRehash: (s) => real.needsRehash(s),
  };
}

/** A metrics sample from `/metrics`, 0 when absent. */
export async function metric(t: TestApp, name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await t.call("/metrics")).text();
  const rendered = Object.keys(labels)
    .sort()
    .map((k) => `${k}="${labels[k]}"`)
    .join(",");
  const line = text.split("\n").find((l) => l.startsWith(`${name}{${rendered}} `));
  return line ? Number(line.split(" ").at(-1)) : 0;
}
