/**
 * SAML sessions: the flows' entry to the repository (src/store/repos/saml-sessions.ts), which owns
 * `saml:sid:{sid}` and `saml:idx:{nameId}`, their writes and the one decoder of a session record.
 */
import type { KV } from "../store/kv.ts";
import {
  createSamlSessionsRepo,
  type SamlSession,
  type SessionIndexEntry,
} from "../store/repos/saml-sessions.ts";
import { isoSeconds } from "./certs.ts";
import { SESSION_ID_PATTERN } from "./ids.ts";

export type { SamlSession, SessionIndexEntry };

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

export function startSession(kv: KV, session: SamlSession, now: number): Promise<void> {
  return createSamlSessionsRepo({ kv }).start(session, now);
}

/** The session record, or `null` when absent, unreadable or the id is not one Tikti mints. */
export async function readSession(kv: KV, sid: string): Promise<SamlSession | null> {
  if (!SESSION_ID_PATTERN.test(sid)) return null;
  return createSamlSessionsRepo({ kv }).get(sid);
}

export function endSession(
  kv: KV,
  session: Pick<SamlSession, "sid" | "tenantId" | "nameId">,
): Promise<boolean> {
  return createSamlSessionsRepo({ kv }).end(session);
}

export function sessionIndexEntries(kv: KV, nameId: string): Promise<SessionIndexEntry[]> {
  return createSamlSessionsRepo({ kv }).indexEntries(nameId);
}
