/**
 * OAuth client authentication (docs/spec/oauth.md §2), shared by `/oauth/token`, `/oauth/introspect`
 * and `/oauth/revoke`: `client_secret_basic`, `client_secret_post` and `private_key_jwt`
 * (RFC 7523 §2.2), exactly one per request. Every failure is the same `invalid_client` (the reason
 * goes to the decision log only); two methods at once are `invalid_request`.
 *
 * Secrets are compared as SHA-256 digests in constant time; a Go-era bcrypt hash is verified once
 * and then rewritten as `sha256:` with a compare-and-set on the client record, so no token request
 * after the first ever computes a password hash (docs/adr/0040-oauth-client-authentication.md).
 */
import { type CryptoKey, decodeJwt, decodeProtectedHeader, importJWK, type JWK, jwtVerify } from "jose";
import type { Clock } from "../../clock.ts";
import { checkClientSecret, hashClientSecret } from "../../crypto/client-secret.ts";
import type { Sha256Sync } from "../../crypto/compare.ts";
import { isClientId, isPathTenantId } from "../../domain/grammar.ts";
import type { Client, Tenant } from "../../domain/types.ts";
import type { Logger } from "../../logger.ts";
import type { Repos } from "../../store/repos/index.ts";
import type { RateLimiter } from "../rate-limit.ts";
import { type AssertionAlgorithm, isAssertionAlgorithm, keyFitsAlgorithm } from "./client-jwks.ts";
import { invalidClient, OAuthError } from "./errors.ts";

export const CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/** docs/spec/oauth.md §2: an assertion lives at most 300 s (`exp - iat`). */
export const MAX_ASSERTION_LIFETIME_SECONDS = 300;

/** The canonical paths of the endpoints that authenticate clients (the assertion `aud`). */
export type OAuthEndpoint = "/oauth/token" | "/oauth/introspect" | "/oauth/revoke";

export type ClientAuthMethod = "client_secret_basic" | "client_secret_post" | "private_key_jwt";

export interface ClientAuthRequest {
  /** The `Authorization` header, if any. */
  authorization: string | undefined;
  /** The form parameters (duplicates already refused). */
  params: ReadonlyMap<string, string>;
  endpoint: OAuthEndpoint;
  /** The request came through the `/v1` alias: the `/v1` URL is then also an accepted `aud`. */
  viaAlias: boolean;
}

export interface AuthenticatedClient {
  /** `<tenantId>/<clientId>`. */
  oauthClientId: string;
  /** The client's tenant *T*. */
  tenantId: string;
  client: Client;
  tenant: Tenant;
  method: ClientAuthMethod;
}

/** One `/oauth/*` request as its route sees it, before anything is read. */
export interface OAuthRequestInput {
  /** The client IP (for `oauthAuthFailIp`). */
  clientIp: string;
  authorization: string | undefined;
  /** Reads and checks the form (media type, size, duplicates); throws `OAuthError`. */
  readParams: () => Promise<ReadonlyMap<string, string>>;
  endpoint: OAuthEndpoint;
  viaAlias: boolean;
  /** Parameters the route needs before authentication (absent → `invalid_request`). */
  required?: readonly string[];
}

export interface ClientAuthenticator {
  /** docs/spec/oauth.md §2; throws `OAuthError` (`invalid_client` 401, or `invalid_request` 400). */
  authenticate(request: ClientAuthRequest, log: Logger): Promise<AuthenticatedClient>;
  /**
   * The common front of every `/oauth/*` route, in the order stated at the top of docs/spec/oauth.md:
   * `oauthAuthFailIp` → form (media type, size, parse, required parameters) → client
   * authentication (an `invalid_client` counts against the IP) → `oauthClient` limit.
   */
  admit(
    input: OAuthRequestInput,
    log: Logger,
  ): Promise<{ params: ReadonlyMap<string, string>; client: AuthenticatedClient }>;
}

