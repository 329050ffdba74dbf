/**
 * Users: `users_v2`, the email index `userByEmail:{email}` and the legacy `users` hash
 * (docs/spec/storage.md §2, §4, §5, §6).
 *
 * Multi-key changes are ordered writes with one commit point each (docs/spec/storage.md §4.3); readers apply
 * the rules of §4.1, so a crash between two writes leaves only states they ignore. Every change to
 * an existing record is a `CAS_HSET` loop (§4.2). `users_v2` is never read whole (`HGETALL`): it can
 * hold millions of records in one hash.
 */
import { normaliseEmail, trimEmail } from "../../domain/email.ts";
import type { AuthSource, RawRecord, User } from "../../domain/types.ts";
import { TiktiError } from "../../errors.ts";
import { keys } from "../keys.ts";
import { casHashField } from "./cas.ts";
import { decodeUser, encodeUser } from "./codec.ts";
import { isoNow, type RepoDeps } from "./deps.ts";

/** Input of `create` / `insertRecord`; absent fields take the defaults of docs/spec/api.md §4.1. */
export interface NewUser {
  /** As received; stored normalised (docs/spec/storage.md §5). */
  email: string;
  /** Hash string (bcrypt or PHC); `""` for SAML-only users. */
  password: string;
  /** Default `COMPANY_EMPLOYEE`. */
  role?: string;
  /** Default `ACTIVE`. */
  status?: string;
  companyId?: string;
  /** Default `password`. */
  authSource?: AuthSource;
  /** Default `""`. */
  externalSubject?: string;
  /** Default a new UUID v4. */
  localId?: string;
  /** Default now. */
  createdAt?: string;
  /** Default 0. */
  tokenVersion?: number;
  /** Extra stored fields, written after the known ones. */
  raw?: RawRecord;
}

export interface UserChange {
  before: User;
  /** The record as written (equal to `before` when `changed` is false). */
  after: User;
  changed: boolean;
}

/**
 * Returns the new record, or `null` to leave the stored one untouched. Called once per CAS attempt
 * with the record just read, so it must be a pure function of its argument.
 */
export type UserUpdate = (current: User) => User | null | Promise<User | null>;

export interface UsersRepo {
  /** `HGET users_v2 <id>`; `null` when absent; a corrupt record → `500 INTERNAL`. */
  getById(id: string): Promise<User | null>;
  /**
   * Lookup by email (docs/spec/storage.md §5): normalised index key, then the trimmed spelling, each checked
   * with the reader rule; then the legacy `users` hash, whose usable records are copied forward.
   */
  findByEmail(email: string): Promise<User | null>;
  /**
   * Creates a user (docs/spec/storage.md §4.3): lookup check (legacy hash included) · `HSETNX users_v2` ·
   * ★ `SET userByEmail:{email} NX`; on a lost claim the record is removed and `409 EMAIL_EXISTS`.
   */
  create(input: NewUser): Promise<User>;
  /**
   * Writes a new record without claiming its email (SAML JIT, docs/spec/saml.md §8.3 step 3, which then
   * claims the subject and, if still free, the email with `claimEmail`).
   */
  insertRecord(input: NewUser): Promise<User>;
  /** `SET userByEmail:{normalised email} <id> NX`; true when this user now owns the email. */
  claimEmail(user: User): Promise<boolean>;
  /**
   * Releases `userByEmail:{normalised email}` only when its holder id has no user record (`CAS_DEL`
   * against the holder read). Every writer of the index writes (or keeps) the record before its
   * claim, so a claim without a record is never a creation in flight (the reader rule of
   * docs/spec/storage.md §4.1); a holder that exists is left alone even if its email differs.
   */
  releaseDanglingEmailClaim(email: string): Promise<void>;
  /**
   * Read-modify-write of one record with `CAS_HSET`, up to 5 attempts, then `409
   * CONCURRENT_UPDATE`. Absent user → `404 USER_NOT_FOUND`. `update` may bump `tokenVersion` in the
   * same write (use `withTokenVersionBump`); a decrease is refused.
   */
  mutate(id: string, update: UserUpdate): Promise<UserChange>;
  /**
   * Moves the user to a new email (docs/spec/storage.md §4.3): claim `userByEmail:{new}` NX (taken →
   * `409 EMAIL_EXISTS`) · ★ `CAS_HSET` with the new email and `tokenVersion + 1` (on failure the
   * claim is released with `CAS_DEL`) · `CAS_DEL userByEmail:{old}`, then drops a legacy `users`
   * entry of the old email. `alsoChange` applies other changes (e.g. a new password) in the same
   * write; the one bump is done here.
   */
  changeEmail(id: string, newEmail: string, alsoChange?: (current: User) => User): Promise<UserChange>;
  /**
   * Deletes the user (docs/spec/storage.md §4.3): ★ `HDEL users_v2` · `CAS_DEL` its email index entries ·
   * `HDEL memberships:{t}` for every tenant of `membershipsByUser` · `DEL membershipsByUser`, then
   * removes its legacy `users` entry so the legacy fallback cannot bring it back. Returns the
   * deleted record, or `null` when there was none.
   */
  delete(id: string): Promise<User | null>;
}

