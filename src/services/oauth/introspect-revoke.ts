/**
 * Token introspection (RFC 7662, docs/spec/oauth.md §5) and revocation (RFC 7009, docs/spec/oauth.md §7) for
 * an authenticated OAuth client *C*. No HTTP here: client authentication and the RFC error shape
 * belong to the shared OAuth front (src/services/oauth/client-auth.ts, src/http/oauth-errors.ts).
 *
 * Rules that shape the code:
 * - A client only ever learns about, or revokes, tokens of its own tenant that were minted for it
 *   or by it — unless its own roles grant `tikti:tokens:introspect` / `tikti:tokens:revoke`.
 * - Introspection answers `{"active": false}` and nothing else for every failed check, so an
 *   inactive answer never says why; the reason goes to the decision log.
 * - Revocation answers the same for every token (RFC 7009 §2.2): whether anything was revoked is
 *   visible only in the log.
 * - Store failures are not "inactive": they propagate (503), so an outage never looks like a
 *   revocation and never like a live token.
 */

import type { Clock } from "../../clock.ts";
import { type VerifiedAccessTokenClaims, verifyAccessTokenCrypto } from "../../crypto/access-token.ts";
import type { KeyRing } from "../../crypto/keyring.ts";
import type { User } from "../../domain/types.ts";
import { isTiktiError } from "../../errors.ts";
import type { Logger } from "../../logger.ts";
import type { Repos } from "../../store/repos/index.ts";
import type { AccessTokenStateChecker } from "../access-token-state.ts";
import type { AuthenticatedClient, ClientAuthenticator, OAuthRequestInput } from "./client-auth.ts";

/** The permission that lets a client introspect any token of its tenant (docs/spec/oauth.md §5 check 3). */
export const INTROSPECT_PERMISSION = "tikti:tokens:introspect";
/** The permission that lets a client revoke any access token of its tenant (docs/spec/oauth.md §7). */
export const REVOKE_PERMISSION = "tikti:tokens:revoke";

/** The authenticated calling client *C* (what the checks read of it). */
export type OAuthCaller = Pick<AuthenticatedClient, "oauthClientId" | "tenantId"> & {
  client: { clientId: string; roles?: readonly string[] | undefined };
};

export interface TokenIntrospectionDeps {
  config: { issuerBaseUrl: string; clockSkewSeconds: number };
  keys: Pick<KeyRing, "verificationKeys">;
  clock: Clock;
  repos: Pick<Repos, "roles" | "revokedJti">;
  /** The shared front of every `/oauth/*` route (limits, form, client authentication). */
  clientAuth: Pick<ClientAuthenticator, "admit">;
  /**
   * The liveness checks of `/accounts/validate` (docs/spec/tokens.md §4.3 steps 6–9, 6a): throws
   * `INVALID_TOKEN` when the token's user (or issuing client) or tenant is no longer in good standing.
   */
  liveness: AccessTokenStateChecker;
}

/** One `/oauth/introspect` or `/oauth/revoke` request as its route sees it. */
export type OAuthEndpointInput = Omit<OAuthRequestInput, "endpoint" | "required">;

export type IntrospectionAnswer = { active: false } | ActiveIntrospection;

export interface ActiveIntrospection {
  active: true;
  iss: string;
  sub: string;
  aud: string | string[];
  client_id?: string;
  scope?: string;
  tid: string;
  exp: number;
  iat: number;
  jti: string;
  token_type: "Bearer";
  eventTypes?: unknown[];
  act?: unknown;
  /** The user's email (user tokens only). */
  username?: string;
}

export interface TokenIntrospection {
  /** `POST /oauth/introspect`: admits the client (docs/spec/oauth.md §2), then `introspectToken`. */
  introspect(input: OAuthEndpointInput, log: Logger): Promise<IntrospectionAnswer>;
  /** `POST /oauth/revoke`: admits the client, then `revokeToken`. */
  revoke(input: OAuthEndpointInput, log: Logger): Promise<void>;
  /** RFC 7662 §2.2 for `token` as seen by the authenticated `caller`. */
  introspectToken(token: string, caller: OAuthCaller, log: Logger): Promise<IntrospectionAnswer>;
  /** RFC 7009 §2.1; `true` when a `jti` was recorded (for logs and tests, never the response). */
  revokeToken(token: string, caller: OAuthCaller, log: Logger): Promise<boolean>;
}

const INACTIVE: { active: false } = { active: false };

function audiences(aud: unknown): string[] {
  if (typeof aud === "string") return [aud];
  return Array.isArray(aud) ? aud.filter((a): a is string => typeof a === "string") : [];
}

