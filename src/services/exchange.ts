/**
 * Token exchange (spec/tokens.md §7): an idToken becomes an RS256 access token for one audience
 * (client) in one tenant. The steps run in the order of §7 and the first failure decides the
 * answer; each step below carries its number.
 *
 * The store reads that only depend on the chosen tenant (tenant, membership, client, roles) are
 * issued together as soon as the tenant is fixed and awaited in step order, so a failure of an
 * earlier step still wins over a failure (even a store error) of a later one.
 */
import type { AccessTokenClaims } from "../crypto/access-token.ts";
import { TokenCheckFailed } from "../crypto/jws.ts";
import type { AppDeps } from "../deps.ts";
import { isPathTenantId } from "../domain/grammar.ts";
import type { Membership, User } from "../domain/types.ts";
import { type ErrorCode, isTiktiError, TiktiError } from "../errors.ts";
import { hashForLog, type LogFields, type Logger } from "../logger.ts";
import type { Services } from "./index.ts";

/** The permission that allows a `subject` override (tokens.md §7 step 13). */
export const DELEGATE_PERMISSION = "tikti:tokens:delegate";
/** The canonical route, for `tikti_auth_fail_total{route}`. */
export const EXCHANGE_ROUTE = "/accounts/token/exchange";

/** The body of api.md §5.1 after parsing (types checked, grammars checked, `null` = absent). */
export interface ExchangeRequest {
  idToken: string;
  audience: string;
  tenantId?: string | undefined;
  scopes?: readonly string[] | undefined;
  eventTypes?: readonly string[] | undefined;
  /** An integer (step 1 refuses anything else). */
  ttlSeconds?: number | undefined;
  subject?: string | undefined;
}

export interface ExchangeResult {
  accessToken: string;
  /** The granted TTL (`exp - iat`). */
  expiresIn: number;
  claims: AccessTokenClaims;
}

export interface TokenExchange {
  /**
   * Runs tokens.md §7. Counts `tikti_token_exchange_total{result,code}` (and
   * `tikti_auth_fail_total` for steps 1–2) and writes one decision line to `log`.
   */
  exchange(request: ExchangeRequest, log: Logger): Promise<ExchangeResult>;
}

export type ExchangeDeps = Pick<AppDeps, "config" | "accessTokens" | "clock" | "metrics">;
export type ExchangeServices = Pick<Services, "repos" | "rateLimiter" | "verifyIdToken">;

/** What the decision log records (operations.md §7); filled in as the steps learn it. */
interface Decision {
  userId?: string;
  tenantId?: string;
  audience: string;
  scopes: string[];
  eventTypes?: string[];
  ttlSeconds?: number;
  /** `sha256:` hash of the `subject` override; the subject may be an email. */
  subject?: string;
}

/** Order-preserving de-duplication. */
function dedupe(values: readonly string[]): string[] {
  return [...new Set(values)];
}

/** Step 12 / api.md §5.1: entries trimmed, blanks dropped, duplicates removed (order kept). */
export function normaliseEventTypes(values: readonly string[]): string[] {
  return dedupe(values.map((v) => v.trim()).filter((v) => v !== ""));
}

/**
 * Marks a promise started ahead of its step as handled: if an earlier step fails first, its
 * rejection must not surface as an unhandled rejection. Awaiting it later still throws.
 */
function early<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

function invalidToken(reason: string): TiktiError {
  return new TiktiError("INVALID_TOKEN", { cause: new Error(`id token rejected: ${reason}`) });
}

/** The failing check of an INVALID_TOKEN, for the log (never the token itself). */
function tokenFailureReason(err: TiktiError): string | undefined {
  const cause = err.cause;
  if (cause instanceof TokenCheckFailed) return cause.reason;
  if (cause instanceof Error) return cause.message;
  return undefined;
}

