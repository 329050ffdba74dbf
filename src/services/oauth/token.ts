/**
 * `POST /oauth/token` (docs/spec/oauth.md §4): `client_credentials` (§4.1) and RFC 8693 token exchange
 * (§4.2), each in the order of its step table; the first failure decides the answer. The rules
 * the grant shares with the legacy exchange — permission set *P*, audience checks, scopes, event
 * types, TTL — come from `createExchangeRules` (src/services/exchange.ts), never a second copy.
 *
 * Every request — whatever its outcome, client authentication included — writes one decision log
 * line, one audit record and one `tikti_oauth_token_requests_total{grant,result}` increment.
 */
import type { AccessTokenClaims, ActorClaim, VerifiedAccessTokenClaims } from "../../crypto/access-token.ts";
import { verifyAccessTokenCrypto } from "../../crypto/access-token.ts";
import type { AppDeps } from "../../deps.ts";
import { EVENT_TYPE_PATTERN, isClientId, isScope } from "../../domain/grammar.ts";
import type { Client, User } from "../../domain/types.ts";
import { isTiktiError, type TiktiError } from "../../errors.ts";
import type { LogFields, Logger } from "../../logger.ts";
import type { Repos } from "../../store/repos/index.ts";
import { actorChain, createAccessTokenStateChecker } from "../access-token-state.ts";
import type { Audit } from "../audit.ts";
import { DELEGATE_PERMISSION, type ExchangeRules, type PermissionSet } from "../exchange.ts";
import type { RateLimiter } from "../rate-limit.ts";
import type { IdTokenVerifier } from "../verify-id-token.ts";
import type { AuthenticatedClient, ClientAuthenticator, OAuthRequestInput } from "./client-auth.ts";
import { isOAuthError, OAuthError, type OAuthErrorCode } from "./errors.ts";

export const GRANT_CLIENT_CREDENTIALS = "client_credentials";
export const GRANT_TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";
export const TOKEN_TYPE_ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token";
export const TOKEN_TYPE_ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token";
export const TOKEN_TYPE_JWT = "urn:ietf:params:oauth:token-type:jwt";

/** The RFC 6749 §5.1 / RFC 8693 §2.2.1 success body. */
export interface TokenResponse {
  access_token: string;
  token_type: "Bearer";
  expires_in: number;
  scope?: string;
  issued_token_type?: string;
}

export interface OAuthTokenService {
  /** The whole of `/oauth/token` after routing; throws `OAuthError` (or a store `TiktiError`). */
  token(
    input: Omit<OAuthRequestInput, "endpoint" | "required">,
    requestId: string,
    log: Logger,
  ): Promise<TokenResponse>;
}

export type TokenDeps = Pick<AppDeps, "config" | "keys" | "accessTokens" | "clock" | "metrics">;
export type TokenServices = {
  repos: Repos;
  rateLimiter: RateLimiter;
  verifyIdToken: IdTokenVerifier;
  audit: Audit;
  clientAuth: ClientAuthenticator;
  rules: ExchangeRules;
};

/** What the decision log and the audit record hold (docs/spec/operations.md §7; no tokens, no emails). */
interface Decision {
  grant: string;
  client?: string;
  tenantId?: string;
  authMethod?: string;
  subject?: string;
  actor?: string;
  audience?: string;
  scopes?: string[];
  eventTypes?: string[];
  ttlSeconds?: number;
}

/** The metric label of a grant (bounded: anything unknown is `other`). */
function grantLabel(grant: string | undefined): string {
  if (grant === GRANT_CLIENT_CREDENTIALS) return "client_credentials";
  if (grant === GRANT_TOKEN_EXCHANGE) return "token_exchange";
  return "other";
}

const err = (code: OAuthErrorCode, description: string, reason?: string) =>
  new OAuthError(code, description, reason === undefined ? {} : { reason });

/** Space-delimited list (RFC 6749 §3.3): runs of spaces separate, duplicates dropped, order kept. */
function splitList(value: string | undefined): string[] {
  if (value === undefined) return [];
  return [...new Set(value.split(" ").filter((v) => v !== ""))];
}

/** A rule failure of the shared exchange rules, in the OAuth vocabulary (docs/spec/oauth.md §4). */
function translate(e: TiktiError, tokenError: OAuthErrorCode = "invalid_grant"): OAuthError | TiktiError {
  const reason = e.details?.reason ?? (e.cause instanceof Error ? e.cause.message : undefined);
  switch (e.code) {
    case "INVALID_AUDIENCE":
      return err("invalid_target", "audience not available", reason ?? "audience");
    case "UNAUTHORIZED_SCOPES":
      return err("invalid_scope", "scope not permitted", reason);
    case "UNAUTHORIZED_EVENT_TYPES":
      return err("invalid_scope", "event types not permitted", "event types");
    case "INVALID_ARGUMENT":
      return err("invalid_request", "event_types required for this audience", "event types required");
    case "INVALID_TOKEN":
    case "USER_NOT_FOUND":
      return err(tokenError, "token rejected", reason ?? e.code.toLowerCase());
    default:
      return e;
  }
}

