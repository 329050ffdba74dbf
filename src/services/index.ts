/**
 * Every service of the app, built once per app from `AppDeps` (docs/adr/0060-one-layering.md).
 * Route groups receive this object; they never build a service or a repository themselves, so a
 * test can call any service without HTTP.
 */
import type { AppDeps, ReadinessCheck } from "../deps.ts";
import { createRepos, type Repos } from "../store/repos/index.ts";
import { createAccessTokenStateChecker } from "./access-token-state.ts";
import { type AccountsService, createAccountsService } from "./accounts.ts";
import { type Audit, createAudit } from "./audit.ts";
import { createExchangeRules, createTokenExchange, type TokenExchange } from "./exchange.ts";
import { type ClientAuthenticator, createClientAuthenticator } from "./oauth/client-auth.ts";
import { createTokenIntrospection, type TokenIntrospection } from "./oauth/introspect-revoke.ts";
import { createRefreshTokenService, type RefreshTokenService } from "./oauth/refresh-tokens.ts";
import { createOAuthTokenService, type OAuthTokenService } from "./oauth/token.ts";
import { createRateLimiter, type RateLimiter } from "./rate-limit.ts";
import { createSamlContext, type SamlContext } from "./saml/context.ts";
import { createSamlFlows, type SamlFlows } from "./saml/index.ts";
import { createSamlAdminService, type SamlAdminService } from "./saml-admin.ts";
import { createTenancyService, type TenancyService } from "./tenancy.ts";
import { createUserAdminService, type UserAdminService } from "./user-admin.ts";
import { createTokenValidator, type TokenValidator } from "./validate.ts";
import { createIdTokenVerifier, type IdTokenVerifier } from "./verify-id-token.ts";

export interface Services {
  repos: Repos;
  rateLimiter: RateLimiter;
  /** Procedure V (docs/spec/tokens.md §4.1). */
  verifyIdToken: IdTokenVerifier;
  audit: Audit;
  /** Sign-up, sign-in, email codes, profile (docs/spec/api.md §4). */
  accounts: AccountsService;
  /** `POST /accounts/token/exchange` (docs/spec/tokens.md §7). */
  exchange: TokenExchange;
  /** `POST /accounts/validate` (docs/spec/tokens.md §4.3). */
  validate: TokenValidator;
  /** Tenants, memberships, clients (docs/spec/api.md §7–§9). */
  tenancy: TenancyService;
  /** Admin actions on one user: status, revocation (docs/spec/api.md §6). */
  userAdmin: UserAdminService;
  /** SP keys and rotation, IdP records, domains, SAML metrics (src/services/saml/context.ts). */
  saml: SamlContext;
  /** IdP records, refresh, domain mappings, SP rotation (docs/spec/api.md §11). */
  samlAdmin: SamlAdminService;
  /** The SAML browser flows: login, ACS, logout; they return decisions (docs/adr/0070-saml-flow-decisions.md). */
  samlFlows: SamlFlows;
  /** Extra `/readyz` checks: those of `deps`, plus `saml` when SAML is enabled (docs/spec/operations.md §5). */
  readinessChecks: Readonly<Record<string, ReadinessCheck>>;
  /** Refresh-token families of password and email-code sessions (docs/spec/oauth.md §6). */
  refreshTokens: RefreshTokenService;
  /** OAuth 2.0 (docs/spec/oauth.md): client authentication for every `/oauth/*` route, and `/oauth/token`. */
  oauth: {
    clientAuth: ClientAuthenticator;
    token: OAuthTokenService;
    /** `/oauth/introspect` and `/oauth/revoke` (docs/spec/oauth.md §5, §7). */
    introspection: TokenIntrospection;
  };
}

export function createServices(deps: AppDeps): Services {
  const repoDeps = { kv: deps.store, logger: deps.logger, clock: deps.clock };
  const repos = createRepos({
    ...repoDeps,
    oobCodeTtlSeconds: deps.config.accounts.oobCodeTtlSeconds,
    samlDomainIndexKey: deps.config.saml.discover.emailDomainIndexKey,
  });
  const rateLimiter = createRateLimiter(deps.store, deps.config, deps.metrics, deps.clock, deps.sha256Sync);
  const verifyIdToken = createIdTokenVerifier({
    signer: deps.idTokens,
    repos,
    clock: deps.clock,
    logger: deps.logger,
  });
  const audit = createAudit({
    sink: deps.auditSink,
    clock: deps.clock,
    logger: deps.logger,
    metrics: deps.metrics,
    replicaId: deps.replicaId,
  });
  const clientAuth = createClientAuthenticator({
    repos,
    rateLimiter,
    clock: deps.clock,
    issuer: deps.config.issuerBaseUrl,
    skewSeconds: deps.config.clockSkewSeconds,
    sha256Sync: deps.sha256Sync,
  });
  // One set of exchange rules for the legacy exchange and the RFC 8693 grant of /oauth/token.
  const rules = createExchangeRules(deps, { repos });
  const token = createOAuthTokenService(deps, {
    repos,
    rateLimiter,
    verifyIdToken,
    audit,
    clientAuth,
    rules,
  });
  const refreshTokens = createRefreshTokenService({
    config: deps.config,
    repos,
    rateLimiter,
    idTokens: deps.idTokens,
    clock: deps.clock,
    logger: deps.logger,
    metrics: deps.metrics,
  });
  const saml = createSamlContext(deps, audit, repos.saml);
  return {
    repos,
    rateLimiter,
    verifyIdToken,
    audit,
    accounts: createAccountsService({
      config: deps.config,
      repos,
      rateLimiter,
      verifyIdToken,
      idTokens: deps.idTokens,
      passwords: deps.passwords,
      metrics: deps.metrics,
      audit,
      logger: deps.logger,
      refreshTokens,
    }),
    exchange: createTokenExchange(deps, { repos, rateLimiter, verifyIdToken, rules }),
    validate: createTokenValidator(deps, { repos }),
    tenancy: createTenancyService({ repos, metrics: deps.metrics, clock: deps.clock, audit }),
    userAdmin: createUserAdminService({ repos, metrics: deps.metrics, clock: deps.clock, audit }),
    saml,
    samlAdmin: createSamlAdminService({ saml, repos, audit }),
    samlFlows: createSamlFlows({ deps, saml, repos, audit }),
    readinessChecks: {
      ...deps.readinessChecks,
      ...(deps.config.saml.enabled ? { saml: () => saml.rotation.readiness() } : {}),
    },
    refreshTokens,
    oauth: {
      clientAuth,
      token,
      introspection: createTokenIntrospection({
        config: deps.config,
        keys: deps.keys,
        clock: deps.clock,
        repos,
        clientAuth,
        liveness: createAccessTokenStateChecker(repos),
      }),
    },
  };
}