export function createTokenExchange(deps: ExchangeDeps, services: ExchangeServices): TokenExchange {
  const { config, metrics } = deps;
  const { repos } = services;
  const implicit = config.authorization.implicitRolePermissions;
  const eventTypesRequired = new Set(config.authorization.eventTypesRequiredAudiences);

  /** `authorization.implicitRolePermissions[name]`; own keys only (`constructor` is no role). */
  function implicitPermissions(name: string): readonly string[] {
    return Object.hasOwn(implicit, name) ? (implicit[name] ?? []) : [];
  }

  /**
   * Permission set P for a caller without the all-permissions rule: the membership's roles plus,
   * for a non-SAML token, the global role name; stored role permissions (missing and corrupt roles
   * grant nothing) united with the implicit ones. Role reads run concurrently; the global role's
   * read does not wait for the membership.
   */
  async function permissionSet(
    tenantId: string,
    user: User,
    saml: boolean,
    membership: Promise<Membership | null>,
  ): Promise<Set<string>> {
    const globalNames = saml || user.role === "" ? [] : [user.role];
    const globalReads = early(Promise.all(globalNames.map((n) => repos.roles.permissionsOf(tenantId, [n]))));
    const memberRoles = (await membership)?.roles ?? [];
    const memberReads = dedupe(memberRoles)
      .filter((n) => !globalNames.includes(n))
      .map((n) => repos.roles.permissionsOf(tenantId, [n]));
    const stored = [...(await globalReads), ...(await Promise.all(memberReads))];
    const permitted = new Set<string>(stored.flat());
    for (const name of dedupe([...memberRoles, ...globalNames])) {
      for (const p of implicitPermissions(name)) permitted.add(p);
    }
    return permitted;
  }

  /** Step 4: body `tenantId`, else the token's `tid`, else the user's only membership. */
  async function chooseTenant(
    requested: string | undefined,
    tid: string | undefined,
    userId: string,
  ): Promise<{ tenantId: string; membership?: Membership }> {
    if (requested) return { tenantId: requested };
    if (tid) return { tenantId: tid };
    // The user was read by procedure V just before (step 2).
    const memberships = await repos.memberships.tenantsOfUser(userId, { userKnownToExist: true });
    const only = memberships.length === 1 ? memberships[0] : undefined;
    if (!only) throw new TiktiError("TENANT_REQUIRED");
    return { tenantId: only.tenantId, membership: only };
  }

  /** Step 14 (tokens.md §3): request, else default; ≤ 0 → default; capped by config and client. */
  function grantedTtl(requested: number | undefined, clientMax: number | undefined): number {
    let ttl = requested !== undefined && requested > 0 ? requested : config.accessTokenTtlSeconds;
    ttl = Math.min(ttl, config.maxAccessTokenTtlSeconds);
    // A stored 0 (or absent) sets no client cap.
    if (clientMax !== undefined && clientMax > 0) ttl = Math.min(ttl, clientMax);
    return ttl;
  }

  async function run(req: ExchangeRequest, d: Decision): Promise<ExchangeResult> {
    // 1 (types and grammars were checked by the route schema)
    if (req.idToken === "") throw invalidToken("empty idToken");
    if (req.audience === "") throw new TiktiError("INVALID_AUDIENCE", { details: { reason: "missing" } });

    // 2: procedure V; a vanished user is 404 (api.md §2.11.3), a DISABLED `tid` tenant 401 (§2.11.4)
    const { claims, user, saml } = await services.verifyIdToken(req.idToken, {
      missingUserIs404: true,
      checkTenant: true,
    });
    const userId = user.localId;
    d.userId = userId;

    // 3
    await services.rateLimiter.check("exchangeUser", userId);

    // 4
    const chosen = await chooseTenant(req.tenantId, claims.tid, userId);
    const tenantId = chosen.tenantId;
    d.tenantId = tenantId;

    // 5 (grammar first: no store read with a malformed id)
    if (!isPathTenantId(tenantId)) throw new TiktiError("INVALID_TENANT");
    const allPermitted = !saml && (user.role === "ADMIN" || user.role === "COMPANY_ADMIN");
    const tenantRead = early(repos.tenants.get(tenantId));
    const membershipRead = early(
      chosen.membership ? Promise.resolve(chosen.membership) : repos.memberships.get(tenantId, userId),
    );
    const clientRead = early(repos.clients.get(tenantId, req.audience));
    const permissionsRead = allPermitted ? null : early(permissionSet(tenantId, user, saml, membershipRead));

    const tenant = await tenantRead;
    if (tenant?.status !== "ACTIVE") throw new TiktiError("INVALID_TENANT");

    // 6: a tenant's IdP vouches for its own tenant only
    if (saml && tenantId !== claims.tid) throw new TiktiError("TENANT_ACCESS_DENIED");

    // 7: platform ADMINs (not via SAML) may enter tenants they do not belong to
    const membership = await membershipRead;
    if (!membership && (saml || user.role !== "ADMIN")) throw new TiktiError("TENANT_ACCESS_DENIED");

    // 8
    const client = await clientRead;
    if (!client) throw new TiktiError("INVALID_AUDIENCE", { details: { reason: "client_not_found" } });
    if (client.status !== "ACTIVE") {
      throw new TiktiError("INVALID_AUDIENCE", { details: { reason: "client_inactive" } });
    }
    if (client.allowedGrantTypes.length > 0 && !client.allowedGrantTypes.includes("token_exchange")) {
      throw new TiktiError("INVALID_AUDIENCE", { details: { reason: "grant_not_allowed" } });
    }

    // 9
    const requested = dedupe(req.scopes ?? []);
    const scopes = requested.length > 0 ? requested : dedupe(client.defaultScopes);

    // 10: an empty defaultScopes sets no ceiling (Go meaning)
    const ceiling = new Set(client.defaultScopes);
    if (ceiling.size > 0 && !scopes.every((s) => ceiling.has(s))) {
      throw new TiktiError("UNAUTHORIZED_SCOPES", { cause: new Error("scope above the client ceiling") });
    }

    // 11
    const permitted = permissionsRead === null ? null : await permissionsRead;
    const allows = (p: string) => permitted === null || permitted.has(p);
    if (!scopes.every(allows)) {
      throw new TiktiError("UNAUTHORIZED_SCOPES", { cause: new Error("scope outside the role permissions") });
    }

    // 12
    const eventTypes = normaliseEventTypes(req.eventTypes ?? []);
    if (eventTypes.length === 0 && eventTypesRequired.has(req.audience)) {
      throw new TiktiError("INVALID_ARGUMENT", { details: { eventTypes: "required for this audience" } });
    }
    const allowedEventTypes = client.allowedEventTypes;
    if (allowedEventTypes && !eventTypes.every((e) => allowedEventTypes.includes(e))) {
      throw new TiktiError("UNAUTHORIZED_EVENT_TYPES");
    }

    // 13: `subject` equal to the caller's own id is no override (api.md §2.11.5)
    const subject = req.subject;
    const override = subject !== undefined && subject !== "" && subject !== userId;
    if (override) {
      d.subject = await hashForLog(subject);
      if (!allows(DELEGATE_PERMISSION)) throw new TiktiError("DELEGATION_DENIED");
    }

    // 14
    const ttl = grantedTtl(req.ttlSeconds, client.maxTtlSeconds);

    // 15
    const iat = Math.floor(deps.clock.now() / 1000);
    const accessClaims: AccessTokenClaims = {
      iss: config.issuerBaseUrl,
      aud: req.audience,
      sub: override ? subject : userId,
      ...(override ? { act: { sub: userId } } : {}),
      email: user.email,
      tid: tenantId,
      ...(scopes.length > 0 ? { scope: scopes.join(" ") } : {}),
      ...(eventTypes.length > 0 ? { eventTypes } : {}),
      ver: user.tokenVersion,
      iat,
      exp: iat + ttl,
      jti: crypto.randomUUID(),
    };
    const accessToken = await deps.accessTokens.sign(accessClaims);
    d.scopes = scopes;
    d.eventTypes = eventTypes;
    d.ttlSeconds = ttl;
    return { accessToken, expiresIn: ttl, claims: accessClaims };
  }

  return {
    async exchange(request, log) {
      const decision: Decision = { audience: request.audience, scopes: [] };
      try {
        const result = await run(request, decision);
        metrics.tokenExchange.inc({ result: "success", code: "OK" });
        log.info("token exchange", { ...decision, result: "success", code: "OK" });
        return result;
      } catch (err) {
        const e = isTiktiError(err) ? err : null;
        const code: ErrorCode = e?.code ?? "INTERNAL";
        metrics.tokenExchange.inc({ result: "failure", code });
        const fields: LogFields = { ...decision, result: "failure", code };
        if (e?.details?.reason) fields.reason = e.details.reason;
        if (e && (code === "INVALID_TOKEN" || code === "USER_NOT_FOUND")) {
          metrics.authFail.inc({ route: EXCHANGE_ROUTE, code });
          fields.reason = tokenFailureReason(e) ?? "user not found";
          fields.expectedIss = config.issuerBaseUrl;
          fields.expectedAud = config.defaultAudience;
        } else if (e?.cause instanceof Error && code !== "STORE_UNAVAILABLE" && code !== "INTERNAL") {
          fields.reason = e.cause.message;
        }
        log.info("token exchange", fields);
        throw err;
      }
    },
  };
}