/** `user` with `tokenVersion + 1`: every token issued before stops working (docs/spec/tokens.md §5). */
export function withTokenVersionBump(user: User): User {
  return { ...user, tokenVersion: user.tokenVersion + 1 };
}

const USERS = keys.users();
const LEGACY_USERS = keys.legacyUsers();
/** Legacy hash fields are emails: never put them in an error or a log line. */
const LEGACY_FIELD_LABEL = "<email>";

export function createUsersRepo(deps: RepoDeps): UsersRepo {
  const { kv, logger, clock } = deps;

  /** A `users_v2` record; the hash field is the id, whatever the JSON says. */
  function decodeStored(id: string, text: string): User {
    return { ...decodeUser(USERS, id, text, id), localId: id };
  }

  async function getById(id: string): Promise<User | null> {
    if (id === "") return null;
    const text = await kv.hget(USERS, id);
    return text === null ? null : decodeStored(id, text);
  }

  /** Reader rule (docs/spec/storage.md §4.1): the entry counts only if its user exists with that email. */
  async function resolveIndex(keyEmail: string, normalised: string): Promise<User | null> {
    const id = await kv.get(keys.userByEmail(keyEmail));
    if (id === null || id === "") return null;
    const user = await getById(id);
    return user && normaliseEmail(user.email) === normalised ? user : null;
  }

  /**
   * docs/spec/storage.md §5 step 2: `HSETNX users_v2`, then `SET userByEmail NX`; failures are logged and
   * ignored. When the record was already copied, the `users_v2` record is the truth: it may have
   * a new password or a new email since, in which case the legacy entry is stale.
   */
  async function copyForward(legacy: User, normalised: string): Promise<User | null> {
    const id = legacy.localId;
    let user = legacy;
    try {
      if (!(await kv.hsetnx(USERS, id, encodeUser(legacy)))) {
        const current = await getById(id);
        if (!current || normaliseEmail(current.email) !== normalised) return null;
        user = current;
      }
    } catch (err) {
      logger.warn("legacy user copy-forward failed", { step: "users_v2", userId: id, err });
      return legacy;
    }
    try {
      await kv.set(keys.userByEmail(normalised), id, { nx: true });
    } catch (err) {
      logger.warn("legacy user copy-forward failed", { step: "userByEmail", userId: id, err });
    }
    return user;
  }

  async function findByEmail(email: string): Promise<User | null> {
    const normalised = normaliseEmail(email);
    if (normalised === "") return null;
    const trimmed = trimEmail(email);
    const spellings = trimmed === normalised ? [normalised] : [normalised, trimmed];
    for (const spelling of spellings) {
      const user = await resolveIndex(spelling, normalised);
      if (user) return user;
    }
    for (const spelling of spellings) {
      const text = await kv.hget(LEGACY_USERS, spelling);
      if (text === null) continue;
      const legacy = decodeUser(LEGACY_USERS, LEGACY_FIELD_LABEL, text);
      // An empty id or password makes a legacy record unusable: it counts as absent (§5).
      if (legacy.localId === "" || legacy.password === "") continue;
      return copyForward(legacy, normalised);
    }
    return null;
  }

  function build(input: NewUser): User {
    const email = normaliseEmail(input.email);
    if (email === "") throw new TiktiError("INVALID_ARGUMENT", { details: { email: "must not be blank" } });
    return {
      localId: input.localId ?? crypto.randomUUID(),
      email,
      password: input.password,
      role: input.role ?? "COMPANY_EMPLOYEE",
      status: input.status ?? "ACTIVE",
      companyId: input.companyId || undefined,
      tokenVersion: input.tokenVersion ?? 0,
      createdAt: input.createdAt ?? isoNow(clock),
      authSource: input.authSource ?? "password",
      externalSubject: input.externalSubject ?? "",
      raw: input.raw,
    };
  }

  async function insert(user: User): Promise<void> {
    // HSETNX rather than HSET: a caller-chosen id must never overwrite an existing user.
    if (!(await kv.hsetnx(USERS, user.localId, encodeUser(user)))) {
      throw new TiktiError("INTERNAL", { cause: new Error(`users_v2 already has id ${user.localId}`) });
    }
  }

  async function create(input: NewUser): Promise<User> {
    const user = build(input);
    if (await findByEmail(input.email)) throw new TiktiError("EMAIL_EXISTS");
    await insert(user);
    if (!(await kv.set(keys.userByEmail(user.email), user.localId, { nx: true }))) {
      await kv.hdel(USERS, user.localId);
      throw new TiktiError("EMAIL_EXISTS");
    }
    return user;
  }

  async function insertRecord(input: NewUser): Promise<User> {
    const user = build(input);
    await insert(user);
    return user;
  }

  function claimEmail(user: User): Promise<boolean> {
    return kv.set(keys.userByEmail(normaliseEmail(user.email)), user.localId, { nx: true });
  }

  async function releaseDanglingEmailClaim(email: string): Promise<void> {
    const key = keys.userByEmail(normaliseEmail(email));
    const holder = await kv.get(key);
    if (holder === null) return;
    if (holder !== "" && (await getById(holder))) return;
    await kv.casDel(key, holder);
  }

  async function mutate(id: string, update: UserUpdate): Promise<UserChange> {
    let before: User | undefined;
    const outcome = await casHashField(kv, USERS, id, async (text) => {
      if (text === null) throw new TiktiError("USER_NOT_FOUND");
      before = decodeStored(id, text);
      const next = await update(before);
      if (next === null) return null;
      if (!Number.isSafeInteger(next.tokenVersion) || next.tokenVersion < before.tokenVersion) {
        throw new TiktiError("INTERNAL", {
          cause: new Error("tokenVersion must be an integer that never decreases"),
        });
      }
      return encodeUser({ ...next, localId: id });
    });
    const first = before as User;
    return outcome.written && outcome.after !== null
      ? { before: first, after: decodeStored(id, outcome.after), changed: true }
      : { before: first, after: first, changed: false };
  }

  /** The index keys a record may be reachable through: normalised, and a legacy spelling. */
  function indexSpellings(email: string): string[] {
    const normalised = normaliseEmail(email);
    const trimmed = trimEmail(email);
    return trimmed === normalised ? [normalised] : [normalised, trimmed];
  }

  async function changeEmail(
    id: string,
    newEmail: string,
    alsoChange?: (current: User) => User,
  ): Promise<UserChange> {
    const email = normaliseEmail(newEmail);
    if (email === "") throw new TiktiError("INVALID_ARGUMENT", { details: { email: "must not be blank" } });
    const apply = (u: User): User => ({
      ...(alsoChange ? alsoChange(u) : u),
      email,
      tokenVersion: u.tokenVersion + 1,
    });
    const current = await getById(id);
    if (!current) throw new TiktiError("USER_NOT_FOUND");
    if (normaliseEmail(current.email) === email) {
      // Same mailbox: the index entry stays; only the stored spelling (and the rest) change.
      return mutate(id, apply);
    }
    const owner = await findByEmail(newEmail);
    if (owner && owner.localId !== id) throw new TiktiError("EMAIL_EXISTS");

    // 1: claim the new email. A claim already holding this id is a leftover of an earlier
    // attempt that stopped after this step; it is ours to reuse.
    const claimKey = keys.userByEmail(email);
    const claimed = await kv.set(claimKey, id, { nx: true });
    if (!claimed && (await kv.get(claimKey)) !== id) throw new TiktiError("EMAIL_EXISTS");
    // 2 ★: the record takes the new email and the bump in one CAS_HSET.
    let change: UserChange;
    try {
      change = await mutate(id, apply);
    } catch (err) {
      // Release only a claim this call made, and not once a concurrent change of the same user
      // to the same email has committed it.
      if (claimed) {
        try {
          const now = await getById(id);
          if (!now || normaliseEmail(now.email) !== email) await kv.casDel(claimKey, id);
        } catch (releaseErr) {
          // The first error is the one to report; the leftover claim fails the reader rule.
          logger.warn("email claim not released", { userId: id, err: releaseErr });
        }
      }
      throw err;
    }
    // 3: release the old entries; a leftover would fail the reader rule anyway.
    for (const spelling of indexSpellings(change.before.email)) {
      if (spelling !== email) await kv.casDel(keys.userByEmail(spelling), id);
    }
    await removeLegacyEntries(change.before);
    return change;
  }

  /**
   * Not in docs/spec/storage.md §4.3: once a legacy-era user has moved to another email or been deleted,
   * its entry in the read-only `users` hash is stale, and after a delete the legacy fallback (§5)
   * would copy the user forward again. Only an entry holding this user's id is removed.
   */
  async function removeLegacyEntries(user: User): Promise<void> {
    const spellings = new Set([user.email, ...indexSpellings(user.email)]);
    for (const spelling of spellings) {
      const text = await kv.hget(LEGACY_USERS, spelling);
      if (text === null) continue;
      let legacyId: string;
      try {
        legacyId = decodeUser(LEGACY_USERS, LEGACY_FIELD_LABEL, text).localId;
      } catch {
        continue;
      }
      if (legacyId === user.localId) await kv.hdel(LEGACY_USERS, spelling);
    }
  }

  async function deleteUser(id: string): Promise<User | null> {
    const user = await getById(id);
    if (!user) return null;
    // 1 ★
    if (!(await kv.hdel(USERS, id))) return null;
    // 2
    for (const spelling of indexSpellings(user.email)) await kv.casDel(keys.userByEmail(spelling), id);
    // 3, 4
    const byUser = keys.membershipsByUser(id);
    for (const tenantId of await kv.smembers(byUser)) await kv.hdel(keys.memberships(tenantId), id);
    await kv.del(byUser);
    await removeLegacyEntries(user);
    return user;
  }

  return {
    getById,
    findByEmail,
    create,
    insertRecord,
    claimEmail,
    releaseDanglingEmailClaim,
    mutate,
    changeEmail,
    delete: deleteUser,
  };
}
