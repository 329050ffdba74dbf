/**
 * Refresh-token records and families (docs/spec/oauth.md §6; storage: `refresh:{sha256 hex}`,
 * `refreshFamily:{familyId}`).
 *
 * A token is never stored: its record lives under the SHA-256 of the token, so a store dump or a
 * `SCAN` yields no usable refresh token. The record is a JSON string, so rotation is one
 * `CAS_SET` against the exact text read — of N concurrent uses of one live token exactly one
 * compare-and-set wins (the conformance suite proves CAS_SET on every engine).
 */
import { TiktiError } from "../../errors.ts";
import { keys } from "../keys.ts";
import { corrupt } from "./codec.ts";
import type { RepoDeps } from "./deps.ts";

export type RefreshTokenState = "live" | "used";

/** The stored record (field names as in the storage specification). */
export interface RefreshTokenRecord {
  userId: string;
  familyId: string;
  /** The `tid` of the family's first idToken, repeated in every refreshed idToken. */
  tid?: string;
  /** The `amr` of the family's first idToken (`["pwd"]` or `["oob"]`). */
  amr: string[];
  /** The user's `tokenVersion` when this token was issued. */
  ver: number;
  /** RFC 3339 UTC: when this token was issued. */
  createdAt: string;
  /** RFC 3339 UTC: the family's absolute end; no token of the family lives past it. */
  familyExpiresAt: string;
  state: RefreshTokenState;
}

/** A record as read, with what a compare-and-set against it needs. */
export interface StoredRefreshToken {
  record: RefreshTokenRecord;
  /** The exact stored text (the CAS_SET expectation). */
  text: string;
  /** Milliseconds the record still lives (its PTTL); 0 when the store reports no expiry. */
  ttlMs: number;
}

export interface RefreshTokensRepo {
  /** ★ `SET refresh:{sha256(token)} <record> NX PX ttlMs`. */
  create(token: string, record: RefreshTokenRecord, ttlMs: number): Promise<void>;
  /** The record of `token`, or `null` when unknown or expired. */
  get(token: string): Promise<StoredRefreshToken | null>;
  /**
   * ★ `CAS_SET` of the record from `stored.text` to the same record with `state: "used"`, keeping
   * the remaining lifetime: a used token is remembered for as long as it could have been
   * presented, so a late replay is still recognised as reuse. `false` when another caller changed
   * the record first (it lost the race).
   */
  markUsed(token: string, stored: StoredRefreshToken): Promise<boolean>;
  /**
   * `SET refreshFamily:{familyId} revoked PX` until the family's end (no-op when it has ended:
   * every token of the family has expired with it).
   */
  revokeFamily(familyId: string, familyExpiresAtMs: number): Promise<void>;
  isFamilyRevoked(familyId: string): Promise<boolean>;
}

const FAMILY_REVOKED = "revoked";

/** Lowercase hex SHA-256 of the token's UTF-8 bytes: the key of its record. */
export async function refreshTokenDigest(token: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token)));
  let hex = "";
  for (const b of digest) hex += b.toString(16).padStart(2, "0");
  return hex;
}

export function encodeRefreshRecord(r: RefreshTokenRecord): string {
  return JSON.stringify({
    userId: r.userId,
    familyId: r.familyId,
    ...(r.tid !== undefined ? { tid: r.tid } : {}),
    amr: r.amr,
    ver: r.ver,
    createdAt: r.createdAt,
    familyExpiresAt: r.familyExpiresAt,
    state: r.state,
  });
}

/** Strict: a record this release cannot fully read is corrupt (`500`), never half-trusted. */
export function decodeRefreshRecord(key: string, text: string): RefreshTokenRecord {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw corrupt(key, "(value)", "not JSON");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw corrupt(key, "(value)", "not a JSON object");
  }
  const o = parsed as Record<string, unknown>;
  const str = (name: string): string => {
    const v = Object.hasOwn(o, name) ? o[name] : undefined;
    if (typeof v !== "string" || v === "") throw corrupt(key, name, "not a non-empty string");
    return v;
  };
  const amr = o.amr;
  if (!Array.isArray(amr) || amr.length === 0 || !amr.every((m) => typeof m === "string")) {
    throw corrupt(key, "amr", "not a list of strings");
  }
  const ver = o.ver;
  if (typeof ver !== "number" || !Number.isSafeInteger(ver) || ver < 0) {
    throw corrupt(key, "ver", "not a non-negative integer");
  }
  const state = o.state;
  if (state !== "live" && state !== "used") throw corrupt(key, "state", "not live or used");
  const familyExpiresAt = str("familyExpiresAt");
  if (Number.isNaN(Date.parse(familyExpiresAt))) throw corrupt(key, "familyExpiresAt", "not a time");
  const tid = Object.hasOwn(o, "tid") ? o.tid : undefined;
  if (tid !== undefined && typeof tid !== "string") throw corrupt(key, "tid", "not a string");
  return {
    userId: str("userId"),
    familyId: str("familyId"),
    ...(tid !== undefined && tid !== "" ? { tid } : {}),
    amr: amr as string[],
    ver,
    createdAt: str("createdAt"),
    familyExpiresAt,
    state,
  };
}

export function createRefreshTokensRepo(deps: RepoDeps): RefreshTokensRepo {
  const { kv, clock } = deps;
  const keyOf = async (token: string) => keys.refreshToken(await refreshTokenDigest(token));

  async function create(token: string, record: RefreshTokenRecord, ttlMs: number): Promise<void> {
    if (!(ttlMs > 0))
      throw new TiktiError("INTERNAL", { cause: new Error("refresh token without lifetime") });
    const written = await kv.set(await keyOf(token), encodeRefreshRecord(record), {
      nx: true,
      ttlMs: Math.ceil(ttlMs),
    });
    // 256 random bits cannot collide; an existing key means something is badly wrong.
    if (!written) throw new TiktiError("INTERNAL", { cause: new Error("refresh token key already taken") });
  }

  async function get(token: string): Promise<StoredRefreshToken | null> {
    const key = await keyOf(token);
    const text = await kv.get(key);
    if (text === null) return null;
    const pttl = await kv.pttl(key);
    if (pttl === -2) return null; // expired between the two reads
    return { record: decodeRefreshRecord(key, text), text, ttlMs: Math.max(pttl, 0) };
  }

  async function markUsed(token: string, stored: StoredRefreshToken): Promise<boolean> {
    const familyLeft = Date.parse(stored.record.familyExpiresAt) - clock.now();
    // Records are always written with a TTL; should one lack it, the family's end bounds it.
    const ttlMs = stored.ttlMs > 0 ? stored.ttlMs : familyLeft;
    if (!(ttlMs > 0)) return false;
    const used = encodeRefreshRecord({ ...stored.record, state: "used" });
    return kv.casSet(await keyOf(token), stored.text, used, Math.ceil(ttlMs));
  }

  async function revokeFamily(familyId: string, familyExpiresAtMs: number): Promise<void> {
    const left = familyExpiresAtMs - clock.now();
    if (!(left > 0)) return;
    await kv.set(keys.refreshFamily(familyId), FAMILY_REVOKED, { ttlMs: Math.ceil(left) });
  }

  async function isFamilyRevoked(familyId: string): Promise<boolean> {
    // Any value counts: the only value ever written is `revoked`, and failing closed is the rule.
    return (await kv.get(keys.refreshFamily(familyId))) !== null;
  }

  return { create, get, markUsed, revokeFamily, isFamilyRevoked };
}
