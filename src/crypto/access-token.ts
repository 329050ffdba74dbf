/**
 * Access tokens (docs/spec/tokens.md §3, §4.3): signed with the active JWKS key — RS256, ES256 or EdDSA
 * as its type fixes (§1) — and verified by anyone offline and by `/accounts/validate`.
 *
 * Signing sits behind `AccessTokenSigner` so a faster per-runtime signer (e.g. node:crypto with a
 * KeyObject) can replace the default Web Crypto one without touching callers. Verification is
 * steps 1–5 of §4.3 with their reason codes; steps 6–9 (user, version, status, tenant) belong to
 * the service layer.
 */
import { TiktiError } from "../errors.ts";
import {
  ACCESS_TOKEN_ALGS,
  base64UrlEncode,
  type CompactJws,
  decodeJsonObject,
  encodeSigningInput,
  isInteger,
  jwsAlgOfKey,
  jwsSign,
  jwsSignatureValid,
  parseCompactJws,
  TokenCheckFailed,
} from "./jws.ts";
import type { KeyRing } from "./keyring.ts";

/** RFC 8693 §4.1 actor claim: the current actor outermost, earlier actors nested inside. */
export interface ActorClaim {
  sub: string;
  act?: ActorClaim;
}

/** The claims of docs/spec/tokens.md §3 and of the `/oauth/token` tokens of docs/spec/oauth.md §4. */
export interface AccessTokenClaims {
  iss: string;
  aud: string;
  sub: string;
  /** docs/spec/oauth.md §4 tokens only: the OAuth client id of the client that obtained the token. */
  client_id?: string;
  /** Legacy exchange: `{sub: <user localId>}` when `subject` overrode the user; docs/spec/oauth.md §4.2: the chain. */
  act?: ActorClaim;
  /**
   * The subject's stored email; omitted for a workload subject (docs/spec/tokens.md §3) and from
   * client-credentials tokens (no user, docs/spec/oauth.md §4.1).
   */
  email?: string;
  tid: string;
  /** Granted scopes joined by one space, in request order; omitted when empty. */
  scope?: string;
  /** Omitted when empty. */
  eventTypes?: readonly string[];
  /** Absent from client-credentials tokens (no user, docs/spec/oauth.md §4.1). */
  ver?: number;
  iat: number;
  exp: number;
  jti: string;
}

/** `jti` defaults to a fresh UUID v4. */
export type AccessTokenInput = Omit<AccessTokenClaims, "jti"> & { jti?: string };

/** `JWT` for the legacy exchange (docs/spec/tokens.md §3), `at+jwt` (RFC 9068) for `/oauth/token` (docs/spec/oauth.md §4). */
export type AccessTokenType = "JWT" | "at+jwt";

export interface AccessTokenSigner {
  sign(claims: AccessTokenClaims, typ?: AccessTokenType): Promise<string>;
}

export type AccessTokenFailureReason =
  | "malformed"
  | "algorithm"
  | "unknown_kid"
  | "signature"
  | "issuer"
  | "audience"
  | "expired"
  | "not_yet_valid";

export interface AccessTokenCheck {
  /**
   * The request `audience` (a client id). `undefined`: the caller decides about `aud` itself
   * (introspection and revocation accept several audiences, docs/spec/oauth.md §5, §7).
   */
  audience: string | undefined;
  /** `issuerBaseUrl`. */
  issuer: string;
  /** Epoch milliseconds (`Clock.now()`). */
  now: number;
  /** `clockSkewSeconds`. */
  skew: number;
}

/**
 * The signed claim set as the token carries it (returned to `/accounts/validate` callers). Steps
 * 1–5 guarantee the typed members; everything else is as signed and must be read with care.
 */
export type VerifiedAccessTokenClaims = Record<string, unknown> & {
  iss: string;
  aud: string | string[];
  exp: number;
  iat: number;
};

function copyActor(act: ActorClaim): ActorClaim {
  return act.act ? { sub: act.sub, act: copyActor(act.act) } : { sub: act.sub };
}

/**
 * The claims in the order of docs/spec/tokens.md §3, empty optional claims left out: callers pass
 * `scope: ""` or `eventTypes: []` as they are, and this is the one place that omits them.
 */
export function orderAccessTokenClaims(claims: AccessTokenClaims): Record<string, unknown> {
  return {
    iss: claims.iss,
    aud: claims.aud,
    sub: claims.sub,
    ...(claims.client_id !== undefined ? { client_id: claims.client_id } : {}),
    ...(claims.act ? { act: copyActor(claims.act) } : {}),
    ...(claims.email !== undefined ? { email: claims.email } : {}),
    tid: claims.tid,
    ...(claims.scope ? { scope: claims.scope } : {}),
    ...(claims.eventTypes && claims.eventTypes.length > 0 ? { eventTypes: [...claims.eventTypes] } : {}),
    ...(claims.ver !== undefined ? { ver: claims.ver } : {}),
    iat: claims.iat,
    exp: claims.exp,
    jti: claims.jti,
  };
}

