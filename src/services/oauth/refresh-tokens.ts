/**
 * Refresh tokens of password and email-code sessions (docs/spec/oauth.md §6): issue a family at
 * sign-in, rotate on every use of `POST /accounts/token`, end the family at `POST
 * /accounts/signOut` or on reuse. No HTTP here; the route group shapes the answers.
 *
 * Rules that shape the code:
 * - Rotation is one compare-and-set of the presented token's record (`live` → `used`): of N
 *   concurrent uses exactly one wins. A loser is treated as a reuse (RFC 6819 §5.2.2.3, OAuth 2.0
 *   Security BCP §4.14.2): two parties holding one token is what theft looks like, so the whole
 *   family is revoked — the winner's successor included. docs/api-decisions.md records this.
 * - Every refusal is the same `400 INVALID_REFRESH_TOKEN`; the reason goes only to the log.
 * - User checks (exists, `ACTIVE`, `ver` = `tokenVersion`, still a password user) run before the
 *   token is spent, so they never consume it; a bumped version never comes back, so such a token
 *   stays dead.
 * - Tokens are logged never; the family id is (it names no secret).
 */

import type { Clock } from "../../clock.ts";
import type { Config } from "../../config/schema.ts";
import type { AuthMethod, IdTokenSigner } from "../../crypto/id-token.ts";
import { base64UrlEncode } from "../../crypto/jws.ts";
import type { User } from "../../domain/types.ts";
import { TiktiError } from "../../errors.ts";
import type { Logger } from "../../logger.ts";
import type { Metrics } from "../../metrics.ts";
import type { Repos } from "../../store/repos/index.ts";
import type { RefreshTokenRecord } from "../../store/repos/refresh-tokens.ts";
import type { RateLimiter } from "../rate-limit.ts";

/** `rt_` + 43 base64url characters of 32 random bytes. */
const REFRESH_TOKEN = /^rt_[A-Za-z0-9_-]{43}$/;
/** The only grant of `POST /accounts/token`. */
export const REFRESH_GRANT = "refresh_token";

export interface RefreshTokenDeps {
  config: Pick<Config, "tokens" | "idTokenTtlSeconds">;
  repos: Pick<Repos, "users" | "refreshTokens">;
  rateLimiter: Pick<RateLimiter, "check">;
  idTokens: Pick<IdTokenSigner, "sign">;
  clock: Clock;
  logger: Logger;
  metrics: Pick<Metrics, "refreshTokens">;
}

/** Who is asking (filled by the HTTP layer). */
export interface RefreshRequestContext {
  clientIp: string;
  log?: Logger;
}

/** The session a family continues: what its first idToken said. */
export interface RefreshSession {
  /** `pwd` or `oob`; SAML sessions get no refresh token (the IdP session is the long one). */
  amr: Exclude<AuthMethod, "saml">;
  /** The first idToken's `tid`, if it had one. */
  tid?: string | undefined;
}

export interface RefreshResult {
  idToken: string;
  refreshToken: string;
  expiresIn: number;
  localId: string;
}

export interface RefreshTokenService {
  /**
   * Starts a family for a sign-in that just issued an idToken to `user`; `undefined` when
   * `tokens.refresh.enabled` is false.
   */
  startFamily(user: User, session: RefreshSession): Promise<string | undefined>;
  /** `POST /accounts/token`: rotation, reuse detection, revocation by token version. */
  refresh(
    input: { grantType: string; refreshToken: string },
    ctx: RefreshRequestContext,
  ): Promise<RefreshResult>;
  /** `POST /accounts/signOut`: ends the token's family; unknown tokens are not an error. */
  signOut(refreshToken: string, ctx: RefreshRequestContext): Promise<void>;
}

function newRefreshToken(): string {
  return `rt_${base64UrlEncode(crypto.getRandomValues(new Uint8Array(32)))}`;
}

/** A refusal; `reason` is for the log line only. */
class Refused extends Error {
  readonly reason: string;
  constructor(reason: string) {
    super(reason);
    this.reason = reason;
  }
}