export function createTokenIntrospection(deps: TokenIntrospectionDeps): TokenIntrospection {
  const { config, repos } = deps;

  /** Check 1 up to the denylist: an RS256 Tikti access token, signature, issuer, time. */
  async function verified(token: string): Promise<VerifiedAccessTokenClaims | string> {
    if (token === "") return "malformed";
    try {
      return await verifyAccessTokenCrypto(deps.keys, token, {
        audience: undefined,
        issuer: config.issuerBaseUrl,
        now: deps.clock.now(),
        skew: config.clockSkewSeconds,
      });
    } catch (e) {
      if (isTiktiError(e) && e.code === "INVALID_TOKEN") return e.details?.reason ?? "malformed";
      throw e;
    }
  }

  /** Checks 2–3 (tenant, then: for *C*, by *C*, or *C* holds `permission`); a reason or null. */
  async function callerMayKnow(
    claims: VerifiedAccessTokenClaims,
    caller: OAuthCaller,
    permission: string,
  ): Promise<string | null> {
    if (claims.tid !== caller.tenantId) return "tenant";
    if (audiences(claims.aud).includes(caller.client.clientId)) return null;
    if (claims.client_id === caller.oauthClientId) return null;
    const permissions = await repos.roles.permissionsOf(caller.tenantId, caller.client.roles ?? []);
    return permissions.includes(permission) ? null : "not_allowed";
  }

  async function introspectToken(
    token: string,
    caller: OAuthCaller,
    log: Logger,
  ): Promise<IntrospectionAnswer> {
    const inactive = (reason: string) => {
      log.info("token introspect", { client: caller.oauthClientId, active: false, reason });
      return INACTIVE;
    };
    const claims = await verified(token);
    if (typeof claims === "string") return inactive(claims);
    const jti = typeof claims.jti === "string" ? claims.jti : "";
    // Every Tikti access token carries a jti; one without cannot be revocation-checked.
    if (jti === "") return inactive("malformed");
    if (typeof claims.tid !== "string" || typeof claims.sub !== "string") return inactive("malformed");
    const denied = await callerMayKnow(claims, caller, INTROSPECT_PERMISSION);
    if (denied) return inactive(denied);
    // Liveness includes the denylist (step 6a), so a revoked token is inactive here.
    let user: User | null;
    try {
      ({ user } = await deps.liveness(claims));
    } catch (e) {
      if (isTiktiError(e) && e.code === "INVALID_TOKEN") return inactive(e.details?.reason ?? "liveness");
      throw e;
    }
    log.info("token introspect", { client: caller.oauthClientId, active: true, tenantId: claims.tid });
    return {
      active: true,
      iss: claims.iss,
      sub: claims.sub,
      aud: claims.aud,
      ...(typeof claims.client_id === "string" ? { client_id: claims.client_id } : {}),
      ...(typeof claims.scope === "string" && claims.scope !== "" ? { scope: claims.scope } : {}),
      tid: claims.tid,
      exp: claims.exp,
      iat: claims.iat,
      jti,
      token_type: "Bearer",
      ...(Array.isArray(claims.eventTypes) && claims.eventTypes.length > 0
        ? { eventTypes: claims.eventTypes }
        : {}),
      ...(claims.act !== undefined ? { act: claims.act } : {}),
      ...(user ? { username: user.email } : {}),
    };
  }

  async function revokeToken(token: string, caller: OAuthCaller, log: Logger): Promise<boolean> {
    const ignored = (reason: string) => {
      log.info("token revoke", { client: caller.oauthClientId, revoked: false, reason });
      return false;
    };
    const claims = await verified(token);
    if (typeof claims === "string") return ignored(claims);
    const jti = typeof claims.jti === "string" ? claims.jti : "";
    if (jti === "") return ignored("malformed");
    const denied = await callerMayKnow(claims, caller, REVOKE_PERMISSION);
    if (denied) return ignored(denied);
    // Until the last moment any Tikti verifier would still accept the token (exp + skew).
    await repos.revokedJti.revoke(jti, (claims.exp + config.clockSkewSeconds) * 1000);
    log.info("token revoke", { client: caller.oauthClientId, revoked: true, tenantId: caller.tenantId, jti });
    return true;
  }

  return {
    async introspect(input, log) {
      const { params, client } = await deps.clientAuth.admit(
        { ...input, endpoint: "/oauth/introspect", required: ["token"] },
        log,
      );
      return introspectToken(params.get("token") as string, client, log);
    },
    async revoke(input, log) {
      const { params, client } = await deps.clientAuth.admit(
        { ...input, endpoint: "/oauth/revoke", required: ["token"] },
        log,
      );
      await revokeToken(params.get("token") as string, client, log);
    },
    introspectToken,
    revokeToken,
  };
}
