/**
 * What a migration is and what it gets to work with (docs/spec/cli.md §8–§9).
 *
 * A migration reads and writes only through the `KV` interface and the repositories, so the reader
 * rules (docs/spec/storage.md §4.1), ordered writes (§4.3) and unknown-field preservation (§2.1) hold exactly
 * as they do for the server. It never issues `HGETALL users_v2` or `KEYS`: users are walked with
 * `HSCAN`, index keys with `SCAN` (on every master of a cluster).
 */
import type { Clock } from "../src/clock.ts";
import { normaliseEmail } from "../src/domain/email.ts";
import type { User } from "../src/domain/types.ts";
import { keys } from "../src/store/keys.ts";
import type { KV } from "../src/store/kv.ts";
import { decodeUser } from "../src/store/repos/codec.ts";
import type { Repos } from "../src/store/repos/index.ts";
import { migrationMembershipId } from "./uuid.ts";

/** One output counter: printed as `<label>: <n>`, recorded under `key`. */
export interface CounterSpec {
  key: string;
  label: string;
  /** `result` label of `tikti_migration_<id>_records_total` in `--metrics-file`; absent = not exported. */
  result?: string;
}

export interface MigrationModule {
  run(ctx: MigrationContext): Promise<void>;
  /** Only 0007 has one (docs/spec/cli.md §7 `--down`). */
  down?(ctx: MigrationContext): Promise<void>;
}

export interface MigrationInfo {
  /** `0001` */
  id: string;
  /** `users_v2` */
  name: string;
  counters: readonly CounterSpec[];
  /** Counter whose non-zero value means "completed with conflicts" (exit 2). */
  conflictCounter?: string;
  /** Counter whose non-zero value stops the run (exit 1, not recorded). */
  errorCounter: string;
  /** Counters of `--down`, when supported. */
  downCounters?: readonly CounterSpec[];
  /** Lazily imported, so `--list` and `--help` load no migration code. */
  load(): Promise<MigrationModule>;
}

export const BATCH = 500;

/**
 * Changes a dry run would have made, kept so that later steps and migrations of the same dry run
 * count against them (0001's step 2 sees the users its step 1 would copy; 0003 sees their
 * `companyId`). Only changes to users copied from the legacy hash are kept — a bounded set — so a
 * dry run over millions of `users_v2` records stays small; docs/migration.md names the effect.
 */
export interface DryRunPlan {
  /** Users 0001 would insert into `users_v2`, by id (with the `companyId` step 2 would set). */
  users: Map<string, User>;
  /** Index entries that would be written (key → id) or deleted (key → `null`). */
  index: Map<string, string | null>;
  /** Tenants that would be created. */
  tenants: Set<string>;
  /** Memberships that would be created for those users: user id → tenant ids. */
  memberships: Map<string, Set<string>>;
}

export function emptyPlan(): DryRunPlan {
  return { users: new Map(), index: new Map(), tenants: new Set(), memberships: new Map() };
}

export interface MigrationContext {
  /** In a dry run, a view of the store whose write methods throw. */
  kv: KV;
  repos: Repos;
  dryRun: boolean;
  plan: DryRunPlan;
  clock: Clock;
  defaultTenant?: string | undefined;
  /** Adds to a counter declared by the migration. */
  count(key: string, n?: number): void;
  /** One item line (conflict, error, note), printed on stderr while the migration runs. */
  line(text: string): void;
  /** Called between batches: throws when the lock was lost or the run was interrupted. */
  checkpoint(): Promise<void>;
}

export class UnreadableRecord extends Error {}

/** A `users_v2` record (or the dry-run plan's), `null` when absent; corrupt → `UnreadableRecord`. */
export async function getUser(ctx: MigrationContext, id: string): Promise<User | null> {
  const planned = ctx.plan.users.get(id);
  if (planned) return planned;
  if (id === "") return null;
  const text = await ctx.kv.hget(keys.users(), id);
  return text === null ? null : decodeStoredUser(id, text);
}

export function decodeStoredUser(id: string, text: string): User {
  try {
    return { ...decodeUser(keys.users(), id, text, id), localId: id };
  } catch {
    throw new UnreadableRecord(`unreadable users_v2 record ${id}`);
  }
}

/** `GET userByEmail:*`, dry-run plan first. */
export async function getIndex(ctx: MigrationContext, key: string): Promise<string | null> {
  const planned = ctx.plan.index.get(key);
  return planned !== undefined ? planned : ctx.kv.get(key);
}

/**
 * The reader rule of docs/spec/storage.md §4.1: an index entry counts only if its user exists and that
 * user's email normalises to the key's email. Returns the user, or `null` when the entry is absent
 * or does not count.
 */
