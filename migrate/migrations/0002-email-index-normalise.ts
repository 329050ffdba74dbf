/**
 * 0002_email_index_normalise (docs/spec/cli.md §9.2): `SCAN MATCH userByEmail:*` (every master of a
 * cluster). Keys whose email part is not normalised move to the normalised key; entries that fail
 * the reader rule of docs/spec/storage.md §4.1 (their user is missing, or its email does not normalise to
 * the key's email) are deleted — they are exactly the entries readers already ignore, e.g. the
 * leftover claim of an interrupted email change (§4.3).
 *
 * Every delete is a `CAS_DEL` against the id read, so an entry changed meanwhile is left alone.
 */
import { normaliseEmail } from "../../src/domain/email.ts";
import { keys } from "../../src/store/keys.ts";
import { BATCH, getIndex, type MigrationContext, resolveIndexEntry, UnreadableRecord } from "../migration.ts";

export async function run(ctx: MigrationContext): Promise<void> {
  const prefix = keys.userByEmailPrefix();
  // A dry run also visits the keys earlier migrations of the same run would have written (0001's
  // claims), as the real run finds them in the store.
  const planned = new Set([...ctx.plan.index].filter(([, id]) => id !== null).map(([key]) => key));
  const visitOne = async (key: string) => {
    ctx.count("indexKeys");
    try {
      await visit(ctx, key, key.slice(prefix.length));
    } catch (err) {
      if (!(err instanceof UnreadableRecord)) throw err;
      ctx.count("errors");
      ctx.line(`error: ${err.message} (index key ${key})`);
    }
  };
  for await (const batch of ctx.kv.scan(prefix, BATCH)) {
    await ctx.checkpoint();
    for (const key of batch) {
      planned.delete(key);
      await visitOne(key);
    }
  }
  for (const key of planned) if (key.startsWith(prefix)) await visitOne(key);
}

/** In a dry run, remembers an entry as gone so later keys of the same run see that. */
async function remove(ctx: MigrationContext, key: string, id: string): Promise<boolean> {
  if (ctx.dryRun) {
    ctx.plan.index.set(key, null);
    return true;
  }
  return ctx.kv.casDel(key, id);
}

async function visit(ctx: MigrationContext, key: string, email: string): Promise<void> {
  const id = await getIndex(ctx, key);
  if (id === null || id === "") {
    // Gone since the scan listed it, or an empty value (which no reader accepts).
    if (id === "" && (await remove(ctx, key, id))) ctx.count("removed");
    return;
  }
  const normalised = normaliseEmail(email);
  if (!(await resolveIndexEntry(ctx, id, normalised))) {
    if (await remove(ctx, key, id)) ctx.count("removed");
    return;
  }
  if (email === normalised) return;

  const target = keys.userByEmail(normalised);
  let owner = await getIndex(ctx, target);
  if (owner !== null && owner !== id && !(await resolveIndexEntry(ctx, owner, normalised))) {
    // The normalised key holds an entry readers ignore: it is removed like any other such entry
    // (its own visit may come before or after this one), and the key counts as free.
    if (owner === "" || (await remove(ctx, target, owner))) ctx.count("removed");
    owner = null;
  }
  if (owner === null || owner === "") {
    if (ctx.dryRun) ctx.plan.index.set(target, id);
    else if (!(await ctx.kv.set(target, id, { nx: true }))) {
      // Claimed meanwhile: decide again against the new owner.
      owner = await ctx.kv.get(target);
      if (owner !== id) {
        conflict(ctx, key, id, target, owner);
        return;
      }
      await remove(ctx, key, id);
      ctx.count("merged");
      return;
    }
    await remove(ctx, key, id);
    ctx.count("normalised");
    return;
  }
  if (owner === id) {
    await remove(ctx, key, id);
    ctx.count("merged");
    return;
  }
  conflict(ctx, key, id, target, owner);
}

function conflict(
  ctx: MigrationContext,
  key: string,
  id: string,
  target: string,
  owner: string | null,
): void {
  ctx.count("conflicts");
  ctx.line(`conflict: ${key} maps to ${id} but ${target} maps to ${owner ?? "(nothing)"}; both kept`);
}
