/**
 * The `private_key_jwt` replay guard (docs/spec/oauth.md §2, docs/spec/storage.md §2):
 * `clientAssertionJti:{oauthClientId}:{jti}` written with `SET NX` until the assertion's `exp` +
 * skew, so one assertion authenticates once across every replica sharing the store.
 */
import { keys } from "../keys.ts";
import type { RepoDeps } from "./deps.ts";

export interface ClientAssertionsRepo {
  /** True for the first caller only; every later or concurrent use of the same `jti` gets false. */
  claimJti(oauthClientId: string, jti: string, ttlMs: number): Promise<boolean>;
}

export function createClientAssertionsRepo(deps: Pick<RepoDeps, "kv">): ClientAssertionsRepo {
  return {
    claimJti: (oauthClientId, jti, ttlMs) =>
      deps.kv.set(keys.clientAssertionJti(oauthClientId, jti), "1", { nx: true, ttlMs: Math.max(1, ttlMs) }),
  };
}
