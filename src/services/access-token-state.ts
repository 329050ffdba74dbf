/**
 * The store-backed checks of an access token (docs/spec/tokens.md §4.3 steps 6–9 and 6a, the `jti`
 * denylist of `/oauth/revoke`): who the token
 * speaks for still exists, is `ACTIVE`, holds the `tokenVersion` the token carries, and its tenant
 * is `ACTIVE`. One implementation for `/accounts/validate`, the access-token subjects of the
 * RFC 8693 grant (docs/spec/oauth.md §4.2) and introspection (docs/spec/oauth.md §5 check 4).
 *
 * Tokens of `/oauth/token` carry `client_id`: their user is `sub` (an `act` chain names actors,
 * each of whom must still be `ACTIVE`); a client-credentials token (`sub` = `client_id`) has no
 * user, and its issuing client must still exist and be `ACTIVE` instead.
 */
import type { VerifiedAccessTokenClaims } from "../crypto/access-token.ts";
import { isInteger } from "../crypto/jws.ts";
import { normaliseEmail } from "../domain/email.ts";
import { isPathTenantId } from "../domain/grammar.ts";
import type { User } from "../domain/types.ts";
import { TiktiError } from "../errors.ts";
import type { Repos } from "../store/repos/index.ts";
import { parseOAuthClientId } from "./oauth/client-auth.ts";

/** Reasons of steps 6–9 (steps 1–5: `AccessTokenFailureReason`). */
export type AccessTokenStateReason =
  | "user_not_found"
  | "revoked"
  | "user_inactive"
  | "tenant_inactive"
  | "client_inactive"
  // `/accounts/validate` only: the request `tenantId` binding (docs/spec/api.md §6.3).
  | "tenant";

export interface AccessTokenState {
  /** The token's user; `null` for a client-credentials token. */
  user: User | null;
}

export type AccessTokenStateChecker = (claims: VerifiedAccessTokenClaims) => Promise<AccessTokenState>;

function rejected(reason: AccessTokenStateReason): TiktiError {
  return new TiktiError("INVALID_TOKEN", { details: { reason } });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A token of `/oauth/token` (docs/spec/oauth.md §4): it carries `client_id`. */
export function isOAuthIssued(claims: Record<string, unknown>): boolean {
  return typeof claims.client_id === "string";
}

/** A client-credentials token (docs/spec/oauth.md §4.1): `sub` = `client_id`, no user. */
export function isClientCredentialsToken(claims: Record<string, unknown>): boolean {
  return typeof claims.client_id === "string" && claims.sub === claims.client_id;
}

/** The `sub` of every actor in an `act` chain, outermost first; null when the chain is malformed. */
export function actorChain(act: unknown): string[] | null {
  const out: string[] = [];
  let node: unknown = act;
  while (node !== undefined) {
    if (!isRecord(node) || typeof node.sub !== "string" || node.sub === "" || out.length >= 16) return null;
    out.push(node.sub);
    node = node.act;
  }
  return out;
}

/** Step 6 user id: legacy tokens speak for `act.sub` when present; docs/spec/oauth.md tokens for `sub`. */
function userIdOf(claims: VerifiedAccessTokenClaims): string | null {
  if (!isOAuthIssued(claims) && claims.act !== undefined) {
    const act = claims.act;
    return isRecord(act) && typeof act.sub === "string" && act.sub !== "" ? act.sub : null;
  }
  return typeof claims.sub === "string" && claims.sub !== "" ? claims.sub : null;
}

export function createAccessTokenStateChecker(
  repos: Pick<Repos, "users" | "tenants" | "clients" | "revokedJti">,
): AccessTokenStateChecker {
  /**
   * Step 6: by id; if absent, by the `email` claim (legacy fallback included). The user found by
   * email must carry the token's id — or the id must be that email (Go-era tokens) — so that a
   * deleted user's tokens do not come back when someone re-registers the address.
   */
  async function resolveUser(id: string | null, email: unknown): Promise<User | null> {
    if (id === null) return null;
    const byId = await repos.users.getById(id);
    if (byId) return byId;
    if (typeof email !== "string" || email === "") return null;
    const byEmail = await repos.users.findByEmail(email);
    if (!byEmail) return null;
    const sameId = byEmail.localId === id;
    const goEraEmailSubject = normaliseEmail(id) === normaliseEmail(email);
    return sameId || goEraEmailSubject ? byEmail : null;
  }

  async function checkTenant(tenantRead: Promise<{ status: string } | null>): Promise<void> {
    const tenant = await tenantRead;
    if (tenant?.status !== "ACTIVE") throw rejected("tenant_inactive");
  }

  return async (claims) => {
    const tid = typeof claims.tid === "string" ? claims.tid : null;
    // The tenant read of step 9 does not depend on the user: start it now, await it in order.
    const tenantRead = tid !== null && isPathTenantId(tid) ? repos.tenants.get(tid) : Promise.resolve(null);
    tenantRead.catch(() => {});
    // So does the denylist read of step 6a.
    const jtiRevoked =
      typeof claims.jti === "string" ? repos.revokedJti.isRevoked(claims.jti) : Promise.resolve(false);
    jtiRevoked.catch(() => {});

    // 6, client-credentials token: the issuing client instead of a user; 7–8 do not apply
    if (isClientCredentialsToken(claims)) {
      const id = parseOAuthClientId(claims.client_id as string);
      const client = id && id.tenantId === tid ? await repos.clients.get(id.tenantId, id.clientId) : null;
      if (client?.status !== "ACTIVE") throw rejected("client_inactive");
      // 6a
      if (await jtiRevoked) throw rejected("revoked");
      await checkTenant(tenantRead);
      return { user: null };
    }

    // 6
    const user = await resolveUser(userIdOf(claims), claims.email);
    if (!user) throw rejected("user_not_found");
    if (isOAuthIssued(claims) && claims.act !== undefined) {
      const actors = actorChain(claims.act);
      if (actors === null) throw rejected("user_not_found");
      const actorUsers = await Promise.all(actors.map((a) => repos.users.getById(a)));
      if (!actorUsers.every((a) => a?.status === "ACTIVE")) throw rejected("user_inactive");
    }

    // 6a: revoked through /oauth/revoke
    if (await jtiRevoked) throw rejected("revoked");

    // 7: `ver` absent → 0; anything but an integer never matches
    const ver = claims.ver === undefined ? 0 : claims.ver;
    if (!isInteger(ver) || ver !== user.tokenVersion) throw rejected("revoked");

    // 8
    if (user.status !== "ACTIVE") throw rejected("user_inactive");

    // 9
    await checkTenant(tenantRead);
    return { user };
  };
}