export interface ClientAuthDeps {
  repos: Pick<Repos, "clients" | "tenants" | "clientAssertions">;
  rateLimiter: Pick<RateLimiter, "check" | "checkFailureBudget" | "countFailure">;
  clock: Clock;
  issuer: string;
  skewSeconds: number;
  /** The runtime's synchronous SHA-256 for secret checks (Bun, Node); without it Web Crypto's. */
  sha256Sync?: Sha256Sync | undefined;
}

/** `<tenantId>/<clientId>` (docs/spec/oauth.md §1). */
export function oauthClientIdOf(tenantId: string, clientId: string): string {
  return `${tenantId}/${clientId}`;
}

/** Splits at the first `/`; null when either part breaks its grammar. */
export function parseOAuthClientId(id: string): { tenantId: string; clientId: string } | null {
  const slash = id.indexOf("/");
  if (slash < 0) return null;
  const tenantId = id.slice(0, slash);
  const clientId = id.slice(slash + 1);
  return isPathTenantId(tenantId) && isClientId(clientId) ? { tenantId, clientId } : null;
}

/** application/x-www-form-urlencoded decoding (RFC 6749 §2.3.1, Appendix B); null when malformed. */
function formDecode(text: string): string | null {
  try {
    return decodeURIComponent(text.replace(/\+/g, " "));
  } catch {
    return null;
  }
}

/** `Basic <base64(id ":" secret)>`; null when the header is not Basic at all. */
function parseBasic(header: string): { id: string; secret: string } | "malformed" | null {
  const encoded = /^basic[ ]+([A-Za-z0-9+/]+={0,2})[ ]*$/i.exec(header)?.[1];
  if (encoded === undefined) return /^basic(\s|$)/i.test(header) ? "malformed" : null;
  let text: string;
  try {
    const bin = atob(encoded);
    const bytes = Uint8Array.from(bin, (ch) => ch.charCodeAt(0));
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return "malformed";
  }
  const colon = text.indexOf(":");
  if (colon < 0) return "malformed";
  // Encoded per RFC 6749 §2.3.1 (`acme%2Fworker`), or the raw id (`acme/worker`): decoding the
  // raw form changes nothing, as ids and generated secrets hold no `%` or `+`.
  const id = formDecode(text.slice(0, colon));
  const secret = formDecode(text.slice(colon + 1));
  if (id === null || secret === null) return "malformed";
  return { id, secret };
}

/** Imported verification keys, by the JWK's JSON and algorithm: a key is imported once. */
const KEY_CACHE_MAX = 1000;

