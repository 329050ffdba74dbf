/**
 * The services shared by HTTP routes, CLI-facing admin routes and migrations, built once per app
 * from `AppDeps`. Route groups receive this object; they never build repositories themselves.
 */
import type { AppDeps } from "../deps.ts";
import { createRepos, type Repos } from "../store/repos/index.ts";
import { createAccessTokenStateChecker } from "./access-token-state.ts";
import { type Audit, createAudit } from "./audit.ts";
import { createExchangeRules } from "./exchange.ts";
import { type ClientAuthenticator, createClientAuthenticator } from "./oauth/client-auth.ts";
import { createTokenIntrospection, type TokenIntrospection } from "./oauth/introspect-revoke.ts";
import { createRefreshTokenService, type RefreshTokenService } from "./oauth/refresh-tokens.ts";
import { createOAuthTokenService, type OAuthTokenService } from "./oauth/token.ts";
import { createRateLimiter, type RateLimiter } from "./rate-limit.ts";
import { createIdTokenVerifier, type IdTokenVerifier } from "./verify-id-token.ts";

export interface Services {
  repos: Repos;
  rateLimiter: RateLimiter;
  /** Procedure V (tokens.md §4.1). */
  verifyIdToken: IdTokenVerifier;
  audit: Audit;
  /** Refresh-token families of password and email-code sessions (docs/oauth.md §6). */
  refreshTokens: RefreshTokenService;
  /** OAuth 2.0 (oauth.md): client authentication for every `/oauth/*` route, and `/oauth/token`. */
  oauth: {
    clientAuth: ClientAuthenticator;
    token: OAuthTokenService;
    /** `/oauth/introspect` and `/oauth/revoke` (docs/oauth.md §5, §7). */
    introspection: TokenIntrospection;
  };
}

export function createServices(deps: AppDeps): Services {
  const repoDeps = { kv: deps.store, logger: deps.logger, clock: deps.clock };
  const repos = createRepos({ ...repoDeps, oobCodeTtlSeconds: deps.config.accounts.oobCodeTtlSeconds });
  const rateLimiter = createRateLimiter(deps.store, deps.config, deps.metrics, deps.clock);
  const verifyIdToken = createIdTokenVerifier({
    signer: deps.idTokens,
    repos,
    kv: deps.store,
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
  });
  const token = createOAuthTokenService(deps, {
    repos,
    rateLimiter,
    verifyIdToken,
    audit,
    clientAuth,
    rules: createExchangeRules(deps, { repos }),
  });
  return {
    repos,
    rateLimiter,
    verifyIdToken,
    audit,
    refreshTokens: createRefreshTokenService({
      config: deps.config,
      repos,
      rateLimiter,
      idTokens: deps.idTokens,
      clock: deps.clock,
      logger: deps.logger,
      metrics: deps.metrics,
    }),
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
