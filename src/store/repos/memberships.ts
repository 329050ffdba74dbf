/**
 * Memberships: `memberships:{tenantId}` (user id → Membership JSON) and the reverse set
 * `membershipsByUser:{userId}` (docs/spec/storage.md §2, §4.3).
 *
 * Reader rules (§4.1): a tenant in `membershipsByUser:{u}` counts only if `memberships:{t}` has
 * field `u`; a membership whose user does not exist is skipped.
 */
import type { Membership, User } from "../../domain/types.ts";
import { isTiktiError } from "../../errors.ts";
import { keys } from "../keys.ts";
import { casHashField } from "./cas.ts";
import { decodeMembership, dedupe, encodeMembership } from "./codec.ts";
import { isoNow, type RepoDeps } from "./deps.ts";
import {
  checkPageSize,
  compareKeys,
  decodePageToken,
  encodePageToken,
  type Page,
  type PageRequest,
} from "./paging.ts";
import { type UsersRepo, withTokenVersionBump } from "./users.ts";

export interface MembershipPut {
  membership: Membership;
  /** False when an existing membership was replaced (its `id` and `createdAt` kept). */
  created: boolean;
  /** Roles the previous membership had and the new one lacks. */
  removedRoles: string[];
  /** True when this call bumped the user's `tokenVersion` (a role was removed). */
  tokenVersionBumped: boolean;
}

export interface MembershipRemoval {
  /** False when there was no membership (nothing written to the user). */
  removed: boolean;
  tokenVersionBumped: boolean;
}

/** One row of a tenant's member listing: the membership and its (existing) user. */
export interface MemberEntry {
  membership: Membership;
  user: User;
}

export interface MembershipsRepo {
  /** `HGET memberships:{t} <uid>`; a corrupt value → `500 INTERNAL`. */
  get(tenantId: string, userId: string): Promise<Membership | null>;
  /**
   * Create or replace (docs/spec/storage.md §4.3): ★ `CAS_HSET memberships:{t} <uid>` keeping `id` and
   * `createdAt` · `SADD membershipsByUser:{uid} <t>` · user `CAS_HSET`: `companyId` set when empty,
   * `tokenVersion` bumped when a role was removed. Roles are de-duplicated, first occurrence kept.
   */
  put(tenantId: string, userId: string, roles: readonly string[]): Promise<MembershipPut>;
  /**
   * Create only, never replace (what tikti-migrate needs: a concurrent admin change wins):
   * ★ `CAS_HSET memberships:{t} <uid>` against absent · `SADD membershipsByUser:{uid} <t>` · user
   * `CAS_HSET` setting `companyId` when empty (a vanished user is left alone). `id` defaults to a
   * random UUID (a migration passes a derived one so a re-run writes the same record). `null` when a
   * membership already existed: nothing written.
   */
  create(
    tenantId: string,
    userId: string,
    roles: readonly string[],
    options?: { id?: string },
  ): Promise<Membership | null>;
  /** ★ `HDEL memberships:{t} <uid>` · `SREM membershipsByUser:{uid} <t>` · bump the user's version. */
  remove(tenantId: string, userId: string): Promise<MembershipRemoval>;
  /** Members ordered by user id, skipping memberships whose user no longer exists. */
  listForTenant(tenantId: string, page?: PageRequest): Promise<Page<MemberEntry>>;
  /**
   * The user's memberships ordered by tenant id, reader rules applied (`[]` for a missing user).
   * `userKnownToExist`: the caller has just read the user (e.g. procedure V), so the existence
   * check — a read of the large `users_v2` hash — is skipped. `indexed`: the answer of
   * `indexedTenants(userId)` when the caller started it earlier (e.g. in the round trip of the user
   * read, issue 14), instead of reading the index now.
   */
  tenantsOfUser(
    userId: string,
    options?: { userKnownToExist?: boolean; indexed?: Promise<string[]> },
  ): Promise<Membership[]>;
  /**
   * `SMEMBERS membershipsByUser:{uid}` as stored, unordered and without the reader rules: only for
   * `tenantsOfUser`'s `indexed`, so a caller can issue it together with other reads.
   */
  indexedTenants(userId: string): Promise<string[]>;
}

