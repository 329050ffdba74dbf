/**
 * idTokens (docs/spec/tokens.md §2, §4.1): HS256 with `jwtSecret`, issued and verified by Tikti only.
 *
 * `createIdTokenSigner` imports the key once. `sign` writes exactly the claims of §2 in the order of
 * its table; `verifyIdTokenCrypto` is procedure V steps 1–5. Steps 6–10 (user, email, `ver`, status,
 * SAML session) need the store and belong to the service layer, which receives
 * `VerifiedIdTokenClaims`. Every failure is `401 INVALID_TOKEN`; the step that failed is kept in
 * `cause` (a `TokenCheckFailed` with its `reason`) for logs and never reaches the response.
 */
import { type Clock, systemClock } from "../clock.ts";
import { TiktiError } from "../errors.ts";
import {
  base64UrlEncode,
  type CompactJws,
  decodeJsonObject,
  encodeSigningInput,
  type Hs256Mac,
  hs256SignatureValid,
  importHs256Key,
  isInteger,
  parseCompactJws,
  TokenCheckFailed,
  webCryptoHs256Mac,
} from "./jws.ts";

/** The configuration keys this module reads (a subset of `Config`). */
export interface IdTokenConfig {
  jwtSecret: string;
  issuerBaseUrl: string;
  defaultAudience: string;
  idTokenTtlSeconds: number;
  clockSkewSeconds: number;
}

export type AuthMethod = "pwd" | "oob" | "saml";

/** What the caller decides; the signer adds `iss`, `aud`, `userId`, `iat`, `exp`, `jti`. */
export interface IdTokenInput {
  /** User `localId`. */
  sub: string;
  email: string;
  role: string;
  /** Home tenant (`companyId`), or the SAML login tenant; omitted from the token when empty. */
  tid?: string;
  amr: AuthMethod;
  /** User `tokenVersion` (0 when never bumped). */
  ver: number;
  /** SAML only, and required there: 32 lowercase hex chars (docs/spec/saml.md §9.1). */
  sid?: string;
  /** Expiry in epoch seconds; default `iat + idTokenTtlSeconds`. SAML: the session expiry. */
  exp?: number;
}

/** The claims of docs/spec/tokens.md §2, in its order. */
export interface IdTokenClaims {
  iss: string;
  aud: string;
  sub: string;
  userId: string;
  email: string;
  role: string;
  tid?: string;
  amr: AuthMethod[];
  ver: number;
  sid?: string;
  iat: number;
  exp: number;
  jti: string;
}

/**
 * What V1–V5 guarantee, plus the claims V6–V10 read, normalised for the service layer. Claims a
 * Go-era token may lack are optional; a value of the wrong type reads as absent, except `ver`.
 */
export interface VerifiedIdTokenClaims {
  iss: string;
  aud: string;
  sub: string;
  email: string;
  iat: number;
  exp: number;
  /**
   * V8: 0 when absent; null when present but not a non-negative integer, which never equals a
   * `tokenVersion`, so V8 fails.
   */
  ver: number | null;
  /**
   * `amr` entries that are strings ([] when absent; a bare string counts as one entry), so the SAML
   * rules (V10, docs/spec/tokens.md §7) apply whenever "saml" appears at all.
   */
  amr: readonly string[];
  tid?: string;
  sid?: string;
  role?: string;
  jti?: string;
}

export interface VerifyIdTokenOptions {
  /**
   * Skip the time comparisons of V3 (saml logout, docs/spec/tokens.md §4.2: V1, V2, V4, V5). `exp` and `iat`
   * must still be integers.
   */
  ignoreExpiry?: boolean;
}

export interface SignedIdToken {
  token: string;
  claims: IdTokenClaims;
}

export interface IdTokenSigner {
  sign(input: IdTokenInput): Promise<SignedIdToken>;
  /**
   * Procedure V steps 1–5. `now` is epoch milliseconds (`Clock.now()`). Throws `TiktiError`
   * `INVALID_TOKEN` whose `cause` is a `TokenCheckFailed`.
   */
  verifyIdTokenCrypto(
    token: string,
    now: number,
    options?: VerifyIdTokenOptions,
  ): Promise<VerifiedIdTokenClaims>;
}

const HEADER = { alg: "HS256", typ: "JWT" } as const;
const SID = /^[0-9a-f]{32}$/;

/**
 * `mac`: an HMAC-SHA256 with `jwtSecret` supplied by the runtime (the same bytes as Web Crypto's);
 * absent, the secret is imported into Web Crypto once, here.
 */
export async function createIdTokenSigner(
  config: IdTokenConfig,
  clock: Clock = systemClock,
  mac?: Hs256Mac,
): Promise<IdTokenSigner> {
  const hmac = mac ?? webCryptoHs256Mac(await importHs256Key(new TextEncoder().encode(config.jwtSecret)));

  return {
    async sign(input) {
      const claims = buildIdTokenClaims(config, input, Math.floor(clock.now() / 1000));
      const signingInput = encodeSigningInput(HEADER, claims);
      const signature = await hmac(new TextEncoder().encode(signingInput));
      return { token: `${signingInput}.${base64UrlEncode(signature)}`, claims };
    },

    async verifyIdTokenCrypto(token, now, options = {}) {
      try {
        const payload = await verifyIdTokenMac(hmac, token);
        return checkIdTokenClaims(config, payload, Math.floor(now / 1000), options);
      } catch (e) {
        throw e instanceof TokenCheckFailed ? new TiktiError("INVALID_TOKEN", { cause: e }) : e;
      }
    },
  };
}

