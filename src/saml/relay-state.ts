/**
 * Return targets of the SAML browser flows (docs/spec/saml.md §5 step 3, §6.4, §9.2 step 2).
 *
 * A *safe redirect target* is a safe local path or an absolute `https` URL of an origin listed in
 * `saml.acs.allowedRedirectOrigins` (the rule of `isSafeRedirectTarget`, shared with the startup
 * checks of `postLoginURL`/`postLogoutURL`). The value sent to the IdP as `RelayState` is the target
 * itself when it fits in 80 bytes, else an opaque reference; the ACS never redirects to a posted
 * `RelayState`, only to the `returnTo` stored with the request, checked again before use.
 */

import { randomHex } from "../bytes.ts";
import type { Config } from "../config/schema.ts";
import { isSafeRedirectTarget } from "../config/validate.ts";

/** §6.1: at most 80 bytes of `RelayState` are accepted on the ACS. */
export const RELAY_STATE_MAX_BYTES = 80;

export function byteLength(s: string): number {
  return new TextEncoder().encode(s).length;
}

export function isSafeTarget(config: Config, target: string): boolean {
  return isSafeRedirectTarget(target, config.issuerBaseUrl, config.saml.acs.allowedRedirectOrigins);
}

/**
 * §5 step 3 / §9.2 step 2: `null` (absent) → `fallback`; a safe target → itself; anything else
 * (empty included) → `null`, which the caller answers with the `400` page.
 */
export function chooseReturnTo(config: Config, requested: string | null, fallback: string): string | null {
  if (requested === null) return fallback;
  return isSafeTarget(config, requested) ? requested : null;
}

/** §5 step 3: the `RelayState` sent to the IdP: the target when ≤ 80 bytes, else `r` + 32 hex. */
export function relayStateFor(target: string): string {
  return byteLength(target) <= RELAY_STATE_MAX_BYTES ? target : `r${randomHex(16)}`;
}

/** §6.4: the stored `returnTo`, checked again before use; unsafe → `fallback`. */
export function safeReturnTo(config: Config, stored: unknown, fallback: string): string {
  return typeof stored === "string" && isSafeTarget(config, stored) ? stored : fallback;
}
