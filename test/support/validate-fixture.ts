/**
 * The shared fixture of test/http/validate.test.ts and test/services/validate.test.ts: the app on a
 * fresh store with a manual clock and a captured logger, seeded with user `user-1` (version 3),
 * tenant 1, its membership and the worker client, and access tokens forged with node:crypto
 * (independent of the code under test) as the exchange would sign them (docs/spec/tokens.md §4.3).
 */
import { createSign } from "node:crypto";
import { createLogger } from "../../src/logger.ts";
import { buildTestApp, type Engine, manualClock, TEST_ISSUER, type TestApp, testSigningPem } from "./app.ts";

export const T1 = "tenant-1";
export const USER = "user-1";
export const EMAIL = "worker@example.com";
export const WORKER = "codeq-worker";
export const KID = "test-key-1";

export const b64url = (s: string) => Buffer.from(s).toString("base64url");

/** Any header and payload, signed with node:crypto (independent of the code under test). */
export function forge(header: object, payload: object, pem: string): string {
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  return `${input}.${createSign("RSA-SHA256").update(input).sign(pem, "base64url")}`;
}

export interface ValidateApp {
  t: TestApp;
  clock: ReturnType<typeof manualClock>;
  /** The app's access-token signing key (PEM). */
  pem: string;
  /** Every log line the app wrote, parsed. */
  logLines: Record<string, unknown>[];
  /** The clock's start, in seconds. */
  now: number;
}

/** A fresh app at 2026-01-01T12:00Z whose logger records its lines, seeded as described above. */
export async function buildValidateApp(engine: Engine): Promise<ValidateApp> {
  const clock = manualClock(Date.UTC(2026, 0, 1, 12));
  const now = Math.floor(clock.now() / 1000);
  const pem = await testSigningPem();
  const logLines: Record<string, unknown>[] = [];
  const t = await buildTestApp({
    store: await engine.freshStore(),
    clock,
    extend: (deps) => ({
      ...deps,
      logger: createLogger((line) => logLines.push(JSON.parse(line)), "debug"),
    }),
  });
  const { repos } = t.app.services;
  await repos.users.create({ localId: USER, email: EMAIL, password: "", tokenVersion: 3 });
  await repos.tenants.create({ id: T1, slug: T1, name: "Tenant 1" });
  await repos.memberships.put(T1, USER, ["COMPANY_EMPLOYEE"]);
  await repos.clients.create(T1, {
    clientId: WORKER,
    secretHash: "",
    defaultScopes: ["codeq:claim", "codeq:result"],
  });
  return { t, clock, pem, logLines, now };
}

/** Claims as the exchange would sign them at `now` (seconds), with overrides. */
export function claims(now: number, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    iss: TEST_ISSUER,
    aud: WORKER,
    sub: USER,
    email: EMAIL,
    tid: T1,
    scope: "codeq:claim",
    ver: 3,
    iat: now,
    exp: now + 600,
    jti: "4b1c0b8e-3f2a-4c55-9d1e-0a2b3c4d5e6f",
    ...over,
  };
}

/** Those claims forged with `pem` under `header` (RS256 with the app's kid unless given). */
export function token(
  pem: string,
  now: number,
  over: Record<string, unknown> = {},
  header: object = { alg: "RS256", typ: "JWT", kid: KID },
): string {
  return forge(header, claims(now, over), pem);
}

/** A pwd idToken for `user-1` at `ver`, signed by the app's own idToken key: the input of an exchange. */
export async function signIdToken(t: TestApp, ver: number): Promise<string> {
  const { token } = await t.deps.idTokens.sign({
    sub: USER,
    email: EMAIL,
    role: "COMPANY_EMPLOYEE",
    amr: "pwd",
    ver,
  });
  return token;
}
