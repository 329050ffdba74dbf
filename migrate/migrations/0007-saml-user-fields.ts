/**
 * 0007_saml_user_fields (docs/spec/cli.md §9.4): records without `authSource` get `"password"` and, when
 * missing, `externalSubject: ""`. Only those two fields change: the stored JSON is edited in place
 * (every other field, known or not, keeps its value and position) and written with `CAS_HSET`
 * against the exact value read, retried on a lost race (docs/spec/storage.md §4.2). `--down` removes both
 * fields again.
 */
import { keys } from "../../src/store/keys.ts";
import { casHashField } from "../../src/store/repos/cas.ts";
import { type MigrationContext, scanUsers } from "../migration.ts";

type Json = Record<string, unknown>;

function parseObject(text: string): Json | null {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Json) : null;
  } catch {
    return null;
  }
}

/** Absent, `null` or `""` all read as "password" (docs/spec/storage.md §2.1): the record lacks the field. */
function lacksAuthSource(obj: Json): boolean {
  const v = Object.hasOwn(obj, "authSource") ? obj.authSource : undefined;
  return v === undefined || v === null || v === "";
}

function hasEither(obj: Json): boolean {
  return Object.hasOwn(obj, "authSource") || Object.hasOwn(obj, "externalSubject");
}

/** Walks `users_v2`; `change` returns the new JSON object, or `null` for "leave as is". */
async function rewriteAll(
  ctx: MigrationContext,
  change: (obj: Json) => Json | null,
  changedCounter: string,
): Promise<void> {
  const users = keys.users();
  for await (const batch of scanUsers(ctx)) {
    for (const [id, text] of batch) {
      ctx.count("records");
      const obj = parseObject(text);
      if (!obj) {
        ctx.count("errors");
        ctx.line(`error: unreadable users_v2 record ${id}`);
        continue;
      }
      if (change(obj) === null) {
        ctx.count("skipped");
        continue;
      }
      if (ctx.dryRun) {
        ctx.count(changedCounter);
        continue;
      }
      // The scanned value may be stale: the CAS loop reads the field again and decides on that.
      let unreadable = false;
      const outcome = await casHashField(ctx.kv, users, id, (current) => {
        if (current === null) return null;
        const fresh = parseObject(current);
        if (!fresh) {
          unreadable = true;
          return null;
        }
        const next = change(fresh);
        return next === null ? null : JSON.stringify(next);
      });
      if (unreadable) {
        ctx.count("errors");
        ctx.line(`error: unreadable users_v2 record ${id}`);
      } else ctx.count(outcome.written ? changedCounter : "skipped");
    }
  }
}

export function run(ctx: MigrationContext): Promise<void> {
  return rewriteAll(
    ctx,
    (obj) => {
      if (!lacksAuthSource(obj)) return null;
      const next: Json = { ...obj, authSource: "password" };
      if (!Object.hasOwn(obj, "externalSubject") || obj.externalSubject === null) next.externalSubject = "";
      return next;
    },
    "updated",
  );
}

export function down(ctx: MigrationContext): Promise<void> {
  return rewriteAll(
    ctx,
    (obj) => {
      if (!hasEither(obj)) return null;
      const next: Json = {};
      for (const [k, v] of Object.entries(obj)) {
        if (k !== "authSource" && k !== "externalSubject") {
          Object.defineProperty(next, k, { value: v, enumerable: true, writable: true, configurable: true });
        }
      }
      return next;
    },
    "reverted",
  );
}
