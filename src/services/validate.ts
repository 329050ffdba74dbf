/**
 * Access-token validation for `/accounts/validate` (docs/spec/tokens.md §4.3): steps 1–5 are
 * cryptographic (src/crypto/access-token.ts), steps 6–9 need the store and live here. Every
 * failure is `401 INVALID_TOKEN` with `details.reason` (docs/spec/api.md §6.3); success returns the claim set
 * exactly as signed.
 */
import { type VerifiedAccessTokenClaims, verifyAccessTokenCrypto } from "../crypto/access-token.ts";
import type { AppDeps } from "../deps.ts";
import { type ErrorCode, isTiktiError, TiktiError } from "../errors.ts";
import type { LogFields, Logger } from "../logger.ts";
import type { Repos } from "../store/repos/index.ts";
import { createAccessTokenStateChecker } from "./access-token-state.ts";

export type { AccessTokenStateReason } from "./access-token-state.ts";

export interface ValidateRequest {
  token: string;
  audience: string;
  /** When present, the token's `tid` must equal it (docs/spec/api.md §6.3; reason `tenant`). */
  tenantId?: string | undefined;
}

export interface TokenValidator {
  /**
   * docs/spec/tokens.md §4.3 steps 1–9, plus the optional tenant binding. Writes one decision line
   * to `log` (`tikti_auth_fail_total` is the observation middleware's, from the answer).
   */
  validate(request: ValidateRequest, log: Logger): Promise<VerifiedAccessTokenClaims>;
}

export type ValidateDeps = Pick<AppDeps, "config" | "keys" | "clock">;
export interface ValidateServices {
  repos: Repos;
}

export function createTokenValidator(deps: ValidateDeps, services: ValidateServices): TokenValidator {
  const { config } = deps;
  const checkState = createAccessTokenStateChecker(services.repos);

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
    // The caller's tenant binding (docs/spec/api.md §6.3), right after the signature: a token of another
    // tenant is refused before any store read, so it learns nothing about that tenant's users.
    if (req.tenantId !== undefined && tid !== req.tenantId) {
      throw new TiktiError("INVALID_TOKEN", { details: { reason: "tenant" } });
    }
    if (typeof claims.scope === "string") fields.scopes = claims.scope.split(" ");

    // 6–9 (6a: the jti denylist of /oauth/revoke)
    const { user } = await checkState(claims);
    if (user) fields.userId = user.localId;
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
