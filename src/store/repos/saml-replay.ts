/**
 * The SAML replay guard `saml:seen:{id}` (docs/spec/storage.md §3, §4.3; docs/spec/saml.md §6.3 step 12,
 * §9.3 step 4): an Assertion ID or inbound LogoutRequest ID is recorded with `SET NX EX`, shared by
 * every replica, so a message is accepted once while it could still be valid.
 */
import { keys } from "../keys.ts";
import type { RepoDeps } from "./deps.ts";

export interface SamlReplayRepo {
  /** ★ `SET saml:seen:{id} 1 NX PX ttlMs`: true for the first sight only (concurrent callers: one wins). */
  firstSight(id: string, ttlMs: number): Promise<boolean>;
}

export function createSamlReplayRepo(deps: Pick<RepoDeps, "kv">): SamlReplayRepo {
  return {
    firstSight: (id, ttlMs) => deps.kv.set(keys.samlSeen(id), "1", { nx: true, ttlMs: Math.max(1, ttlMs) }),
  };
}
