/**
 * 0001_users_v2 (docs/spec/cli.md §9.1): copy the legacy `users` hash (field = email as old releases
 * stored it) into `users_v2` + `userByEmail:{normalised}`, then, with `--default-tenant`, give every
 * user without a membership and without `companyId` a membership there.
 *
 * Writes follow docs/spec/storage.md §4.3 "Create user": `HSETNX users_v2 <id>` first, then the email claim,
 * so a crash leaves at most an unreachable record that the next run completes. The legacy hash is
 * never written (docs/spec/storage.md §6: read-only).
 */
import { isValidEmail, normaliseEmail } from "../../src/domain/email.ts";
import { isNewTenantId } from "../../src/domain/grammar.ts";
import type { User } from "../../src/domain/types.ts";
import { isTiktiError } from "../../src/errors.ts";
import { keys } from "../../src/store/keys.ts";
import { decodeUser, encodeUser } from "../../src/store/repos/codec.ts";
import {
  BATCH,
  createMembership,
  decodeStoredUser,
  getIndex,
  getUser,
  hasAnyMembership,
  type MigrationContext,
  resolveIndexEntry,
  scanUsers,
  tenantExists,
  UnreadableRecord,
} from "../migration.ts";
import { legacyUserId } from "../uuid.ts";

export async function run(ctx: MigrationContext): Promise<void> {
  for await (const batch of ctx.kv.hscan(keys.legacyUsers(), BATCH)) {
    await ctx.checkpoint();
    for (const [field, text] of batch) {
      ctx.count("legacyUsers");
      await copyLegacyUser(ctx, field, text);
    }
  }
  if (ctx.defaultTenant !== undefined) await defaultTenantMemberships(ctx, ctx.defaultTenant);
}

/** The legacy value with the defaults of §9.1 filled in; `null` when it cannot be read. */
async function legacyUser(ctx: MigrationContext, field: string, text: string): Promise<User | null> {
  let legacy: User;
  try {
    legacy = decodeUser(keys.legacyUsers(), "<email>", text);
  } catch {
    return null;
  }
  const email = legacy.email === "" ? field : legacy.email;
  const normalised = normaliseEmail(email);
  if (normalised === "") return null;
  return {
    ...legacy,
    // The stored spelling is kept, as the server's own copy-forward does (docs/spec/storage.md §5).
    email,
    localId: legacy.localId === "" ? await legacyUserId(normalised) : legacy.localId,
    role: legacy.role === "" ? "COMPANY_EMPLOYEE" : legacy.role,
    status: legacy.status === "" ? "ACTIVE" : legacy.status,
    createdAt: legacy.createdAt === "" ? new Date(ctx.clock.now()).toISOString() : legacy.createdAt,
    // decodeUser already reads absent/"" authSource as "password" and externalSubject as "".
  };
}

async function copyLegacyUser(ctx: MigrationContext, field: string, text: string): Promise<void> {
  const user = await legacyUser(ctx, field, text);
  if (!user) {
    ctx.count("errors");
    ctx.line(`error: invalid legacy record ${field}`);
    return;
  }
  const id = user.localId;
  const normalised = normaliseEmail(user.email);
  const indexKey = keys.userByEmail(normalised);
  const conflict = (owner: string) => {
    ctx.count("conflicts");
    ctx.line(`conflict: email ${user.email} already mapped to ${owner} (legacy ${id})`);
  };

  let existing: User | null;
  let entry: string | null;
  let entryValid: boolean;
  try {
    existing = await getUser(ctx, id);
    entry = await getIndex(ctx, indexKey);
    entryValid = (await resolveIndexEntry(ctx, entry, normalised)) !== null;
  } catch (err) {
    if (!(err instanceof UnreadableRecord)) throw err;
    ctx.count("errors");
    ctx.line(`error: ${err.message} (legacy ${field})`);
    return;
  }
  if (entryValid) {
    if (entry === id) ctx.count("skipped");
    else conflict(entry as string);
    return;
  }
  if (existing && normaliseEmail(existing.email) !== normalised) {
    // The id is taken by a user with another email: copying would merge two people.
    ctx.count("conflicts");
    ctx.line(`conflict: id ${id} already belongs to another email in users_v2 (legacy ${user.email})`);
    return;
  }

  if (ctx.dryRun) {
    if (!existing) ctx.plan.users.set(id, user);
    ctx.plan.index.set(indexKey, id);
    ctx.count("migrated");
    noteGrammar(ctx, user);
    return;
  }

  // 1: the record (never overwrites: HSETNX).
  if (!existing && !(await ctx.kv.hsetnx(keys.users(), id, encodeUser(user)))) {
    const now = await ctx.kv.hget(keys.users(), id);
    if (now !== null && normaliseEmail(decodeStoredUser(id, now).email) !== normalised) {
      conflict(id);
      return;
    }
  }
  // 2 ★: the claim. An entry that fails the reader rule is treated as absent (§4.1) and replaced
  // with CAS_SET against the value read, so it cannot block the copy.
  const claimed =
    entry === id ||
    (entry === null
      ? await ctx.kv.set(indexKey, id, { nx: true })
      : await ctx.kv.casSet(indexKey, entry, id));
  if (!claimed) {
    const owner = await ctx.kv.get(indexKey);
    if (owner !== id) {
      conflict(owner ?? "(unknown)");
      return;
    }
  }
  ctx.count("migrated");
  noteGrammar(ctx, user);
}

/**
 * A legacy email that fails today's grammar (docs/spec/api.md §2.10: controls, format characters, …) is
 * copied as stored, never rewritten or dropped: the account stays its owner's, who signs in with
 * that spelling and can change it with `accounts/update`. The note names the user id, so an
 * operator can find and fix it by id (docs/api-decisions.md, "Emails").
 */
function noteGrammar(ctx: MigrationContext, user: User): void {
  if (!isValidEmail(normaliseEmail(user.email))) {
    ctx.line(`note: user ${user.localId}: stored email fails the email grammar; copied unchanged`);
  }
}

/** §9.1 step 2. */
async function defaultTenantMemberships(ctx: MigrationContext, tenantId: string): Promise<void> {
  if (!(await tenantExists(ctx, tenantId))) {
    if (!isNewTenantId(tenantId)) {
      ctx.count("errors");
      ctx.line(`error: default tenant ${tenantId} does not exist and is not a valid new tenant id`);
      return;
    }
    if (ctx.dryRun) ctx.plan.tenants.add(tenantId);
    else {
      try {
        await ctx.repos.tenants.create({ id: tenantId, slug: tenantId, name: tenantId });
      } catch (err) {
        // Created meanwhile by someone else: that is what we wanted.
        if (!(isTiktiError(err) && err.code === "TENANT_EXISTS")) throw err;
      }
    }
    ctx.line(`default tenant ${tenantId} created`);
  }
  for await (const batch of scanUsers(ctx)) {
    for (const [id, text] of batch) {
      let user: User;
      try {
        user = decodeStoredUser(id, text);
      } catch (err) {
        ctx.count("errors");
        ctx.line(`error: ${(err as Error).message}`);
        continue;
      }
      if (user.companyId) continue;
      if (await hasAnyMembership(ctx, id)) continue;
      if (await createMembership(ctx, tenantId, user)) ctx.count("membershipsCreated");
    }
  }
}
