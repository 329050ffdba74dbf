/**
 * Access-token validation for `/accounts/validate` (spec/tokens.md §4.3): steps 1–5 are
 * cryptographic (src/crypto/access-token.ts), steps 6–9 need the store and live here. Every
 * failure is `401 INVALID_TOKEN` with `details.reason` (api.md §6.3); success returns the claim set
 * exactly as signed.
 */
import { type VerifiedAccessTokenClaims, verifyAccessTokenCrypto } from "../crypto/access-token.ts";
import { isInteger } from "../crypto/jws.ts";
import type { AppDeps } from "../deps.ts";
import { normaliseEmail } from "../domain/email.ts";
import { isPathTenantId } from "../domain/grammar.ts";
import type { User } from "../domain/types.ts";
import { type ErrorCode, isTiktiError, TiktiError } from "../errors.ts";
import type { LogFields, Logger } from "../logger.ts";
import type { Services } from "./index.ts";

/** The canonical route, for `tikti_auth_fail_total{route}`. */
export const VALIDATE_ROUTE = "/accounts/validate";

/** Reasons of steps 6–9 (steps 1–5: `AccessTokenFailureReason`). */
export type AccessTokenStateReason =
  | "user_not_found"
  | "revoked"
  | "user_inactive"
  | "tenant_inactive"
  | "tenant";

export interface ValidateRequest {
  token: string;
  audience: string;
  /** When present, the token's `tid` must equal it (api.md §6.3; reason `tenant`). */
  tenantId?: string | undefined;
}

export interface TokenValidator {
  /**
   * tokens.md §4.3 steps 1–9, plus the optional tenant binding. Counts `tikti_auth_fail_total{route,code}` on failure and writes
   * one decision line to `log`.
   */
  validate(request: ValidateRequest, log: Logger): Promise<VerifiedAccessTokenClaims>;
}

export type ValidateDeps = Pick<AppDeps, "config" | "keys" | "clock" | "metrics">;
export type ValidateServices = Pick<Services, "repos">;

function rejected(reason: AccessTokenStateReason): TiktiError {
  return new TiktiError("INVALID_TOKEN", { details: { reason } });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Step 6: `act.sub` when `act` is present (a delegated token names its actor), else `sub`. */
function userIdOf(claims: VerifiedAccessTokenClaims): string | null {
  if (claims.act !== undefined) {
    const act = claims.act;
    return isRecord(act) && typeof act.sub === "string" && act.sub !== "" ? act.sub : null;
  }
  return typeof claims.sub === "string" && claims.sub !== "" ? claims.sub : null;
}

export function createTokenValidator(deps: ValidateDeps, services: ValidateServices): TokenValidator {
  const { config, metrics } = deps;
  const { repos } = services;

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

  async function run(req: ValidateRequest, fields: LogFields): Promise<VerifiedAccessTokenClaims> {
    // 1–5
    const claims = await verifyAccessTokenCrypto(deps.keys, req.token, {
      audience: req.audience,
      issuer: config.issuerBaseUrl,
      now: deps.clock.now(),
      skew: config.clockSkewSeconds,
    });
    const tid = typeof claims.tid === "string" ? claims.tid : null;
    if (tid !== null) fields.tenantId = tid;
    // The caller's tenant binding (api.md §6.3), right after the signature: a token of another
    // tenant is refused before any store read, so it learns nothing about that tenant's users.
    if (req.tenantId !== undefined && tid !== req.tenantId) throw rejected("tenant");
    if (typeof claims.scope === "string") fields.scopes = claims.scope.split(" ");
    // The tenant read of step 9 does not depend on the user: start it now, await it in order.
    const tenantRead = tid !== null && isPathTenantId(tid) ? repos.tenants.get(tid) : Promise.resolve(null);
    tenantRead.catch(() => {});
    // So does the denylist read of step 6a.
    const jtiRevoked =
      typeof claims.jti === "string" ? repos.revokedJti.isRevoked(claims.jti) : Promise.resolve(false);
    jtiRevoked.catch(() => {});

    // 6
    const userId = userIdOf(claims);
    const user = await resolveUser(userId, claims.email);
    if (!user) throw rejected("user_not_found");
    fields.userId = user.localId;

    // 6a: revoked through /oauth/revoke
    if (await jtiRevoked) throw rejected("revoked");

    // 7: `ver` absent → 0; anything but an integer never matches
    const ver = claims.ver === undefined ? 0 : claims.ver;
    if (!isInteger(ver) || ver !== user.tokenVersion) throw rejected("revoked");

    // 8
    if (user.status !== "ACTIVE") throw rejected("user_inactive");

    // 9
    const tenant = await tenantRead;
    if (tenant?.status !== "ACTIVE") throw rejected("tenant_inactive");
    return claims;
  }

  return {
    async validate(request, log) {
      const fields: LogFields = { audience: request.audience, scopes: [] };
      try {
        const claims = await run(request, fields);
        log.info("token validate", { ...fields, result: "success", code: "OK" });
        return claims;
      } catch (err) {
        const e = isTiktiError(err) ? err : null;
        const code: ErrorCode = e?.code ?? "INTERNAL";
        if (code === "INVALID_TOKEN") {
          metrics.authFail.inc({ route: VALIDATE_ROUTE, code });
          fields.reason = e?.details?.reason;
          fields.expectedIss = config.issuerBaseUrl;
          fields.expectedAud = request.audience;
        }
        log.info("token validate", { ...fields, result: "failure", code });
        throw err;
      }
    },
  };
}