export function createRefreshTokenService(deps: RefreshTokenDeps): RefreshTokenService {
  const { config, repos, clock } = deps;
  const settings = config.tokens.refresh;
  const ttlMs = settings.ttlSeconds * 1000;

  /** Writes a live token of the family; its lifetime slides but never passes the family's end. */
  async function issue(record: Omit<RefreshTokenRecord, "state" | "createdAt">): Promise<string> {
    const now = clock.now();
    const lifetime = Math.min(ttlMs, Date.parse(record.familyExpiresAt) - now);
    const token = newRefreshToken();
    await repos.refreshTokens.create(
      token,
      { ...record, createdAt: new Date(now).toISOString(), state: "live" },
      lifetime,
    );
    return token;
  }

  async function startFamily(user: User, session: RefreshSession): Promise<string | undefined> {
    if (!settings.enabled) return undefined;
    const familyExpiresAt = new Date(clock.now() + settings.maxLifetimeSeconds * 1000).toISOString();
    return issue({
      userId: user.localId,
      familyId: crypto.randomUUID(),
      ...(session.tid ? { tid: session.tid } : {}),
      amr: [session.amr],
      ver: user.tokenVersion,
      familyExpiresAt,
    });
  }

  async function rotate(
    token: string,
  ): Promise<{ user: User; record: RefreshTokenRecord; successor: string }> {
    if (!settings.enabled) throw new Refused("disabled");
    if (!REFRESH_TOKEN.test(token)) throw new Refused("malformed");
    const stored = await repos.refreshTokens.get(token);
    if (!stored) throw new Refused("unknown");
    const { record } = stored;
    const familyEnd = Date.parse(record.familyExpiresAt);
    if (record.state === "used") {
      await repos.refreshTokens.revokeFamily(record.familyId, familyEnd);
      throw new Refused("reuse");
    }
    if (!(familyEnd > clock.now())) throw new Refused("family_expired");
    const amr = record.amr[0];
    if (record.amr.length !== 1 || (amr !== "pwd" && amr !== "oob")) throw new Refused("amr");

    const user = await repos.users.getById(record.userId);
    if (!user) throw new Refused("user_not_found");
    if (user.status !== "ACTIVE") throw new Refused("user_inactive");
    if (user.tokenVersion !== record.ver) throw new Refused("revoked");
    // A user taken over by its tenant's IdP signs in there now (docs/spec/saml.md §8).
    if (user.authSource !== "password") throw new Refused("federated");

    // ★ The commit point: exactly one concurrent use gets past this line.
    if (!(await repos.refreshTokens.markUsed(token, stored))) {
      await repos.refreshTokens.revokeFamily(record.familyId, familyEnd);
      throw new Refused("reuse");
    }
    // Read after the commit point: a family ended before this use committed stays ended.
    if (await repos.refreshTokens.isFamilyRevoked(record.familyId)) throw new Refused("family_revoked");
    const successor = await issue({
      userId: user.localId,
      familyId: record.familyId,
      ...(record.tid ? { tid: record.tid } : {}),
      amr: record.amr,
      ver: user.tokenVersion,
      familyExpiresAt: record.familyExpiresAt,
    });
    return { user, record, successor };
  }

  async function refresh(
    input: { grantType: string; refreshToken: string },
    ctx: RefreshRequestContext,
  ): Promise<RefreshResult> {
    if (input.grantType !== REFRESH_GRANT) {
      throw new TiktiError("INVALID_ARGUMENT", { details: { grantType: `must be ${REFRESH_GRANT}` } });
    }
    await deps.rateLimiter.check("refreshIp", ctx.clientIp);
    const log = ctx.log ?? deps.logger;
    let rotated: Awaited<ReturnType<typeof rotate>>;
    try {
      rotated = await rotate(input.refreshToken);
    } catch (e) {
      if (!(e instanceof Refused)) throw e;
      const fields = { result: "failure", code: "INVALID_REFRESH_TOKEN", reason: e.reason };
      const reuse = e.reason === "reuse";
      deps.metrics.refreshTokens.inc({ result: reuse ? "reuse" : "refused" });
      if (reuse) log.warn("refresh token reused; family revoked", fields);
      else log.info("refresh token refused", fields);
      throw new TiktiError("INVALID_REFRESH_TOKEN", { cause: e });
    }
    const { user, record, successor } = rotated;
    const signed = await deps.idTokens.sign({
      sub: user.localId,
      email: user.email,
      role: user.role,
      ...(record.tid ? { tid: record.tid } : {}),
      amr: record.amr[0] as RefreshSession["amr"],
      ver: user.tokenVersion,
    });
    deps.metrics.refreshTokens.inc({ result: "success" });
    log.info("refresh token rotated", { userId: user.localId, familyId: record.familyId, result: "success" });
    return {
      idToken: signed.token,
      refreshToken: successor,
      expiresIn: config.idTokenTtlSeconds,
      localId: user.localId,
    };
  }

  async function signOut(refreshToken: string, ctx: RefreshRequestContext): Promise<void> {
    await deps.rateLimiter.check("refreshIp", ctx.clientIp);
    if (!REFRESH_TOKEN.test(refreshToken)) return;
    const stored = await repos.refreshTokens.get(refreshToken);
    if (!stored) return;
    const { familyId, familyExpiresAt } = stored.record;
    await repos.refreshTokens.revokeFamily(familyId, Date.parse(familyExpiresAt));
    (ctx.log ?? deps.logger).info("refresh family ended", { userId: stored.record.userId, familyId });
  }

  return { startFamily, refresh, signOut };
}
