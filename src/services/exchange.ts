/**
 * Token exchange (docs/spec/tokens.md §7): an idToken becomes an RS256 access token for one audience
 * (client) in one tenant. The steps run in the order of §7 and the first failure decides the
 * answer; each step below carries its number.
 *
 * The store reads that only depend on the chosen tenant (tenant, membership, client, roles) are
 * issued as early as what they depend on is known and awaited in step order, so a failure of an
 * earlier step still wins over a failure (even a store error) of a later one. When the body or the
 * token names the tenant, an exchange costs two store round trips on Redis: procedure V's user and
 * tenant reads with the tenant, membership and client of *T*; then the rate-limit increment with
 * the role reads of *P* (docs/adr/0110-exchange-reads-ahead.md).
 *
 * The rules of the individual steps live in `createExchangeRules` so that other grants (the
 * RFC 8693 token exchange of docs/spec/oauth.md §4.2) apply the very same checks instead of a copy.
 */
import type { AccessTokenClaims } from "../crypto/access-token.ts";
import type { VerifiedIdTokenClaims } from "../crypto/id-token.ts";
import { TokenCheckFailed } from "../crypto/jws.ts";
import type { AppDeps } from "../deps.ts";
import { isPathTenantId } from "../domain/grammar.ts";
import type { Client, Membership, Tenant, User } from "../domain/types.ts";
import { type ErrorCode, isTiktiError, TiktiError } from "../errors.ts";
import { hashForLog, type LogFields, type Logger } from "../logger.ts";
import type { Repos } from "../store/repos/index.ts";
import type { RateLimiter } from "./rate-limit.ts";
import type { IdTokenVerifier } from "./verify-id-token.ts";

/** The permission that allows a `subject` override (docs/spec/tokens.md §7 step 13). */
export const DELEGATE_PERMISSION = "tikti:tokens:delegate";

/** The body of docs/spec/api.md §5.1 after parsing (types checked, grammars checked, `null` = absent). */
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
   * Runs docs/spec/tokens.md §7. Counts `tikti_token_exchange_total{result,code}` and writes one
   * decision line to `log` (`tikti_auth_fail_total` is the observation middleware's, from the answer).
   */
  exchange(request: ExchangeRequest, log: Logger): Promise<ExchangeResult>;
}

export type ExchangeDeps = Pick<AppDeps, "config" | "accessTokens" | "clock" | "metrics">;
/** Built once by `createServices`; `rules` are shared with the RFC 8693 grant of `/oauth/token`. */
export interface ExchangeServices {
  repos: Repos;
  rateLimiter: RateLimiter;
  verifyIdToken: IdTokenVerifier;
  rules: ExchangeRules;
}

/** What the decision log records (docs/spec/operations.md §7); filled in as the steps learn it. */
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

/** Step 12 / docs/spec/api.md §5.1: entries trimmed, blanks dropped, duplicates removed (order kept). */
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

