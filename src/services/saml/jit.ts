/**
 * Attribute mapping, JIT provisioning, linking and role sync (docs/spec/saml.md §8; docs/spec/storage.md §4.3
 * "SAML JIT and link").
 *
 * - §8.2: attributes named `tid`, `tenant_id`, `tenantId` are removed before anything reads them;
 *   nothing in an assertion ever selects the tenant (it comes from the URL through the request).
 * - §8.1: `email` and `name` from the first listed attribute with a non-empty value; the email is
 *   normalised and must pass docs/spec/api.md §2.10; an `emailAddress` NameID stands in only when no email
 *   attribute is present at all. `roles`: the values of the first listed attribute present.
 * - §8.3: known subject → that user; else an existing user who is **already a member** of the tenant
 *   is linked (`SET samlSubject NX`, the winner of a race is used); else, when the email belongs to
 *   someone outside the tenant, the login is refused (`email_conflict`): the tenant's IdP can neither
 *   take over nor shadow an account it does not govern, and one email is one account; else a new
 *   federated user is created (record, email claim, then the subject claim as commit point).
 *   Concurrent logins of one new NameID yield one user.
 * - §8.4: `roleMap` is the only way an IdP value becomes a role; global roles are never touched.
 */
import { isValidEmail, normaliseEmail } from "../../domain/email.ts";
import { isGlobalOnlyRoleName, isRoleName } from "../../domain/grammar.ts";
import type { Membership, User } from "../../domain/types.ts";
import { TiktiError } from "../../errors.ts";
import type { Logger } from "../../logger.ts";
import type { Metrics } from "../../metrics.ts";
import type { AttributeMap } from "../../saml/idp-records.ts";
import { NAMEID_EMAIL } from "../../saml/idp-records.ts";
import { sha256Tagged } from "../../saml/ids.ts";
import type { Repos } from "../../store/repos/index.ts";

/** §8.2. */
export const TENANT_ATTRIBUTE_NAMES: readonly string[] = ["tid", "tenant_id", "tenantId"];
/** §8.1: at most this many role values, each at most this long. */
export const MAX_ROLE_VALUES = 100;
export const MAX_ROLE_VALUE_CHARS = 256;
export const DEFAULT_MEMBERSHIP_ROLES: readonly string[] = ["COMPANY_EMPLOYEE"];

export interface MappedAttributes {
  /** Normalised, valid email. */
  email: string;
  /** Informational (audit hash only); `""` when absent. */
  name: string;
  /** Asserted role values (not yet mapped through `roleMap`). */
  roles: string[];
}

/** §8.2: the attributes without tenant names, and how many were removed. */
export function stripTenantAttributes(attributes: Readonly<Record<string, string[]>>): {
  attributes: Record<string, string[]>;
  removed: number;
} {
  const out = new Map<string, string[]>();
  let removed = 0;
  for (const [name, values] of Object.entries(attributes)) {
    if (TENANT_ATTRIBUTE_NAMES.includes(name)) removed++;
    else out.set(name, values);
  }
  return { attributes: Object.fromEntries(out), removed };
}

const own = (attributes: Readonly<Record<string, string[]>>, name: string): string[] | undefined =>
  Object.hasOwn(attributes, name) ? attributes[name] : undefined;

/** §8.1. `null` when no valid email can be found (`missing_attribute`). */
export function mapAttributes(
  attributes: Readonly<Record<string, string[]>>,
  map: AttributeMap,
  nameId: string,
  nameIdFormat: string | null,
): { ok: true; mapped: MappedAttributes } | { ok: false; detail: string } {
  const firstNonEmpty = (names: readonly string[]): string | null => {
    for (const name of names) {
      const value = own(attributes, name)?.find((v) => v.trim() !== "");
      if (value !== undefined) return value;
    }
    return null;
  };
  let email: string;
  const asserted = firstNonEmpty(map.email);
  if (asserted !== null) {
    email = normaliseEmail(asserted);
    if (!isValidEmail(email)) return { ok: false, detail: "email_invalid" };
  } else if (nameIdFormat === NAMEID_EMAIL) {
    email = normaliseEmail(nameId);
    if (!isValidEmail(email)) return { ok: false, detail: "email_name_id_invalid" };
  } else {
    return { ok: false, detail: "email_missing" };
  }
  let roles: string[] = [];
  for (const name of map.roles) {
    const values = own(attributes, name);
    if (values === undefined) continue;
    roles = values.slice(0, MAX_ROLE_VALUES).filter((v) => [...v].length <= MAX_ROLE_VALUE_CHARS);
    break;
  }
  return { ok: true, mapped: { email, name: firstNonEmpty(map.name) ?? "", roles } };
}

