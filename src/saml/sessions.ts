/**
 * A new SAML session record (docs/spec/saml.md §6.5 step 3; docs/spec/storage.md §3.3) from the accepted
 * assertion. Its storage — `saml:sid:{sid}`, `saml:idx:{nameId}` and the one decoder — is the
 * repository src/store/repos/saml-sessions.ts.
 */
import type { SamlSession } from "../store/repos/saml-sessions.ts";
import { isoSeconds } from "./certs.ts";

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
