/**
 * The metadata-refresh lock `saml:refresh:lock:{tid}` (docs/spec/storage.md §3, §4.3; docs/spec/saml.md
 * §12.4): one replica refreshes one IdP's metadata at a time. `SET NX PX` with the replica's id; the
 * release deletes only the holder's own lock (`CAS_DEL`), so a lock that expired and was taken by
 * another replica is never released by the first.
 */
import { keys } from "../keys.ts";
import type { RepoDeps } from "./deps.ts";

/** How long a refresh may hold the lock (docs/spec/storage.md §3: 600 s). */
export const REFRESH_LOCK_TTL_MS = 600_000;

export interface SamlRefreshLocksRepo {
  /** True when `holder` now holds the lock of `tenantId`. */
  acquire(tenantId: string, holder: string): Promise<boolean>;
  /** Releases the lock only if `holder` still holds it; true when it did. */
  release(tenantId: string, holder: string): Promise<boolean>;
}

export function createSamlRefreshLocksRepo(deps: Pick<RepoDeps, "kv">): SamlRefreshLocksRepo {
  const { kv } = deps;
  return {
    acquire: (tenantId, holder) =>
      kv.set(keys.samlRefreshLock(tenantId), holder, { nx: true, ttlMs: REFRESH_LOCK_TTL_MS }),
    release: (tenantId, holder) => kv.casDel(keys.samlRefreshLock(tenantId), holder),
  };
}
