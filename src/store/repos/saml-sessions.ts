/**
 * SAML sessions (docs/spec/saml.md §6.5 step 3, §9; docs/spec/storage.md §3, §3.3, §4.3):
 *
 * - `saml:sid:{sid}` — `{"sid", "tenantId", "userId", "nameId", "nameIdFormat", "sessionIndex",
 *   "createdAt", "expiresAt"}`, written with `SET` and an expiry at the session end. Its existence is
 *   what keeps a SAML idToken alive (docs/spec/tokens.md §4.1 V10).
 * - `saml:idx:{nameId}` — hash field `{tid}:{sid}` → `{"userId", "sessionIndex", "expiresAt"}`,
 *   written with `IDX_ADD` (the key lives as long as its longest session), so an IdP-initiated
 *   LogoutRequest, which names only the NameID, finds the sessions to end.
 *
 * Start: ★ `SET saml:sid:{sid} EX` · `IDX_ADD`. End: ★ `DEL saml:sid:{sid}` · `HDEL` the index field.
 * The NameID is used verbatim in the key (binary-safe keys, docs/spec/storage.md §3). This module is
 * the one decoder of a session record: the logout flows and procedure V read it through `get`.
 */
import { keys } from "../keys.ts";
import type { RepoDeps } from "./deps.ts";

export interface SamlSession {
  sid: string;
  tenantId: string;
  userId: string;
  nameId: string;
  /** `""` when the assertion had none. */
  nameIdFormat: string;
  /** `""` when the assertion had none. */
  sessionIndex: string;
  createdAt: string;
  expiresAt: string;
}

/** One live-or-not entry of `saml:idx:{nameId}`. */
export interface SessionIndexEntry {
  tenantId: string;
  sid: string;
  userId: string;
  sessionIndex: string;
  /** Milliseconds; NaN when unreadable. */
  expiresAt: number;
}

export interface SamlSessionsRepo {
  /** ★ `SET saml:sid:{sid}` with the session's remaining lifetime (at least 1 s) · `IDX_ADD saml:idx:{nameId}`. */
  start(session: SamlSession, now: number): Promise<void>;
  /** The session record, or `null` when absent or unreadable (`decodeSamlSession`). */
  get(sid: string): Promise<SamlSession | null>;
  /** ★ `DEL saml:sid:{sid}` · `HDEL saml:idx:{nameId} {tid}:{sid}`. True when the session existed. */
  end(session: Pick<SamlSession, "sid" | "tenantId" | "nameId">): Promise<boolean>;
  /** Every readable field of `saml:idx:{nameId}` (expired ones included; callers filter). */
  indexEntries(nameId: string): Promise<SessionIndexEntry[]>;
}

/**
 * The grammar of the session ids Tikti mints (32 lowercase hex, docs/spec/saml.md §6.5): only such an
 * id in the index names a session an IdP may end.
 */
export const SESSION_ID_PATTERN = /^[0-9a-f]{32}$/;

/**
 * The one decoder of `saml:sid:{sid}`: a JSON object whose `tenantId`, `userId` and `nameId` are
 * strings (every writer writes them, docs/spec/storage.md §3.3); the optional fields read as `""`
 * when absent. Anything else is not a session (`null`): a reader that cannot tell whose session a
 * value is must not keep a token alive or end someone's session with it.
 */
export function decodeSamlSession(raw: string, sid: string): SamlSession | null {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return null;
  }
  if (v === null || typeof v !== "object") return null;
  const r = v as Record<string, unknown>;
  if (typeof r.tenantId !== "string" || typeof r.userId !== "string" || typeof r.nameId !== "string")
    return null;
  const text = (x: unknown) => (typeof x === "string" ? x : "");
  return {
    sid,
    tenantId: r.tenantId,
    userId: r.userId,
    nameId: r.nameId,
    nameIdFormat: text(r.nameIdFormat),
    sessionIndex: text(r.sessionIndex),
    createdAt: text(r.createdAt),
    expiresAt: text(r.expiresAt),
  };
}

const indexField = (tenantId: string, sid: string) => `${tenantId}:${sid}`;

export function createSamlSessionsRepo(deps: Pick<RepoDeps, "kv">): SamlSessionsRepo {
  const { kv } = deps;
  return {
    async start(session, now) {
      const ttlMs = Math.max(1000, Date.parse(session.expiresAt) - now);
      await kv.set(keys.samlSession(session.sid), JSON.stringify(session), { ttlMs });
      await kv.idxAdd(
        keys.samlSessionIndex(session.nameId),
        indexField(session.tenantId, session.sid),
        JSON.stringify({
          userId: session.userId,
          sessionIndex: session.sessionIndex,
          expiresAt: session.expiresAt,
        }),
        ttlMs,
      );
    },
    async get(sid) {
      const raw = await kv.get(keys.samlSession(sid));
      return raw === null ? null : decodeSamlSession(raw, sid);
    },
    async end(session) {
      const existed = await kv.del(keys.samlSession(session.sid));
      await kv.hdel(keys.samlSessionIndex(session.nameId), indexField(session.tenantId, session.sid));
      return existed;
    },
    async indexEntries(nameId) {
      const all = await kv.hgetall(keys.samlSessionIndex(nameId));
      const out: SessionIndexEntry[] = [];
      for (const [field, value] of all) {
        const colon = field.lastIndexOf(":");
        if (colon <= 0) continue;
        const tenantId = field.slice(0, colon);
        const sid = field.slice(colon + 1);
        if (!SESSION_ID_PATTERN.test(sid)) continue;
        try {
          const v = JSON.parse(value) as { userId?: unknown; sessionIndex?: unknown; expiresAt?: unknown };
          out.push({
            tenantId,
            sid,
            userId: typeof v.userId === "string" ? v.userId : "",
            sessionIndex: typeof v.sessionIndex === "string" ? v.sessionIndex : "",
            expiresAt: typeof v.expiresAt === "string" ? Date.parse(v.expiresAt) : Number.NaN,
          });
        } catch {
          // An unreadable field cannot name a session to end.
        }
      }
      return out;
    },
  };
}