/** The claim object of §2, keys in the table's order, optional keys only when set. */
export function buildIdTokenClaims(config: IdTokenConfig, input: IdTokenInput, iat: number): IdTokenClaims {
  const problem = inputProblem(input, iat);
  if (problem) throw new TiktiError("INTERNAL", { cause: new Error(`idToken input: ${problem}`) });
  return {
    iss: config.issuerBaseUrl,
    aud: config.defaultAudience,
    sub: input.sub,
    userId: input.sub,
    email: input.email,
    role: input.role,
    ...(input.tid ? { tid: input.tid } : {}),
    amr: [input.amr],
    ver: input.ver,
    // inputProblem: sid is present exactly when amr is "saml".
    ...(input.sid !== undefined ? { sid: input.sid } : {}),
    iat,
    exp: input.exp ?? iat + config.idTokenTtlSeconds,
    jti: crypto.randomUUID(),
  };
}

function inputProblem(input: IdTokenInput, iat: number): string | undefined {
  if (!input.sub) return "empty sub";
  if (!input.email) return "empty email";
  if (!isInteger(input.ver) || input.ver < 0) return "ver is not a non-negative integer";
  if (input.amr === "saml" ? !SID.test(input.sid ?? "") : input.sid !== undefined) {
    return "sid is required for SAML and only for SAML";
  }
  if (input.exp !== undefined && (!isInteger(input.exp) || input.exp <= iat)) return "exp is not after iat";
  return undefined;
}

/**
 * V1 and V2: three base64url segments, `alg` exactly HS256, no `crit`, `typ` absent or `JWT`, then
 * the MAC in constant time. Returns the (now authenticated) payload object. Throws
 * `TokenCheckFailed`. Exported for the RFC 7515 A.1 known-answer test.
 */
export function verifyIdTokenSignature(key: CryptoKey, token: string): Promise<Record<string, unknown>> {
  return verifyIdTokenMac(webCryptoHs256Mac(key), token);
}

async function verifyIdTokenMac(mac: Hs256Mac, token: string): Promise<Record<string, unknown>> {
  const jws = parseCompactJws(token);
  if (!jws) throw new TokenCheckFailed("malformed");
  checkHeader(jws);
  if (!(await hs256SignatureValid(mac, jws))) throw new TokenCheckFailed("signature");
  const payload = decodeJsonObject(jws.payloadSegment);
  if (!payload) throw new TokenCheckFailed("malformed");
  return payload;
}

function checkHeader({ header }: CompactJws): void {
  if (header.alg !== "HS256") throw new TokenCheckFailed("alg");
  if ("crit" in header) throw new TokenCheckFailed("crit");
  if ("typ" in header && header.typ !== "JWT") throw new TokenCheckFailed("typ");
}

/** V3–V5 on an authenticated payload; `now` in epoch seconds. */
export function checkIdTokenClaims(
  config: IdTokenConfig,
  payload: Record<string, unknown>,
  now: number,
  options: VerifyIdTokenOptions = {},
): VerifiedIdTokenClaims {
  const skew = config.clockSkewSeconds;
  const { exp, iat, iss, aud, sub, email } = payload;
  // V3
  if (!isInteger(exp) || (!options.ignoreExpiry && !(exp > now - skew))) throw new TokenCheckFailed("exp");
  if (!isInteger(iat) || (!options.ignoreExpiry && !(iat <= now + skew))) throw new TokenCheckFailed("iat");
  // V4: strings only; an array `aud` fails even when it contains the audience.
  if (typeof iss !== "string" || iss !== config.issuerBaseUrl) throw new TokenCheckFailed("iss");
  if (typeof aud !== "string" || aud !== config.defaultAudience) throw new TokenCheckFailed("aud");
  // V5
  if (typeof sub !== "string" || sub === "") throw new TokenCheckFailed("sub");
  if (typeof email !== "string" || email === "") throw new TokenCheckFailed("email");

  const verified: VerifiedIdTokenClaims = {
    iss,
    aud,
    sub,
    email,
    iat,
    exp,
    ver: readVer(payload.ver),
    amr: readAmr(payload.amr),
  };
  for (const name of ["tid", "sid", "role", "jti"] as const) {
    const value = payload[name];
    if (typeof value === "string") verified[name] = value;
  }
  return verified;
}

function readVer(value: unknown): number | null {
  if (value === undefined) return 0;
  return isInteger(value) && value >= 0 ? value : null;
}

function readAmr(value: unknown): readonly string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === "string");
  return [];
}

/** True when the token came from a SAML login (the SAML rules of docs/spec/tokens.md §4.1 V10 and §7 apply). */
export function isSamlIdToken(claims: Pick<VerifiedIdTokenClaims, "amr">): boolean {
  return claims.amr.includes("saml");
}