export function createMembershipsRepo(deps: RepoDeps, users: UsersRepo): MembershipsRepo {
  const { kv, clock } = deps;

  /** The hash key and field are authoritative for `tenantId` and `userId`. */
  function decode(tenantId: string, userId: string, text: string): Membership {
    return { ...decodeMembership(keys.memberships(tenantId), tenantId, userId, text), tenantId, userId };
  }

  async function get(tenantId: string, userId: string): Promise<Membership | null> {
    const text = await kv.hget(keys.memberships(tenantId), userId);
    return text === null ? null : decode(tenantId, userId, text);
  }

  /** Step 3 of add/replace and remove: one CAS of the user record; a vanished user is skipped. */
  async function updateUser(userId: string, tenantId: string | null, bump: boolean): Promise<boolean> {
    try {
      const change = await users.mutate(userId, (u) => {
        const setCompany = tenantId !== null && !u.companyId;
        if (!setCompany && !bump) return null;
        const next = setCompany ? { ...u, companyId: tenantId } : u;
        return bump ? withTokenVersionBump(next) : next;
      });
      return change.changed && change.after.tokenVersion > change.before.tokenVersion;
    } catch (err) {
      // Deleted meanwhile: its memberships are skipped by the reader rules and cleaned by delete.
      if (isTiktiError(err) && err.code === "USER_NOT_FOUND") return false;
      throw err;
    }
  }

  async function put(tenantId: string, userId: string, roles: readonly string[]): Promise<MembershipPut> {
    const wanted = dedupe(roles);
    let previous: Membership | null = null;
    let written: Membership | undefined;
    // 1 ★
    await casHashField(kv, keys.memberships(tenantId), userId, (text) => {
      previous = text === null ? null : decode(tenantId, userId, text);
      written = previous
        ? { ...previous, roles: wanted }
        : { id: crypto.randomUUID(), tenantId, userId, roles: wanted, createdAt: isoNow(clock) };
      return encodeMembership(written);
    });
    const before = previous as Membership | null;
    const removedRoles = before ? before.roles.filter((r) => !wanted.includes(r)) : [];
    // 2
    await kv.sadd(keys.membershipsByUser(userId), tenantId);
    // 3
    const tokenVersionBumped = await updateUser(userId, tenantId, removedRoles.length > 0);
    return { membership: written as Membership, created: before === null, removedRoles, tokenVersionBumped };
  }

  async function create(
    tenantId: string,
    userId: string,
    roles: readonly string[],
    options: { id?: string } = {},
  ): Promise<Membership | null> {
    const membership: Membership = {
      id: options.id ?? crypto.randomUUID(),
      tenantId,
      userId,
      roles: dedupe(roles),
      createdAt: isoNow(clock),
    };
    // 1 ★
    if (!(await kv.casHset(keys.memberships(tenantId), userId, null, encodeMembership(membership)))) {
      return null;
    }
    // 2
    await kv.sadd(keys.membershipsByUser(userId), tenantId);
    // 3
    await updateUser(userId, tenantId, false);
    return membership;
  }

  async function remove(tenantId: string, userId: string): Promise<MembershipRemoval> {
    // 1 ★
    const removed = await kv.hdel(keys.memberships(tenantId), userId);
    // 2 (also clears a leftover of an interrupted earlier removal)
    await kv.srem(keys.membershipsByUser(userId), tenantId);
    if (!removed) return { removed: false, tokenVersionBumped: false };
    // 3
    return { removed: true, tokenVersionBumped: await updateUser(userId, null, true) };
  }

  async function listForTenant(tenantId: string, page: PageRequest = {}): Promise<Page<MemberEntry>> {
    const size = checkPageSize(page.pageSize);
    const after = decodePageToken("members", page.pageToken);
    const all = await kv.hgetall(keys.memberships(tenantId));
    const userIds = [...all.keys()].filter((id) => after === null || id > after).sort(compareKeys);
    const items: MemberEntry[] = [];
    for (const userId of userIds) {
      const user = await users.getById(userId);
      if (!user) continue;
      // One more existing member after a full page: there is a next page.
      if (items.length === size) {
        const last = items[items.length - 1] as MemberEntry;
        return { items, nextPageToken: encodePageToken("members", last.membership.userId) };
      }
      items.push({ membership: decode(tenantId, userId, all.get(userId) as string), user });
    }
    return { items, nextPageToken: "" };
  }

  function indexedTenants(userId: string): Promise<string[]> {
    return kv.smembers(keys.membershipsByUser(userId));
  }

  async function tenantsOfUser(
    userId: string,
    options: { userKnownToExist?: boolean; indexed?: Promise<string[]> } = {},
  ): Promise<Membership[]> {
    // Independent reads go out together (one round trip each, not one after another); the reader
    // rules of docs/spec/storage.md §4.1 are applied to the results exactly as before.
    const [exists, members] = await Promise.all([
      options.userKnownToExist ? true : users.getById(userId).then((u) => u !== null),
      options.indexed ?? indexedTenants(userId),
    ]);
    if (!exists) return [];
    const tenantIds = members.sort(compareKeys);
    const memberships = await Promise.all(tenantIds.map((tenantId) => get(tenantId, userId)));
    return memberships.filter((m): m is Membership => m !== null);
  }

  return { get, put, create, remove, listForTenant, tenantsOfUser, indexedTenants };
}