export function createClientAuthenticator(deps: ClientAuthDeps): ClientAuthenticator {
  const { repos, clock, issuer, skewSeconds } = deps;
  const keyCache = new Map<string, Promise<CryptoKey | Uint8Array>>();

  function importKey(jwk: Record<string, unknown>, alg: AssertionAlgorithm): Promise<CryptoKey | Uint8Array> {
    const cacheKey = `${alg}:${JSON.stringify(jwk)}`;
    let key = keyCache.get(cacheKey);
    if (!key) {
      if (keyCache.size >= KEY_CACHE_MAX) keyCache.clear();
      key = importJWK(jwk as JWK, alg);
      key.catch(() => keyCache.delete(cacheKey));
      keyCache.set(cacheKey, key);
    }
    return key;
  }

  /** The client and its tenant, both ACTIVE, not PUBLIC; anything else is `invalid_client`. */
  async function loadClient(id: string, basic: boolean): Promise<{ client: Client; tenant: Tenant }> {
    const parsed = parseOAuthClientId(id);
    if (!parsed) throw invalidClient("client id does not parse", basic);
    const [client, tenant] = await Promise.all([
      repos.clients.get(parsed.tenantId, parsed.clientId),
      repos.tenants.get(parsed.tenantId),
    ]);
    if (!client) throw invalidClient("unknown client", basic);
    if (client.type === "PUBLIC") throw invalidClient("public client", basic);
    if (client.status !== "ACTIVE") throw invalidClient("client not active", basic);
    if (tenant?.status !== "ACTIVE") throw invalidClient("tenant not active", basic);
    return { client, tenant };
  }

  async function bySecret(
    id: string,
    secret: string,
    basic: boolean,
    log: Logger,
  ): Promise<{ client: Client; tenant: Tenant }> {
    const loaded = await loadClient(id, basic);
    const { client } = loaded;
    if (client.type !== "CONFIDENTIAL" && client.type !== "SERVICE")
      throw invalidClient("client type", basic);
    const current = await checkClientSecret(secret, client.secretHash, deps.sha256Sync);
    if (current !== "mismatch") {
      if (current === "match-legacy")
        await upgrade(client, { secretHash: await hashClientSecret(secret) }, log);
      return loaded;
    }
    const expiresAt = client.previousSecretExpiresAt
      ? Date.parse(client.previousSecretExpiresAt)
      : Number.NaN;
    if (client.previousSecretHash && Number.isFinite(expiresAt) && clock.now() < expiresAt) {
      const previous = await checkClientSecret(secret, client.previousSecretHash, deps.sha256Sync);
      if (previous !== "mismatch") {
        if (previous === "match-legacy") {
          await upgrade(client, { previousSecretHash: await hashClientSecret(secret) }, log);
        }
        return loaded;
      }
    }
    throw invalidClient("secret mismatch", basic);
  }

  /**
   * Rewrites a bcrypt hash that just verified as `sha256:` (docs/spec/oauth.md §2). Compare-and-set: if the
   * record changed meanwhile (rotation, PUT), the other write wins and the next success retries.
   * Best effort: the request already authenticated, so a store error here is logged, not fatal.
   */
  async function upgrade(client: Client, change: Partial<Client>, log: Logger): Promise<void> {
    try {
      await repos.clients.replaceIf(client, { ...client, ...change });
    } catch (error) {
      log.warn("client secret hash upgrade failed", { tenantId: client.tenantId, error });
    }
  }

  async function byAssertion(assertion: string, claimedId: string | undefined) {
    let header: ReturnType<typeof decodeProtectedHeader>;
    let iss: unknown;
    try {
      // Unverified: only to find the client whose keys then verify the signature.
      header = decodeProtectedHeader(assertion);
      iss = decodeJwt(assertion).iss;
    } catch {
      throw invalidClient("assertion malformed");
    }
    const id = claimedId ?? (typeof iss === "string" ? iss : undefined);
    if (id === undefined) throw invalidClient("assertion names no client");
    const alg = header.alg;
    if (!isAssertionAlgorithm(alg)) throw invalidClient("assertion algorithm not allowed");
    const loaded = await loadClient(id, false);
    const candidates = (loaded.client.jwks?.keys ?? []).filter(
      (k) => keyFitsAlgorithm(k, alg) && (header.kid === undefined || k.kid === header.kid),
    );
    if (candidates.length === 0) throw invalidClient("no registered key fits the assertion");
    return { loaded, alg, candidates };
  }

  async function verifyAssertion(
    assertion: string,
    claimedId: string | undefined,
    request: ClientAuthRequest,
  ): Promise<{ client: Client; tenant: Tenant; oauthClientId: string }> {
    const { loaded, alg, candidates } = await byAssertion(assertion, claimedId);
    const oauthClientId = oauthClientIdOf(loaded.client.tenantId, loaded.client.clientId);
    const audiences = [issuer, `${issuer}${request.endpoint}`];
    if (request.viaAlias) audiences.push(`${issuer}/v1${request.endpoint}`);
    const now = clock.now();
    let payload: Record<string, unknown> | undefined;
    for (const jwk of candidates) {
      try {
        const result = await jwtVerify(assertion, await importKey(jwk, alg), {
          algorithms: [alg],
          issuer: oauthClientId,
          subject: oauthClientId,
          audience: audiences,
          clockTolerance: skewSeconds,
          currentDate: new Date(now),
          requiredClaims: ["exp", "iat", "jti"],
        });
        payload = result.payload as Record<string, unknown>;
        break;
      } catch {
        // Next candidate (only without `kid` can there be several); all failing is invalid_client.
      }
    }
    if (!payload) throw invalidClient("assertion rejected");
    const { exp, iat, jti } = payload as { exp: number; iat: number; jti: unknown };
    const nowSeconds = Math.floor(now / 1000);
    if (!Number.isSafeInteger(exp) || !Number.isSafeInteger(iat)) throw invalidClient("assertion times");
    if (iat > nowSeconds + skewSeconds) throw invalidClient("assertion issued in the future");
    if (exp - iat > MAX_ASSERTION_LIFETIME_SECONDS) throw invalidClient("assertion lifetime above 300 s");
    if (typeof jti !== "string" || jti === "" || jti.length > 256) throw invalidClient("assertion jti");
    // Recorded until the assertion can no longer pass the `exp` check on any replica.
    const ttlMs = (exp + skewSeconds) * 1000 - now;
    if (!(await repos.clientAssertions.claimJti(oauthClientId, jti, ttlMs))) {
      throw invalidClient("assertion jti already used");
    }
    return { ...loaded, oauthClientId };
  }

  async function authenticate(request: ClientAuthRequest, log: Logger): Promise<AuthenticatedClient> {
    const { params } = request;
    const header = request.authorization;
    const basic = header === undefined ? null : parseBasic(header);
    const methods: ClientAuthMethod[] = [];
    if (basic !== null) methods.push("client_secret_basic");
    if (params.has("client_secret")) methods.push("client_secret_post");
    if (params.has("client_assertion") || params.has("client_assertion_type"))
      methods.push("private_key_jwt");
    if (methods.length > 1) {
      throw new OAuthError("invalid_request", "more than one client authentication method");
    }
    // An Authorization header of another scheme is no credential this endpoint accepts.
    if (header !== undefined && basic === null) throw invalidClient("unsupported authorization scheme");
    const method = methods[0];
    const formClientId = params.get("client_id");
    const usedBasic = method === "client_secret_basic";

    let result: { client: Client; tenant: Tenant };
    if (method === "client_secret_basic") {
      if (basic === "malformed" || basic === null) throw invalidClient("malformed Basic credentials", true);
      result = await bySecret(basic.id, basic.secret, true, log);
    } else if (method === "client_secret_post") {
      if (formClientId === undefined) throw invalidClient("client_secret without client_id");
      result = await bySecret(formClientId, params.get("client_secret") as string, false, log);
    } else if (method === "private_key_jwt") {
      const assertion = params.get("client_assertion");
      const type = params.get("client_assertion_type");
      if (assertion === undefined || type === undefined) {
        throw new OAuthError(
          "invalid_request",
          "client_assertion and client_assertion_type are both required",
        );
      }
      if (type !== CLIENT_ASSERTION_TYPE) throw invalidClient("unsupported client_assertion_type");
      result = await verifyAssertion(assertion, formClientId, request);
    } else {
      // `none` (a client_id alone) or nothing at all: never on these routes (docs/spec/oauth.md §2).
      throw invalidClient(formClientId === undefined ? "no client credentials" : "no client authentication");
    }
    const oauthClientId = oauthClientIdOf(result.client.tenantId, result.client.clientId);
    // A client_id parameter beside any method must name the authenticated client.
    if (formClientId !== undefined && formClientId !== oauthClientId) {
      throw invalidClient("client_id names another client", usedBasic);
    }
    return { ...result, oauthClientId, tenantId: result.client.tenantId, method };
  }

  async function admit(input: OAuthRequestInput, log: Logger) {
    await deps.rateLimiter.checkFailureBudget("oauthAuthFailIp", input.clientIp);
    const params = await input.readParams();
    for (const name of input.required ?? []) {
      if (!params.has(name)) throw new OAuthError("invalid_request", `missing parameter ${name}`);
    }
    let client: AuthenticatedClient;
    try {
      client = await authenticate(
        { authorization: input.authorization, params, endpoint: input.endpoint, viaAlias: input.viaAlias },
        log,
      );
    } catch (err) {
      if (err instanceof OAuthError && err.error === "invalid_client") {
        await deps.rateLimiter.countFailure("oauthAuthFailIp", input.clientIp);
      }
      throw err;
    }
    await deps.rateLimiter.check("oauthClient", client.oauthClientId);
    return { params, client };
  }

  return { authenticate, admit };
}
