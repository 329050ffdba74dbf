/**
 * SAML subjects `samlSubject:{tid}:{nameId}` → Tikti user id (docs/spec/saml.md §8.3; docs/spec/storage.md
 * §2, §4.3 "SAML JIT and linking"): claimed with `SET NX` so that one NameID of one tenant is one user
 * even under concurrent first logins; a claim naming a user that no longer exists is replaced with
 * `CAS_SET` against the value read (the reader rule of docs/spec/storage.md §4.1 makes it absent).
 */
import { keys } from "../keys.ts";
import type { RepoDeps } from "./deps.ts";

export interface SamlSubjectsRepo {
  /**
   * The user id the subject is claimed for, as stored (an empty value is no claim to a user but is
   * the value a `replace` must expect); `null` when absent.
   */
  read(tenantId: string, nameId: string): Promise<string | null>;
  /** ★ `SET NX`: true when this call claimed the subject for `userId`. */
  claim(tenantId: string, nameId: string, userId: string): Promise<boolean>;
  /** `CAS_SET` from `expected` (as read) to `userId`: true when nothing changed meanwhile. */
  replace(tenantId: string, nameId: string, expected: string, userId: string): Promise<boolean>;
}

export function createSamlSubjectsRepo(deps: Pick<RepoDeps, "kv">): SamlSubjectsRepo {
  const { kv } = deps;
  return {
    read: (tenantId, nameId) => kv.get(keys.samlSubject(tenantId, nameId)),
    claim: (tenantId, nameId, userId) => kv.set(keys.samlSubject(tenantId, nameId), userId, { nx: true }),
    replace: (tenantId, nameId, expected, userId) =>
      kv.casSet(keys.samlSubject(tenantId, nameId), expected, userId),
  };
}
