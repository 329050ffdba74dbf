/**
 * Procedure V (docs/spec/tokens.md §4.1): the full verification of an idToken presented to Tikti's own
 * routes. Steps 1–5 are cryptographic and live in src/crypto/id-token.ts; steps 6–10 need the
 * store and live here, so lookup, update, delete, exchange and the admin bearer share one rule.
 */

import type { Clock } from "../clock.ts";
import type { IdTokenSigner, VerifiedIdTokenClaims } from "../crypto/id-token.ts";
import { normaliseEmail } from "../domain/email.ts";
import type { Tenant, User } from "../domain/types.ts";
import { TiktiError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import type { Repos } from "../store/repos/index.ts";

export interface VerifiedIdToken {
  claims: VerifiedIdTokenClaims;
  user: User;
  /** `amr` contains `saml` (docs/spec/tokens.md §4.1 V10, §7). */
  saml: boolean;
  /**
   * The tenant of `claims.tid` as this verification saw it (`null`: no such tenant), present only when
   * it was needed (a SAML token, or `checkTenant`): callers reuse it instead of reading it again.
   */
  tenant?: Tenant | null;
}

export interface VerifyIdTokenOptions {
  /** Step 6 found no user: answer 404 USER_NOT_FOUND instead of 401 (exchange, docs/spec/api.md §2.11.3). */
  missingUserIs404?: boolean;
  /**
   * docs/spec/api.md §2.11.4: a token whose `tid` names a DISABLED tenant is rejected (lookup, exchange,
   * validate). A `tid` naming no tenant (legacy `companyId`) is not rejected for non-SAML tokens.
   */
  checkTenant?: boolean;
  /**
   * A tenant this request has already read (e.g. the OAuth client's): used instead of a second read
   * when it is the token's `tid`.
   */
  knownTenant?: Tenant;
  /**
   * Called with the verified claims (steps 1–5 passed) right before the store reads of step 6, so
   * that the caller's own reads that depend only on the claims (e.g. lookup's membership index) go
   * out in the same round trip as the user read (issue 14). The caller awaits what it started only
   * after this verification succeeded, and must swallow a rejection it never awaits.
   */
  alongside?: (claims: VerifiedIdTokenClaims) => void;
}

export type IdTokenVerifier = (token: string, options?: VerifyIdTokenOptions) => Promise<VerifiedIdToken>;

function invalid(reason: string): TiktiError {
  return new TiktiError("INVALID_TOKEN", { cause: new Error(`id token rejected: ${reason}`) });
}

export function createIdTokenVerifier(deps: {
  signer: IdTokenSigner;
  repos: Repos;
  clock: Clock;
  logger: Logger;
}): IdTokenVerifier {
  const { repos } = deps;

  return async (token, options = {}) => {
    const claims = await deps.signer.verifyIdTokenCrypto(token, deps.clock.now());
    const saml = claims.amr.includes("saml");
    // The tenant and SAML session reads (V10, docs/spec/api.md §2.11.4) depend only on the verified
    // claims: start them with the user read so that all share one round trip. They are awaited in
    // step order below, so which error wins does not change; a rejection of an unused read is
    // swallowed.
    const tid = claims.tid;
    const tenantRead =
      tid && (saml || options.checkTenant)
        ? options.knownTenant?.id === tid
          ? Promise.resolve(options.knownTenant)
          : repos.tenants.get(tid)
        : null;
    tenantRead?.catch(() => {});
    const sessionRead = saml && claims.sid && claims.tid ? repos.saml.sessions.get(claims.sid) : null;
    sessionRead?.catch(() => {});
    options.alongside?.(claims);

    // V6: by id, else by the email claim with the legacy fallback, whose id must equal sub.
    let user = await repos.users.getById(claims.sub);
    if (!user) {
      const byEmail = await repos.users.findByEmail(claims.email);
      user = byEmail && byEmail.localId === claims.sub ? byEmail : null;
    }
    if (!user) {
      if (options.missingUserIs404) throw new TiktiError("USER_NOT_FOUND");
      throw invalid("user not found");
    }
    // V7–V9
    if (normaliseEmail(claims.email) !== normaliseEmail(user.email)) throw invalid("email mismatch");
    if (claims.ver !== user.tokenVersion) throw invalid("stale token version");
    if (user.status !== "ACTIVE") throw invalid("user not active");

    // V10
    if (saml) {
      if (!claims.sid || !claims.tid) throw invalid("saml token without sid or tid");
      const session = await sessionRead;
      if (!session || session.userId !== claims.sub || session.tenantId !== claims.tid) {
        throw invalid("saml session ended or mismatched");
      }
    }
    if (tenantRead) {
      const tenant = await tenantRead;
      if (saml ? tenant?.status !== "ACTIVE" : tenant !== null && tenant.status !== "ACTIVE") {
        throw invalid("tenant not active");
      }
      return { claims, user, saml, tenant };
    }
    return { claims, user, saml };
  };
}