/** A promise's outcome as a value (for a read whose failure must answer at a later step). */
async function outcome<T>(promise: Promise<T>): Promise<{ ok: true; value: T } | { ok: false }> {
  try {
    return { ok: true, value: await promise };
  } catch {
    return { ok: false };
  }
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

/**
 * What a caller may do in tenant *T* (docs/spec/tokens.md §7, permission set *P*): either every permission
 * (the first bullet of *P*), or the union of its role permissions there.
 */
export interface PermissionSet {
  readonly all: boolean;
  allows(permission: string): boolean;
}

const ALL_PERMISSIONS: PermissionSet = { all: true, allows: () => true };

function grantedPermissions(granted: ReadonlySet<string>): PermissionSet {
  return { all: false, allows: (p) => granted.has(p) };
}

/** Who the access token is about (claims `sub`, `act`, `email` of docs/spec/tokens.md §3). */
export interface TokenSubject {
  sub: string;
  /** Present when `subject` overrode the caller: the caller's id. */
  act?: { sub: string };
  /** The subject's stored email; absent for a workload subject (no user of that id). */
  email?: string;
}

/**
 * The rules of docs/spec/tokens.md §7, one function per step (or group of steps), shared by every grant
 * that issues an access token for a user in a tenant. Each throws the step's `TiktiError`; callers
 * that answer in another dialect (RFC 6749 errors) translate the codes.
 */
export interface ExchangeRules {
  /** Step 4: body `tenantId`, else the token's `tid`, else the user's only membership. */
  chooseTenant(
    requested: string | undefined,
    tid: string | undefined,
    userId: string,
  ): Promise<{ tenantId: string; membership?: Membership }>;
  /** Step 5, first half: the tenant id grammar (before any store read with it). */
  checkTenantId(tenantId: string): void;
  /** Step 5, second half: the tenant exists and is `ACTIVE`. */
  requireActiveTenant(tenant: Tenant | null): Tenant;
  /** Step 7: a membership, or the non-SAML global `ADMIN` exemption. */
  requireMembership(membership: Membership | null, user: User, saml: boolean): void;
  /**
   * The first bullet of *P*: a non-SAML global `ADMIN` anywhere, a non-SAML `COMPANY_ADMIN` only
   * in its home tenant (`companyId`).
   */
  hasAllPermissions(user: User, tenantId: string, saml: boolean): boolean;
  /**
   * *P* for `user` in `tenantId`. Pass the membership read (it may still be pending: the role
   * reads of the global role start without waiting for it), or the membership itself when it is
   * known: every role read is then issued within this call.
   */
  permissionSet(
    tenantId: string,
    user: User,
    saml: boolean,
    membership: Membership | null | Promise<Membership | null>,
  ): Promise<PermissionSet>;
  /** Step 8 for `grant` (`token_exchange` here): exists, `ACTIVE`, grant allowed. */
  requireClient(client: Client | null, grant?: string): Client;
  /** Steps 9–10: requested scopes (deduplicated) or the client's defaults, within its ceiling. */
  scopesWithinClient(requested: readonly string[] | undefined, client: Client): string[];
  /** Step 11: every scope is in *P*. */
  requirePermitted(scopes: readonly string[], permissions: PermissionSet): void;
  /** Step 12: normalised event types, required for some audiences, within the client's list. */
  eventTypesFor(requested: readonly string[] | undefined, audience: string, client: Client): string[];
  /**
   * Step 13: who the token is about. `subject` absent, `""` or the caller's own id → the caller.
   * Otherwise the caller needs `tikti:tokens:delegate`; a subject that is an existing user's id
   * must be an `ACTIVE` member of the tenant, and the token then carries that user's email; a
   * workload name carries none.
   */
  resolveSubject(
    subject: string | undefined,
    caller: User,
    tenantId: string,
    permissions: PermissionSet,
  ): Promise<TokenSubject>;
  /** Step 14 (docs/spec/tokens.md §3): request, else default; ≤ 0 → default; capped by config and client. */
  grantedTtl(requested: number | undefined, clientMax: number | undefined): number;
}

export function createExchangeRules(
  deps: Pick<AppDeps, "config">,
  services: { repos: Repos },
): ExchangeRules {
  const { config } = deps;
  const { repos } = services;
  const implicit = config.authorization.implicitRolePermissions;
  const eventTypesRequired = new Set(config.authorization.eventTypesRequiredAudiences);

  /** `authorization.implicitRolePermissions[name]`; own keys only (`constructor` is no role). */
  function implicitPermissions(name: string): readonly string[] {
    return Object.hasOwn(implicit, name) ? (implicit[name] ?? []) : [];
  }

  function hasAllPermissions(user: User, tenantId: string, saml: boolean): boolean {
    if (saml) return false;
    if (user.role === "ADMIN") return true;
    // A COMPANY_ADMIN administers its own company only: a tenant that adds another company's
    // admin as a member decides that person's power through the membership roles.
    return user.role === "COMPANY_ADMIN" && user.companyId !== undefined && user.companyId === tenantId;
  }

  /**
   * The membership's roles plus, for a non-SAML token, the global role name; stored role
   * permissions (missing and corrupt roles grant nothing) united with the implicit ones. Role
   * reads run concurrently; the global role's read does not wait for the membership.
   */
  async function permissionSet(
    tenantId: string,
    user: User,
    saml: boolean,
    membership: Membership | null | Promise<Membership | null>,
  ): Promise<PermissionSet> {
    if (hasAllPermissions(user, tenantId, saml)) return ALL_PERMISSIONS;
    const globalNames = saml || user.role === "" ? [] : [user.role];
    const globalReads = early(Promise.all(globalNames.map((n) => repos.roles.permissionsOf(tenantId, [n]))));
    const memberRoles = (membership instanceof Promise ? await membership : membership)?.roles ?? [];
    const memberReads = dedupe(memberRoles)
      .filter((n) => !globalNames.includes(n))
      .map((n) => repos.roles.permissionsOf(tenantId, [n]));
    const stored = [...(await globalReads), ...(await Promise.all(memberReads))];
    const permitted = new Set<string>(stored.flat());
    for (const name of dedupe([...memberRoles, ...globalNames])) {
      for (const p of implicitPermissions(name)) permitted.add(p);
    }
    return grantedPermissions(permitted);
  }

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

  function checkTenantId(tenantId: string): void {
    if (!isPathTenantId(tenantId)) throw new TiktiError("INVALID_TENANT");
  }

  function requireActiveTenant(tenant: Tenant | null): Tenant {
    if (tenant?.status !== "ACTIVE") throw new TiktiError("INVALID_TENANT");
    return tenant;
  }

  function requireMembership(membership: Membership | null, user: User, saml: boolean): void {
    // Platform ADMINs (not via SAML) may enter tenants they do not belong to.
    if (!membership && (saml || user.role !== "ADMIN")) throw new TiktiError("TENANT_ACCESS_DENIED");
  }

  function requireClient(client: Client | null, grant = "token_exchange"): Client {
    if (!client) throw new TiktiError("INVALID_AUDIENCE", { details: { reason: "client_not_found" } });
    if (client.status !== "ACTIVE") {
      throw new TiktiError("INVALID_AUDIENCE", { details: { reason: "client_inactive" } });
    }
    // An empty list (Go-era clients) allows the exchange.
    if (client.allowedGrantTypes.length > 0 && !client.allowedGrantTypes.includes(grant)) {
      throw new TiktiError("INVALID_AUDIENCE", { details: { reason: "grant_not_allowed" } });
    }
    return client;
  }

  function scopesWithinClient(requested: readonly string[] | undefined, client: Client): string[] {
    // 9
    const asked = dedupe(requested ?? []);
    const scopes = asked.length > 0 ? asked : dedupe(client.defaultScopes);
    // 10: an empty defaultScopes sets no ceiling (Go meaning)
    const ceiling = new Set(client.defaultScopes);
    if (ceiling.size > 0 && !scopes.every((s) => ceiling.has(s))) {
      throw new TiktiError("UNAUTHORIZED_SCOPES", { cause: new Error("scope above the client ceiling") });
    }
    return scopes;
  }

  function requirePermitted(scopes: readonly string[], permissions: PermissionSet): void {
    if (!scopes.every((s) => permissions.allows(s))) {
      throw new TiktiError("UNAUTHORIZED_SCOPES", { cause: new Error("scope outside the role permissions") });
    }
  }

  function eventTypesFor(
    requested: readonly string[] | undefined,
    audience: string,
    client: Client,
  ): string[] {
    const eventTypes = normaliseEventTypes(requested ?? []);
    if (eventTypes.length === 0 && eventTypesRequired.has(audience)) {
      throw new TiktiError("INVALID_ARGUMENT", { details: { eventTypes: "required for this audience" } });
    }
    const allowed = client.allowedEventTypes;
    if (allowed && !eventTypes.every((e) => allowed.includes(e))) {
      throw new TiktiError("UNAUTHORIZED_EVENT_TYPES");
    }
    return eventTypes;
  }

  async function resolveSubject(
    subject: string | undefined,
    caller: User,
    tenantId: string,
    permissions: PermissionSet,
  ): Promise<TokenSubject> {
    // `subject` equal to the caller's own id is no override (docs/spec/api.md §2.11.5).
    if (subject === undefined || subject === "" || subject === caller.localId) {
      return { sub: caller.localId, email: caller.email };
    }
    if (!permissions.allows(DELEGATE_PERMISSION)) {
      throw new TiktiError("DELEGATION_DENIED", { cause: new Error("caller lacks the delegate permission") });
    }
    const [target, membership] = await Promise.all([
      repos.users.getById(subject),
      repos.memberships.get(tenantId, subject),
    ]);
    if (!target) return { sub: subject, act: { sub: caller.localId } };
    // A user subject must belong to the tenant: delegation never reaches into another tenant's
    // users. An inactive user is refused too (docs/api-decisions.md): a token must not speak for
    // an account that cannot sign in.
    if (!membership) {
      throw new TiktiError("DELEGATION_DENIED", {
        cause: new Error("subject user is not a member of the tenant"),
      });
    }
    if (target.status !== "ACTIVE") {
      throw new TiktiError("DELEGATION_DENIED", { cause: new Error("subject user is not active") });
    }
    return { sub: target.localId, act: { sub: caller.localId }, email: target.email };
  }

  function grantedTtl(requested: number | undefined, clientMax: number | undefined): number {
    let ttl = requested !== undefined && requested > 0 ? requested : config.accessTokenTtlSeconds;
    ttl = Math.min(ttl, config.maxAccessTokenTtlSeconds);
    // A stored 0 (or absent) sets no client cap.
    if (clientMax !== undefined && clientMax > 0) ttl = Math.min(ttl, clientMax);
    return ttl;
  }

  return {
    chooseTenant,
    checkTenantId,
    requireActiveTenant,
    requireMembership,
    hasAllPermissions,
    permissionSet,
    requireClient,
    scopesWithinClient,
    requirePermitted,
    eventTypesFor,
    resolveSubject,
    grantedTtl,
  };
}

/** The reads of steps 5, 7 and 8 issued with procedure V's user read (see step 2 in `run`). */
interface AheadReads {
  tenantId: string;
  /** Absent when *T* is the token's `tid`: procedure V reads that tenant itself. */
  tenant?: Promise<Tenant | null>;
  membership: Promise<Membership | null>;
  client: Promise<Client | null>;
}

export function createTokenExchange(deps: ExchangeDeps, services: ExchangeServices): TokenExchange {
  const { config, metrics } = deps;
  const { repos } = services;
  const { rules } = services;

  /** Step 4's first two choices of *T*, read ahead when its id parses; otherwise nothing. */
  function readAhead(req: ExchangeRequest, claims: VerifiedIdTokenClaims): AheadReads | undefined {
    const tenantId = req.tenantId || claims.tid;
    if (!tenantId || !isPathTenantId(tenantId)) return undefined;
    return {
      tenantId,
      ...(tenantId === claims.tid ? {} : { tenant: early(repos.tenants.get(tenantId)) }),
      membership: early(repos.memberships.get(tenantId, claims.sub)),
      client: early(repos.clients.get(tenantId, req.audience)),
    };
  }

  async function run(req: ExchangeRequest, d: Decision): Promise<ExchangeResult> {
    // 1 (types and grammars were checked by the route schema)
    if (req.idToken === "") throw invalidToken("empty idToken");
    if (req.audience === "") throw new TiktiError("INVALID_AUDIENCE", { details: { reason: "missing" } });

    // 2: procedure V; a vanished user is 404 (docs/spec/api.md §2.11.3), a DISABLED `tid` tenant 401 (§2.11.4).
    // When the body or the token names the tenant (step 4's first two choices) and its id parses
    // (step 5's grammar: no store read with a malformed id), the reads of steps 5, 7 and 8 depend
    // only on the verified claims and the request: they go out with V's user read, in one round
    // trip. Each is awaited at its own step, so the order of failures (store errors included)
    // stays that of §7; a read that a failure leaves unused is swallowed by `early`.
    let ahead: AheadReads | undefined;
    const {
      claims,
      user,
      saml,
      tenant: tokenTenant,
    } = await services.verifyIdToken(req.idToken, {
      missingUserIs404: true,
      checkTenant: true,
      alongside: (verified) => {
        ahead = readAhead(req, verified);
      },
    });
    const userId = user.localId;
    d.userId = userId;
    // V finds the user by `sub` (or by email only when its id equals `sub`): the membership read
    // ahead is this user's. Checked anyway, so a change there cannot mix up users.
    const pre = ahead && userId === claims.sub ? ahead : undefined;

    // 3. The reads of P (the role records) are issued right after the rate-limit increment, in
    // the same tick, so that they travel with it: the second and last round trip. They need the
    // membership's roles, which came with the first round trip; its outcome is kept as it is, so a
    // failed membership read still answers at step 7, after the rate limit.
    const membershipAhead = pre ? await outcome(pre.membership) : undefined;
    const limited = services.rateLimiter.check("exchangeUser", userId);
    const permissionsAhead =
      pre && membershipAhead?.ok
        ? early(rules.permissionSet(pre.tenantId, user, saml, membershipAhead.value))
        : undefined;
    await limited;

    // 4
    const chosen = pre
      ? { tenantId: pre.tenantId }
      : await rules.chooseTenant(req.tenantId, claims.tid, userId);
    const tenantId = chosen.tenantId;
    d.tenantId = tenantId;

    // 5 (grammar first: no store read with a malformed id)
    rules.checkTenantId(tenantId);
    // The token's tenant was read by procedure V already: not read twice.
    const tenantRead = early(
      tokenTenant !== undefined && tenantId === claims.tid
        ? Promise.resolve(tokenTenant)
        : (pre?.tenant ?? repos.tenants.get(tenantId)),
    );
    const membershipRead = early(
      chosen.membership
        ? Promise.resolve(chosen.membership)
        : (pre?.membership ?? repos.memberships.get(tenantId, userId)),
    );
    const clientRead = early(pre?.client ?? repos.clients.get(tenantId, req.audience));
    const permissionsRead =
      permissionsAhead ?? early(rules.permissionSet(tenantId, user, saml, membershipRead));
    rules.requireActiveTenant(await tenantRead);

    // 6: a tenant's IdP vouches for its own tenant only
    if (saml && tenantId !== claims.tid) throw new TiktiError("TENANT_ACCESS_DENIED");

    // 7
    rules.requireMembership(await membershipRead, user, saml);

    // 8
    const client = rules.requireClient(await clientRead);

    // 9–10
    const scopes = rules.scopesWithinClient(req.scopes, client);

    // 11
    const permissions = await permissionsRead;
    rules.requirePermitted(scopes, permissions);

    // 12
    const eventTypes = rules.eventTypesFor(req.eventTypes, req.audience, client);

    // 13
    if (req.subject !== undefined && req.subject !== "" && req.subject !== userId) {
      d.subject = await hashForLog(req.subject);
    }
    const subject = await rules.resolveSubject(req.subject, user, tenantId, permissions);

    // 14
    const ttl = rules.grantedTtl(req.ttlSeconds, client.maxTtlSeconds);

    // 15
    const iat = Math.floor(deps.clock.now() / 1000);
    const accessClaims: AccessTokenClaims = {
      iss: config.issuerBaseUrl,
      aud: req.audience,
      sub: subject.sub,
      ...(subject.act ? { act: subject.act } : {}),
      ...(subject.email !== undefined ? { email: subject.email } : {}),
      tid: tenantId,
      scope: scopes.join(" "),
      eventTypes,
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
