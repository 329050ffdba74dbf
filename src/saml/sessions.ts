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
 * The NameID is used verbatim in the key (binary-safe keys, docs/spec/storage.md §3).
 */
import { keys } from "../store/keys.ts";
import type { KV } from "../store/kv.ts";
import { isoSeconds } from "./certs.ts";
import { SESSION_ID_PATTERN } from "./ids.ts";

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

export function newSession(input: {
  sid: string;
  tenantId: string;
  userId: string;
  nameId: string;
  nameIdFormat: string | null;
  sessionIndex: string | null;
  now: number;
  expiresAt: number;
}): SamlSession {
  return {
    sid: input.sid,
    tenantId: input.tenantId,
    userId: input.userId,
    nameId: input.nameId,
    nameIdFormat: input.nameIdFormat ?? "",
    sessionIndex: input.sessionIndex ?? "",
    createdAt: isoSeconds(input.now),
    expiresAt: isoSeconds(input.expiresAt),
  };
}

const indexField = (tenantId: string, sid: string) => `${tenantId}:${sid}`;

/** ★ `SET saml:sid:{sid}` with the session's remaining lifetime · `IDX_ADD saml:idx:{nameId}`. */
export async function startSession(kv: KV, session: SamlSession, now: number): Promise<void> {
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
}

/** The session record, or `null` when absent or unreadable. */
export async function readSession(kv: KV, sid: string): Promise<SamlSession | null> {
  if (!SESSION_ID_PATTERN.test(sid)) return null;
  const raw = await kv.get(keys.samlSession(sid));
  if (raw === null) return null;
  try {
    const v = JSON.parse(raw) as Partial<SamlSession> | null;
    if (!v || typeof v !== "object") return null;
    if (typeof v.tenantId !== "string" || typeof v.userId !== "string" || typeof v.nameId !== "string")
      return null;
    return {
      sid,
      tenantId: v.tenantId,
      userId: v.userId,
      nameId: v.nameId,
      nameIdFormat: typeof v.nameIdFormat === "string" ? v.nameIdFormat : "",
      sessionIndex: typeof v.sessionIndex === "string" ? v.sessionIndex : "",
      createdAt: typeof v.createdAt === "string" ? v.createdAt : "",
      expiresAt: typeof v.expiresAt === "string" ? v.expiresAt : "",
    };
  } catch {
    return null;
  }
}

/** ★ `DEL saml:sid:{sid}` · `HDEL saml:idx:{nameId} {tid}:{sid}`. True when the session existed. */
export async function endSession(
  kv: KV,
  session: Pick<SamlSession, "sid" | "tenantId" | "nameId">,
): Promise<boolean> {
  const existed = await kv.del(keys.samlSession(session.sid));
  await kv.hdel(keys.samlSessionIndex(session.nameId), indexField(session.tenantId, session.sid));
  return existed;
}

/** Every readable field of `saml:idx:{nameId}` (expired ones included; callers filter). */
export async function sessionIndexEntries(kv: KV, nameId: string): Promise<SessionIndexEntry[]> {
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
}