export async function resolveIndexEntry(
  ctx: MigrationContext,
  id: string | null,
  normalisedEmail: string,
): Promise<User | null> {
  if (id === null || id === "" || normalisedEmail === "") return null;
  const user = await getUser(ctx, id);
  return user && normaliseEmail(user.email) === normalisedEmail ? user : null;
}

/**
 * Every `users_v2` record with `HSCAN` (COUNT 500), then, in a dry run, the users the run would
 * have inserted. Yields raw values: decoding is the caller's, so that a corrupt record is counted
 * where it is met.
 */
export async function* scanUsers(ctx: MigrationContext): AsyncIterable<Array<[id: string, text: string]>> {
  for await (const batch of ctx.kv.hscan(keys.users(), BATCH)) {
    await ctx.checkpoint();
    yield batch;
  }
  // Planned users were absent from users_v2 when planned, so the scan did not yield them (no
  // set of seen ids: users_v2 may hold millions).
  const planned: Array<[string, string]> = [];
  for (const [id, user] of ctx.plan.users) {
    if ((await ctx.kv.hget(keys.users(), id)) === null) {
      planned.push([id, JSON.stringify({ localId: id, ...plannedUserFields(user) })]);
    }
  }
  if (planned.length > 0) yield planned;
}

function plannedUserFields(user: User): Record<string, unknown> {
  return {
    email: user.email,
    password: user.password,
    role: user.role,
    status: user.status,
    ...(user.companyId ? { companyId: user.companyId } : {}),
    tokenVersion: user.tokenVersion,
    createdAt: user.createdAt,
    authSource: user.authSource,
    externalSubject: user.externalSubject,
  };
}

/** Whether `tenants` has the id (or a dry run would have created it). */
export async function tenantExists(ctx: MigrationContext, tenantId: string): Promise<boolean> {
  if (ctx.plan.tenants.has(tenantId)) return true;
  return (await ctx.kv.hget(keys.tenants(), tenantId)) !== null;
}

export async function hasMembershipIn(
  ctx: MigrationContext,
  tenantId: string,
  userId: string,
): Promise<boolean> {
  if (ctx.plan.memberships.get(userId)?.has(tenantId)) return true;
  return (await ctx.kv.hget(keys.memberships(tenantId), userId)) !== null;
}

/** Any membership, with the reader rule: a tenant of `membershipsByUser:{u}` counts only if `memberships:{t}` has `u`. */
export async function hasAnyMembership(ctx: MigrationContext, userId: string): Promise<boolean> {
  if (ctx.plan.memberships.has(userId)) return true;
  for (const tenantId of await ctx.kv.smembers(keys.membershipsByUser(userId))) {
    if ((await ctx.kv.hget(keys.memberships(tenantId), userId)) !== null) return true;
  }
  return false;
}

/**
 * Creates a membership `{"roles": [<role>]}` unless one exists, through the membership repository
 * (`repos.memberships.create`: the ordered writes of docs/spec/storage.md §4.3 "Add membership", create
 * only, so a concurrent admin change wins), with an id derived from tenant and user. Returns false
 * when a membership already existed. In a dry run, records the plan instead.
 */
export async function createMembership(
  ctx: MigrationContext,
  tenantId: string,
  user: User,
): Promise<boolean> {
  const userId = user.localId;
  if (await hasMembershipIn(ctx, tenantId, userId)) return false;
  if (ctx.dryRun) {
    // Kept only for users the dry run would copy (the bounded set, see DryRunPlan).
    const plannedUser = ctx.plan.users.get(userId);
    if (plannedUser) {
      ctx.plan.memberships.set(userId, (ctx.plan.memberships.get(userId) ?? new Set()).add(tenantId));
      if (!plannedUser.companyId) ctx.plan.users.set(userId, { ...plannedUser, companyId: tenantId });
    }
    return true;
  }
  const created = await ctx.repos.memberships.create(tenantId, userId, [user.role || "COMPANY_EMPLOYEE"], {
    id: await migrationMembershipId(tenantId, userId),
  });
  return created !== null;
}

/** Wraps a store so that every write throws: the guarantee behind `--dry-run` (docs/spec/cli.md §7). */
export function readOnlyKv(kv: KV): KV {
  const writes = new Set([
    "set",
    "del",
    "expire",
    "incr",
    "hset",
    "hsetnx",
    "hdel",
    "sadd",
    "srem",
    "casHset",
    "casSet",
    "casDel",
    "consume",
    "hconsumeIf",
    "rlIncr",
    "idxAdd",
  ]);
  return new Proxy(kv, {
    get(target, prop, receiver) {
      if (typeof prop === "string" && writes.has(prop)) {
        return () => Promise.reject(new Error(`dry-run: attempted write (${prop})`));
      }
      const value = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
