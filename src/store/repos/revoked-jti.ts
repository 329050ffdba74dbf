/**
 * The access-token denylist of `/oauth/revoke` (docs/spec/oauth.md §7; storage: `revokedJti:{jti}`).
 * An entry lives until the revoked token's `exp` plus the clock skew, the last moment any verifier
 * of Tikti would still accept the token; after that the token is dead on its own.
 */
import { keys } from "../keys.ts";
import type { RepoDeps } from "./deps.ts";

export interface RevokedJtiRepo {
  /**
   * `SET revokedJti:{jti} 1 PX` until `untilMs` (epoch milliseconds). A token already past that
   * moment needs no entry (no-op). Idempotent: revoking twice keeps the later end.
   */
  revoke(jti: string, untilMs: number): Promise<void>;
  isRevoked(jti: string): Promise<boolean>;
}

export function createRevokedJtiRepo(deps: RepoDeps): RevokedJtiRepo {
  const { kv, clock } = deps;
  return {
    async revoke(jti, untilMs) {
      const left = untilMs - clock.now();
      if (jti === "" || !(left > 0)) return;
      await kv.set(keys.revokedJti(jti), "1", { ttlMs: Math.ceil(left) });
    },
    async isRevoked(jti) {
      if (jti === "") return false;
      return kv.exists(keys.revokedJti(jti));
    },
  };
}