/** Audit `attrHash`: SHA-256 of the canonical JSON of `email`, `name` and sorted `roles` (§15). */
export function attributeHash(mapped: MappedAttributes): Promise<string> {
  return sha256Tagged(
    JSON.stringify({ email: mapped.email, name: mapped.name, roles: [...mapped.roles].sort() }),
  );
}

/**
 * §8.4: union of `roleMap[v]` over the asserted values, first occurrence kept; values without an
 * entry are ignored; nothing mapped → `["COMPANY_EMPLOYEE"]`. Targets that are not role names or
 * are `ADMIN`/`COMPANY_ADMIN` are dropped even if a record holds them (the admin API refuses them).
 */
export function mapRoles(roleMap: Readonly<Record<string, string[]>>, asserted: readonly string[]): string[] {
  const out: string[] = [];
  for (const value of asserted) {
    if (!Object.hasOwn(roleMap, value)) continue;
    const targets = roleMap[value];
    if (!Array.isArray(targets)) continue;
    for (const role of targets) {
      // §8.4: global roles an IdP can never grant, whatever `roleMap` says.
      if (typeof role !== "string" || !isRoleName(role) || isGlobalOnlyRoleName(role)) continue;
      if (!out.includes(role)) out.push(role);
    }
  }
  return out.length > 0 ? out : [...DEFAULT_MEMBERSHIP_ROLES];
}

export type JitKind = "existing" | "linked" | "created";

export interface JitResult {
  user: User;
  jit: JitKind;
  /**
   * The user's membership of the tenant as this step read it (null: read, absent), for the role sync
   * of the same login (`ensureMembership` `known`); undefined when this step did not read it.
   */
  membership?: Membership | null;
}

/**
 * §8.3 step 3: the email belongs to a user who is not a member of the tenant. The login is refused
 * (`email_conflict`); nothing was written.
 */
export interface JitConflict {
  conflict: "email_held_by_non_member";
}

export interface JitDeps {
  repos: Repos;
  metrics: Metrics;
  logger: Logger;
  onProvisioned(): void;
}

const CLAIM_ATTEMPTS = 5;

/** `samlSubject:{tid}:{nameId}` (src/store/repos/saml-subjects.ts). */
interface Subject {
  tenantId: string;
  nameId: string;
}

/**
 * `SET samlSubject:{T}:{n} <id> NX`; when taken, the holder wins if its user exists, and a dangling
 * entry (user deleted, §8.3 last paragraph) is replaced with `CAS_SET` against the value read.
 * Returns the id that holds the subject afterwards.
 */
async function claimSubject(deps: JitDeps, subject: Subject, id: string): Promise<string> {
  const { subjects } = deps.repos.saml;
  for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt++) {
    if (await subjects.claim(subject.tenantId, subject.nameId, id)) return id;
    const holder = await subjects.read(subject.tenantId, subject.nameId);
    if (holder === null) continue;
    if (holder === id) return id;
    if (holder !== "" && (await deps.repos.users.getById(holder))) return holder;
    if (await subjects.replace(subject.tenantId, subject.nameId, holder, id)) return id;
  }
  throw new TiktiError("INTERNAL", { cause: new Error("samlSubject claim did not settle") });
}

/** Step 2's link: claim the subject for `user`; a concurrent winner is used instead. */
async function link(deps: JitDeps, subject: Subject, user: User): Promise<JitResult> {
  // An inactive user is returned unlinked: the caller refuses it (`user_inactive`).
  if (user.status !== "ACTIVE") return { user, jit: "linked" };
  const holder = await claimSubject(deps, subject, user.localId);
  if (holder === user.localId) return { user, jit: "linked" };
  const winner = await deps.repos.users.getById(holder);
  if (winner) return { user: winner, jit: "existing" };
  throw new TiktiError("INTERNAL", { cause: new Error("samlSubject winner vanished") });
}

/**
 * A user this tenant's IdP created for this very NameID whose subject claim is not written yet: a
 * concurrent first login of the same subject (step 3a between its email claim and its commit
 * point). It is no other person's account, so it is linked like a member instead of being refused.
 */
function provisionedForSubject(user: User, tenantId: string, nameId: string): boolean {
  return user.authSource === "saml" && user.companyId === tenantId && user.externalSubject === nameId;
}

