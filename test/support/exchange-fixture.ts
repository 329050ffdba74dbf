/**
 * The shared fixture of test/http/exchange.test.ts and test/services/exchange.test.ts: the app on a
 * fresh store with a manual clock and a captured logger, the seed (user, tenants 1 and 2,
 * memberships, one client) and the idToken minting (docs/spec/tokens.md §7).
 */
import type { Sha256Sync } from "../../src/crypto/compare.ts";
import { createLogger } from "../../src/logger.ts";
import { buildTestApp, type Engine, manualClock, type TestApp } from "./app.ts";

export const T1 = "tenant-1";
export const T2 = "tenant-2";
export const USER = "user-1";
export const EMAIL = "worker@example.com";
export const WORKER = "codeq-worker";
export const SID = "0123456789abcdef0123456789abcdef";

export type Clock = ReturnType<typeof manualClock>;

export interface Setup {
  role?: string;
  /** The user's home tenant. */
  companyId?: string;
  tokenVersion?: number;
  /** Tenants the user is a member of, with the membership roles. */
  memberships?: Record<string, string[]>;
  client?: {
    tenantId?: string;
    clientId?: string;
    defaultScopes?: string[];
    allowedGrantTypes?: string[];
    allowedEventTypes?: string[];
    maxTtlSeconds?: number;
  } | null;
}

export interface IdTokenOverrides {
  tid?: string;
  ver?: number;
  role?: string;
  amr?: "pwd" | "saml";
  sub?: string;
}

export interface ExchangeApp {
  t: TestApp;
  clock: Clock;
  /** Every log line the app wrote, parsed. */
  logLines: Record<string, unknown>[];
}

/**
 * A fresh app at 2026-01-01T12:00Z whose logger records its lines; `sha256Sync` as a runtime
 * supplies it (Bun and Node do; tests otherwise run Web Crypto's).
 */
export async function buildExchangeApp(
  engine: Engine,
  config: Record<string, unknown> = {},
  runtime: { sha256Sync?: Sha256Sync } = {},
): Promise<ExchangeApp> {
  const clock = manualClock(Date.UTC(2026, 0, 1, 12));
  const logLines: Record<string, unknown>[] = [];
  const t = await buildTestApp({
    store: await engine.freshStore(),
    clock,
    config,
    extend: (deps) => ({
      ...deps,
      ...runtime,
      logger: createLogger((line) => logLines.push(JSON.parse(line)), "debug"),
    }),
  });
  return { t, clock, logLines };
}

/** User `user-1` (version 7), tenants 1 and 2, the memberships and one client. */
export async function seed(t: TestApp, setup: Setup = {}): Promise<void> {
  const { repos } = t.app.services;
  await repos.users.create({
    localId: USER,
    email: EMAIL,
    password: "",
    role: setup.role ?? "COMPANY_EMPLOYEE",
    tokenVersion: setup.tokenVersion ?? 7,
    ...(setup.companyId ? { companyId: setup.companyId } : {}),
  });
  await repos.tenants.create({ id: T1, slug: T1, name: "Tenant 1" });
  await repos.tenants.create({ id: T2, slug: T2, name: "Tenant 2" });
  for (const [tenantId, roles] of Object.entries(setup.memberships ?? { [T1]: ["COMPANY_EMPLOYEE"] })) {
    await repos.memberships.put(tenantId, USER, roles);
  }
  if (setup.client !== null) {
    const c = setup.client ?? {};
    await repos.clients.create(c.tenantId ?? T1, {
      clientId: c.clientId ?? WORKER,
      secretHash: "",
      defaultScopes: c.defaultScopes ?? ["codeq:claim", "codeq:result", "codeq:subscribe"],
      ...(c.allowedGrantTypes ? { allowedGrantTypes: c.allowedGrantTypes } : {}),
      ...(c.allowedEventTypes ? { allowedEventTypes: c.allowedEventTypes } : {}),
      ...(c.maxTtlSeconds ? { maxTtlSeconds: c.maxTtlSeconds } : {}),
    });
  }
}

/** An idToken for `user-1` (version 7, pwd) signed by the app's own idToken key, with overrides. */
export async function idToken(t: TestApp, over: IdTokenOverrides = {}): Promise<string> {
  const amr = over.amr ?? "pwd";
  const signed = await t.deps.idTokens.sign({
    sub: over.sub ?? USER,
    email: EMAIL,
    role: over.role ?? "COMPANY_EMPLOYEE",
    amr,
    ver: over.ver ?? 7,
    ...(over.tid ? { tid: over.tid } : {}),
    ...(amr === "saml" ? { sid: SID } : {}),
  });
  return signed.token;
}