/** The default signer: Web Crypto with the key ring's non-extractable signing key and its algorithm. */
export function createWebCryptoAccessTokenSigner(
  keyRing: Pick<KeyRing, "activeKid" | "activeAlg" | "signingKey">,
): AccessTokenSigner {
  const alg = keyRing.activeAlg;
  const headers = {
    JWT: { alg, typ: "JWT", kid: keyRing.activeKid },
    "at+jwt": { alg, typ: "at+jwt", kid: keyRing.activeKid },
  };
  const encoder = new TextEncoder();
  return {
    async sign(claims, typ = "JWT") {
      const signingInput = encodeSigningInput(headers[typ], orderAccessTokenClaims(claims));
      const signature = await jwsSign(alg, keyRing.signingKey, encoder.encode(signingInput));
      return `${signingInput}.${base64UrlEncode(signature)}`;
    },
  };
}

/** Signs with the active key (header `{"alg":<activeAlg>,"typ":"JWT","kid":activeKid}`). */
export function signAccessToken(
  keyRing: Pick<KeyRing, "activeKid" | "activeAlg" | "signingKey">,
  claims: AccessTokenInput,
  signer: AccessTokenSigner = createWebCryptoAccessTokenSigner(keyRing),
): Promise<string> {
  return signer.sign({ ...claims, jti: claims.jti ?? crypto.randomUUID() });
}

/**
 * docs/spec/tokens.md §4.3 steps 1–5. Throws `TiktiError` `INVALID_TOKEN` with `details.reason` (docs/spec/api.md §6.3,
 * §2.11.7) and the `TokenCheckFailed` as `cause`.
 */
export async function verifyAccessTokenCrypto(
  keyRing: Pick<KeyRing, "verificationKeys">,
  token: string,
  check: AccessTokenCheck,
): Promise<VerifiedAccessTokenClaims> {
  try {
    const jws = parseCompactJws(token);
    const payload = jws && decodeJsonObject(jws.payloadSegment);
    if (!jws || !payload) throw new TokenCheckFailed("malformed");
    checkHeader(jws);
    const kid = jws.header.kid;
    const key = typeof kid === "string" ? keyRing.verificationKeys.get(kid) : undefined;
    if (!key) throw new TokenCheckFailed("unknown_kid");
    // Step 1: the header's alg must be the one of the key it names — never a choice of the token.
    if (jws.header.alg !== jwsAlgOfKey(key)) throw new TokenCheckFailed("algorithm");
    if (!(await jwsSignatureValid(key, jws))) throw new TokenCheckFailed("signature");
    return checkClaims(payload, check);
  } catch (e) {
    if (!(e instanceof TokenCheckFailed)) throw e;
    throw new TiktiError("INVALID_TOKEN", { cause: e, details: { reason: e.reason } });
  }
}

/**
 * Steps 1–2 with a key chosen by the caller (no `kid` lookup): exported for the RFC 7515 A.2
 * known-answer test, whose example has no `kid`. Throws `TokenCheckFailed`.
 */
export async function verifyRs256Signature(key: CryptoKey, token: string): Promise<Record<string, unknown>> {
  const jws = parseCompactJws(token);
  const payload = jws && decodeJsonObject(jws.payloadSegment);
  if (!jws || !payload) throw new TokenCheckFailed("malformed");
  checkHeader(jws);
  if (jws.header.alg !== "RS256" || jwsAlgOfKey(key) !== "RS256") throw new TokenCheckFailed("algorithm");
  if (!(await jwsSignatureValid(key, jws))) throw new TokenCheckFailed("signature");
  return payload;
}

/** An alg of no access-token key at all (`none`, `HS256`, …) fails before any key is looked up. */
function checkHeader({ header }: CompactJws): void {
  if (!(ACCESS_TOKEN_ALGS as readonly unknown[]).includes(header.alg))
    throw new TokenCheckFailed("algorithm");
  if ("crit" in header) throw new TokenCheckFailed("malformed");
}

function checkClaims(payload: Record<string, unknown>, check: AccessTokenCheck): VerifiedAccessTokenClaims {
  const now = Math.floor(check.now / 1000);
  const { iss, aud, exp, iat } = payload;
  if (typeof iss !== "string" || iss !== check.issuer) throw new TokenCheckFailed("issuer");
  const audOk =
    typeof aud === "string"
      ? aud === check.audience
      : Array.isArray(aud) && aud.some((a) => typeof a === "string" && a === check.audience);
  if (check.audience !== undefined && !audOk) throw new TokenCheckFailed("audience");
  if (!isInteger(exp) || !(exp > now - check.skew)) throw new TokenCheckFailed("expired");
  if (!isInteger(iat) || !(iat <= now + check.skew)) throw new TokenCheckFailed("not_yet_valid");
  return payload as VerifiedAccessTokenClaims;
}