/**
 * §8.3 steps 1–3a for tenant `tenantId`, NameID `nameId` and the mapped email. The email index is
 * the single source of truth for "who is this email": a user is created only while the email is
 * free, and an email held by a user outside the tenant refuses the login (`JitConflict`) instead of
 * shadowing that account. The caller checks the returned user's status (a user that is not `ACTIVE`
 * is refused, `user_inactive`) before step 4; an inactive member found by email is returned
 * without being linked.
 *
 * Step 3a writes the record before claiming the email (unlike the claim-first order of the spec's
 * prose) so that it follows the create-user order of docs/spec/storage.md §4.3: a crash leaves at most an
 * unreachable record, never a claim pointing at nothing; the lost-claim case re-runs from step 1
 * exactly as the spec asks.
 */
export async function resolveSamlUser(
  deps: JitDeps,
  input: { tenantId: string; nameId: string; email: string },
): Promise<JitResult | JitConflict> {
  const { repos } = deps;
  const subject: Subject = { tenantId: input.tenantId, nameId: input.nameId };

  for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt++) {
    // 1. Known subject.
    const known = await repos.saml.subjects.read(input.tenantId, input.nameId);
    if (known !== null && known !== "") {
      const user = await repos.users.getById(known);
      if (user) return { user, jit: "existing" };
    }

    // 2. Link an existing member; 3. refuse an email held by anyone else.
    const byEmail = await repos.users.findByEmail(input.email);
    if (byEmail) {
      const membership = await repos.memberships.get(input.tenantId, byEmail.localId);
      if (membership || provisionedForSubject(byEmail, input.tenantId, input.nameId)) {
        return { ...(await link(deps, subject, byEmail)), membership };
      }
      return { conflict: "email_held_by_non_member" };
    }

    // 3a. The email is free: record · email claim · ★ subject claim.
    const created = await repos.users.insertRecord({
      email: input.email,
      password: "",
      role: "COMPANY_EMPLOYEE",
      status: "ACTIVE",
      companyId: input.tenantId,
      authSource: "saml",
      externalSubject: input.nameId,
      tokenVersion: 0,
    });
    let emailClaimed = false;
    try {
      emailClaimed = await repos.users.claimEmail(created);
    } finally {
      if (!emailClaimed) await repos.users.delete(created.localId).catch(() => {});
    }
    if (!emailClaimed) {
      // Another request took the email meanwhile (re-run from step 1, which finds its owner), or a
      // claim points at a user that no longer exists (a crash during a delete): such a claim is
      // dangling under the reader rule of docs/spec/storage.md §4.1 and may be released.
      await repos.users.releaseDanglingEmailClaim(input.email);
      continue;
    }
    let holder: string;
    try {
      holder = await claimSubject(deps, subject, created.localId);
    } catch (error) {
      await repos.users.delete(created.localId).catch(() => {});
      throw error;
    }
    if (holder !== created.localId) {
      // Undo both writes (the delete releases the email claim too) and use the winner.
      await repos.users.delete(created.localId);
      const winner = await repos.users.getById(holder);
      if (winner) return { user: winner, jit: "existing" };
      throw new TiktiError("INTERNAL", { cause: new Error("samlSubject winner vanished") });
    }
    deps.onProvisioned();
    return { user: created, jit: "created" };
  }
  throw new TiktiError("INTERNAL", { cause: new Error("SAML user resolution did not settle") });
}

/**
 * §8.3 step 4 and §8.4: the membership exists afterwards. New membership: mapped roles when
 * `roleMap` is non-empty, else `["COMPANY_EMPLOYEE"]`. Existing: set to the mapped roles when
 * `roleMap` is non-empty (a removed role bumps the user's `tokenVersion`), else untouched.
 * Returns true when the user's `tokenVersion` was bumped.
 */
export async function ensureMembership(
  deps: JitDeps,
  input: {
    tenantId: string;
    userId: string;
    roleMap: Readonly<Record<string, string[]>>;
    asserted: string[];
    /** The membership this login already read (JitResult.membership); undefined: read it here. */
    known?: Membership | null | undefined;
  },
): Promise<boolean> {
  const { memberships } = deps.repos;
  const managed = Object.keys(input.roleMap).length > 0;
  const wanted = managed ? mapRoles(input.roleMap, input.asserted) : [...DEFAULT_MEMBERSHIP_ROLES];
  const existing =
    input.known !== undefined ? input.known : await memberships.get(input.tenantId, input.userId);
  if (existing && (!managed || sameList(existing.roles, wanted))) return false;
  const put = await memberships.put(input.tenantId, input.userId, wanted);
  if (put.tokenVersionBumped) deps.metrics.tokenVersionBumps.inc({ cause: "saml_roles" });
  return put.tokenVersionBumped;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