/** Runs `step`, turning the shared rules' TiktiErrors into OAuth errors. */
async function oauthStep<T>(step: () => T | Promise<T>, tokenError?: OAuthErrorCode): Promise<T> {
  try {
    return await step();
  } catch (e) {
    throw isTiktiError(e) ? translate(e, tokenError) : e;
  }
}

/** A verified subject or actor token: its user and, for access tokens, the claims that bound it. */
interface PresentedToken {
  user: User;
  saml: boolean;
  /** `tid` of an idToken (SAML binding) or of an access token. */
  tid: string | undefined;
  access?: { scopes: string[]; act: ActorClaim | undefined; exp: number };
}

export function createOAuthTokenService(deps: TokenDeps, services: TokenServices): OAuthTokenService {
  const { config, clock, metrics } = deps;
  const { repos, rules } = services;
  const checkState = createAccessTokenStateChecker(repos);

  /** P_c: the union of the client's roles' permissions in its tenant (docs/spec/oauth.md §3); never "all". */
  async function clientPermissions(client: Client): Promise<PermissionSet> {
    const granted = new Set(await repos.roles.permissionsOf(client.tenantId, client.roles ?? []));
    return { all: false, allows: (p) => granted.has(p) };
  }

  /** docs/spec/tokens.md §7 steps 9–11 through the shared rules. */
  function grantScopes(requested: readonly string[], audience: Client, permissions: PermissionSet): string[] {
    const scopes = rules.scopesWithinClient(requested, audience);
    rules.requirePermitted(scopes, permissions);
    return scopes;
  }

  /** Audience *A* of *T* (default the client's own id), `ACTIVE`, else `invalid_target`. */
  async function audienceOf(params: ReadonlyMap<string, string>, c: AuthenticatedClient): Promise<Client> {
    const audience = params.get("audience") ?? c.client.clientId;
    if (!isClientId(audience)) throw err("invalid_target", "audience not available", "audience grammar");
    return audience === c.client.clientId
      ? c.client
      : ((await repos.clients.get(c.tenantId, audience)) as Client);
  }

  function scopesOf(params: ReadonlyMap<string, string>): string[] {
    const scopes = splitList(params.get("scope"));
    if (!scopes.every(isScope)) throw err("invalid_scope", "malformed scope", "scope grammar");
    return scopes;
  }

  function eventTypesOf(params: ReadonlyMap<string, string>): string[] {
    const eventTypes = splitList(params.get("event_types"));
    if (!eventTypes.every((e) => EVENT_TYPE_PATTERN.test(e))) {
      throw err("invalid_scope", "malformed event_types", "event type grammar");
    }
    return eventTypes;
  }

  function ttlCap(ttl: number, client: Client): number {
    return client.maxTtlSeconds !== undefined && client.maxTtlSeconds > 0
      ? Math.min(ttl, client.maxTtlSeconds)
      : ttl;
  }

  function nowSeconds(): number {
    return Math.floor(clock.now() / 1000);
  }

  async function sign(claims: AccessTokenClaims): Promise<string> {
    return deps.accessTokens.sign(claims, "at+jwt");
  }

  /** RFC 6749 §5.1: `scope` when granted non-empty and not exactly what was asked. */
  function responseScope(granted: string[], requested: string[]): { scope?: string } {
    if (granted.length === 0) return {};
    const same = requested.length === granted.length && requested.every((s, i) => s === granted[i]);
    return same ? {} : { scope: granted.join(" ") };
  }

  // ------------------------------------------------------------- §4.1 client credentials

  async function clientCredentials(
    c: AuthenticatedClient,
    params: ReadonlyMap<string, string>,
    d: Decision,
  ): Promise<TokenResponse> {
    // The client acts for itself: it is the token's subject.
    d.subject = c.oauthClientId;
    // 1
    if (!c.client.allowedGrantTypes.includes("client_credentials")) {
      throw err("unauthorized_client", "grant not allowed for this client", "grant not listed");
    }
    // 2
    const permitted = clientPermissions(c.client);
    permitted.catch(() => {});
    const audience = await audienceOf(params, c);
    if (audience?.status !== "ACTIVE")
      throw err("invalid_target", "audience not available", "audience unknown or inactive");
    d.audience = audience.clientId;
    // 3
    const requested = scopesOf(params);
    // 4 (the shared steps 9–11: default A's defaultScopes, A's ceiling, then P_c)
    const permissions = await permitted;
    const scopes = await oauthStep(() => grantScopes(requested, audience, permissions));
    d.scopes = scopes;
    // 5
    const eventTypes = await oauthStep(() =>
      rules.eventTypesFor(eventTypesOf(params), audience.clientId, audience),
    );
    d.eventTypes = eventTypes;
    // 6
    const ttl = ttlCap(rules.grantedTtl(undefined, audience.maxTtlSeconds), c.client);
    d.ttlSeconds = ttl;
    const iat = nowSeconds();
    const token = await sign({
      iss: config.issuerBaseUrl,
      aud: audience.clientId,
      sub: c.oauthClientId,
      client_id: c.oauthClientId,
      tid: c.tenantId,
      scope: scopes.join(" "),
      eventTypes,
      iat,
      exp: iat + ttl,
      jti: crypto.randomUUID(),
    });
    return {
      access_token: token,
      token_type: "Bearer",
      expires_in: ttl,
      ...responseScope(scopes, requested),
    };
  }

  // ------------------------------------------------------------- §4.2 token exchange

  /**
   * A subject or actor token of one of the two accepted types, verified: an idToken by procedure
   * V, an access token of *T* addressed to the exchanging client by checks 1, 2 and 4 of §5.
   */
  async function presented(token: string, type: string, c: AuthenticatedClient): Promise<PresentedToken> {
    if (type === TOKEN_TYPE_ID_TOKEN) {
      const { claims, user, saml } = await oauthStep(() =>
        services.verifyIdToken(token, { checkTenant: true, knownTenant: c.tenant }),
      );
      return { user, saml, tid: claims.tid };
    }
    if (type === TOKEN_TYPE_ACCESS_TOKEN) {
      const claims: VerifiedAccessTokenClaims = await oauthStep(() =>
        verifyAccessTokenCrypto(deps.keys, token, {
          audience: c.client.clientId,
          issuer: config.issuerBaseUrl,
          now: clock.now(),
          skew: config.clockSkewSeconds,
        }),
      );
      if (claims.tid !== c.tenantId)
        throw err("invalid_grant", "token rejected", "access token of another tenant");
      const { user } = await oauthStep(() => checkState(claims));
      if (!user) throw err("invalid_grant", "token rejected", "client-credentials token names no user");
      const scopes = typeof claims.scope === "string" ? splitList(claims.scope) : [];
      const act = claims.act === undefined ? undefined : actorChain(claims.act);
      if (act === null) throw err("invalid_grant", "token rejected", "malformed act");
      return {
        user,
        saml: false,
        tid: claims.tid,
        access: { scopes, act: claims.act as ActorClaim | undefined, exp: claims.exp },
      };
    }
    throw err("invalid_request", "unsupported token type", "token type");
  }

  async function tokenExchange(
    c: AuthenticatedClient,
    params: ReadonlyMap<string, string>,
    d: Decision,
  ): Promise<TokenResponse> {
    const T = c.tenantId;
    // 1: `/oauth/token` needs the grant listed (an empty list allows the legacy route only)
    if (!c.client.allowedGrantTypes.includes("token_exchange")) {
      throw err("unauthorized_client", "grant not allowed for this client", "grant not listed");
    }
    // 2
    const subjectToken = params.get("subject_token");
    const subjectType = params.get("subject_token_type");
    if (subjectToken === undefined || subjectType === undefined) {
      throw err("invalid_request", "subject_token and subject_token_type are required");
    }
    const subject = await presented(subjectToken, subjectType, c);
    const user = subject.user;
    d.subject = user.localId;

    // 3: the SAML binding, and a membership in T (no ADMIN exemption on this route)
    if (subject.saml && subject.tid !== T)
      throw err("invalid_grant", "token rejected", "saml token of another tenant");
    const membershipRead = repos.memberships.get(T, user.localId);
    membershipRead.catch(() => {});
    const permissionsRead = rules.permissionSet(T, user, subject.saml, membershipRead);
    permissionsRead.catch(() => {});
    if (!(await membershipRead)) throw err("invalid_grant", "token rejected", "subject not a member");

    // 4
    let act: ActorClaim | undefined = subject.access?.act;
    const actorToken = params.get("actor_token");
    const actorType = params.get("actor_token_type");
    if (actorToken !== undefined || actorType !== undefined) {
      if (actorToken === undefined || actorType === undefined) {
        throw err("invalid_request", "actor_token and actor_token_type go together");
      }
      const actor = await presented(actorToken, actorType, c);
      if (actor.saml && actor.tid !== T)
        throw err("invalid_grant", "delegation denied", "saml actor of another tenant");
      const actorMembership = repos.memberships.get(T, actor.user.localId);
      if (!(await actorMembership)) throw err("invalid_grant", "delegation denied", "actor not a member");
      const actorPermissions = await rules.permissionSet(T, actor.user, actor.saml, actorMembership);
      if (!actorPermissions.allows(DELEGATE_PERMISSION)) {
        throw err("invalid_grant", "delegation denied", "actor lacks tikti:tokens:delegate");
      }
      act = act ? { sub: actor.user.localId, act } : { sub: actor.user.localId };
      d.actor = actor.user.localId;
    }

    // 5
    const audienceRecord = await audienceOf(params, c);
    const audience = await oauthStep(() => rules.requireClient(audienceRecord ?? null));
    d.audience = audience.clientId;

    // 6
    const requested = scopesOf(params);
    const permitted = await permissionsRead;
    let scopes: string[];
    if (requested.length === 0 && subject.access) {
      const own = subject.access.scopes;
      const defaults = new Set(audience.defaultScopes);
      const fallback = defaults.size > 0 ? own.filter((s) => defaults.has(s)) : own;
      scopes = fallback.length === 0 ? [] : await oauthStep(() => grantScopes(fallback, audience, permitted));
    } else {
      scopes = await oauthStep(() => grantScopes(requested, audience, permitted));
    }
    if (subject.access) {
      const own = new Set(subject.access.scopes);
      if (!scopes.every((s) => own.has(s)))
        throw err("invalid_scope", "scope not permitted", "scope above the subject token");
    }
    d.scopes = scopes;

    // 7
    const eventTypes = await oauthStep(() =>
      rules.eventTypesFor(eventTypesOf(params), audience.clientId, audience),
    );
    d.eventTypes = eventTypes;

    // 8
    const requestedType = params.get("requested_token_type");
    if (
      requestedType !== undefined &&
      requestedType !== TOKEN_TYPE_ACCESS_TOKEN &&
      requestedType !== TOKEN_TYPE_JWT
    ) {
      throw err("invalid_request", "unsupported requested_token_type", "requested token type");
    }

    // 9
    await services.rateLimiter.check("exchangeUser", user.localId);
    const iat = nowSeconds();
    let ttl = rules.grantedTtl(undefined, audience.maxTtlSeconds);
    if (subject.access) ttl = Math.min(ttl, subject.access.exp - iat);
    if (ttl <= 0) throw err("invalid_grant", "token rejected", "subject token expired");
    d.ttlSeconds = ttl;
    const token = await sign({
      iss: config.issuerBaseUrl,
      aud: audience.clientId,
      sub: user.localId,
      client_id: c.oauthClientId,
      ...(act ? { act } : {}),
      email: user.email,
      tid: T,
      scope: scopes.join(" "),
      eventTypes,
      ver: user.tokenVersion,
      iat,
      exp: iat + ttl,
      jti: crypto.randomUUID(),
    });
    return {
      access_token: token,
      issued_token_type: TOKEN_TYPE_ACCESS_TOKEN,
      token_type: "Bearer",
      expires_in: ttl,
      ...responseScope(scopes, requested),
    };
  }

  async function record(d: Decision, result: string, log: Logger, requestId: string, e?: OAuthError) {
    metrics.oauthTokenRequests.inc({ grant: d.grant || "other", result });
    const fields: LogFields = { ...d, result };
    if (e?.reason) fields.reason = e.reason;
    log.info("oauth token", fields);
    await services.audit.record("oauth.token", {
      actor: d.client ? `client:${d.client}` : "anonymous",
      tenantId: d.tenantId ?? "",
      grant: d.grant,
      subject: d.subject ?? "",
      ...(d.actor ? { delegatedBy: d.actor } : {}),
      audience: d.audience ?? "",
      scopes: d.scopes ?? [],
      outcome: result === "success" ? "success" : "failure",
      result,
      httpRequestId: requestId,
    });
  }

  return {
    async token(input, requestId, log) {
      const d: Decision = { grant: "other" };
      try {
        const { params, client } = await services.clientAuth.admit(
          { ...input, endpoint: "/oauth/token", required: ["grant_type"] },
          log,
        );
        const grant = params.get("grant_type") as string;
        // The label, not the raw value: the log and the audit never hold arbitrary client input.
        d.grant = grantLabel(grant);
        d.client = client.oauthClientId;
        d.tenantId = client.tenantId;
        d.authMethod = client.method;
        let response: TokenResponse;
        if (grant === GRANT_CLIENT_CREDENTIALS) response = await clientCredentials(client, params, d);
        else if (grant === GRANT_TOKEN_EXCHANGE) response = await tokenExchange(client, params, d);
        else throw err("unsupported_grant_type", "unsupported grant_type", "grant type");
        await record(d, "success", log, requestId);
        return response;
      } catch (e) {
        const code = isOAuthError(e)
          ? e.error
          : isTiktiError(e) && e.code === "RATE_LIMITED"
            ? "temporarily_unavailable"
            : "server_error";
        await record(d, code, log, requestId, isOAuthError(e) ? e : undefined);
        throw e;
      }
    },
  };
}
