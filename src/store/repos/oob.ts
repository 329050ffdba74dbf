/**
 * One-time codes: `oob:{sha256 hex of the code}` hashes with fields `email`, `reqType`,
 * `expiresAt` (unix seconds), `ver` (the user's `tokenVersion` at issue) and a TTL (docs/spec/storage.md
 * §2, §4.3; docs/spec/api.md §4.6–§4.9). The code itself is never stored: a store dump or a `SCAN`
 * yields no usable code.
 */
import { sha256Hex } from "../../crypto/compare.ts";
import { normaliseEmail } from "../../domain/email.ts";
import type { OobRequestType } from "../../domain/types.ts";
import { keys } from "../keys.ts";
import type { RepoDeps } from "./deps.ts";

export type OobConsumeResult =
  | { status: "NONE" }
  | { status: "WRONG_TYPE" }
  | { status: "EXPIRED" }
  /** `ver`: the stored `ver` field (the user's `tokenVersion` at issue), `""` when absent. */
  | { status: "OK"; email: string; ver: string };

export interface IssuedOobCode {
  code: string;
  /** Unix seconds. */
  expiresAt: number;
}

export interface OobRepo {
  /**
   * Stores a code for the (normalised) email; `code` defaults to a new UUID v4. ★ `HSET` of the
   * fields, then `EXPIRE` (`accounts.oobCodeTtlSeconds`).
   */
  issue(input: {
    email: string;
    requestType: OobRequestType;
    /** The user's `tokenVersion` now: any later bump voids the code (docs/spec/storage.md §2). */
    tokenVersion: number;
    code?: string;
  }): Promise<IssuedOobCode>;
  /**
   * ★ `HCONSUME_IF reqType`: exactly one caller gets `OK` with the stored email; a code of another
   * type is left in place (`WRONG_TYPE`); unknown or already used → `NONE`; spent but past
   * `expiresAt`, or without a usable `email`/`expiresAt` → `EXPIRED` (fail closed).
   * The caller compares the returned `ver` with the user's current `tokenVersion` (`codeIsCurrent`).
   */
  consume(code: string, requestType: OobRequestType): Promise<OobConsumeResult>;
  /**
   * Reads a code without consuming it (resetPassword checks the new password against the code's
   * email before spending the code, docs/spec/api.md §4.8). `null` when absent, incomplete or past
   * `expiresAt`. Only `consume` decides whether a code is used.
   */
  peek(code: string): Promise<PeekedOobCode | null>;
}

export interface PeekedOobCode {
  email: string;
  /** As stored; not necessarily one of the known types. */
  requestType: string;
  /** Unix seconds. */
  expiresAt: number;
  /** As stored (`""` when absent); see `codeIsCurrent`. */
  ver: string;
}

/**
 * Whether a consumed code still belongs to the user's current token version: a revocation, a
 * password change or a status change since the code was issued voids it (docs/spec/storage.md §2). An absent
 * `ver` reads as 0, like an idToken's; anything but a decimal integer never matches.
 */
export function codeIsCurrent(ver: string, tokenVersion: number): boolean {
  const issuedAt = ver === "" ? 0 : /^(0|[1-9][0-9]{0,15})$/.test(ver) ? Number(ver) : Number.NaN;
  return issuedAt === tokenVersion;
}

/**
 * A consumed code's fields: `OK` with the email unless `expiresAt` is missing, unreadable or before
 * `now` (unix seconds), or the email is missing or empty (docs/spec/storage.md §2: the read-time check).
 */
export function judgeConsumed(fields: ReadonlyMap<string, string>, now: number): OobConsumeResult {
  const email = fields.get("email");
  const expiresAtText = fields.get("expiresAt");
  const expiresAt =
    expiresAtText === undefined || expiresAtText.trim() === "" ? Number.NaN : Number(expiresAtText);
  if (!Number.isFinite(expiresAt) || expiresAt < now || email === undefined || email === "")
    return { status: "EXPIRED" };
  return { status: "OK", email, ver: fields.get("ver") ?? "" };
}

export function createOobRepo(deps: RepoDeps, options: { ttlSeconds: number }): OobRepo {
  const { kv, clock } = deps;
  const nowSeconds = () => Math.floor(clock.now() / 1000);

  async function issue(input: {
    email: string;
    requestType: OobRequestType;
    tokenVersion: number;
    code?: string;
  }): Promise<IssuedOobCode> {
    const code = input.code ?? crypto.randomUUID();
    const key = keys.oob(await sha256Hex(code));
    const expiresAt = nowSeconds() + options.ttlSeconds;
    // One field per HSET. `email` goes last: until it is written, `consume` answers EXPIRED
    // (and deletes the partial hash), so a crash part-way leaves nothing that can sign anyone in.
    // A crash before EXPIRE leaves a code that the `expiresAt` check still refuses in time.
    await kv.hset(key, "reqType", input.requestType);
    await kv.hset(key, "expiresAt", String(expiresAt));
    await kv.hset(key, "ver", String(input.tokenVersion));
    await kv.hset(key, "email", normaliseEmail(input.email));
    await kv.expire(key, options.ttlSeconds);
    return { code, expiresAt };
  }

  async function consume(code: string, requestType: OobRequestType): Promise<OobConsumeResult> {
    if (code === "") return { status: "NONE" };
    // The type check and the delete are one atomic step in the engine; what the deleted fields say
    // is judged here, after the code is already spent (so an expired code is gone too).
    const taken = await kv.hconsumeIf(keys.oob(await sha256Hex(code)), "reqType", requestType);
    if (taken.status === "ABSENT") return { status: "NONE" };
    if (taken.status === "MISMATCH") return { status: "WRONG_TYPE" };
    return judgeConsumed(taken.fields, nowSeconds());
  }

  async function peek(code: string): Promise<PeekedOobCode | null> {
    if (code === "") return null;
    const fields = await kv.hgetall(keys.oob(await sha256Hex(code)));
    const email = fields.get("email");
    const requestType = fields.get("reqType");
    const expiresAt = Number(fields.get("expiresAt"));
    if (!email || requestType === undefined || !Number.isFinite(expiresAt)) return null;
    // Same rule as `consume`: expired when `expiresAt` < now.
    if (expiresAt < nowSeconds()) return null;
    return { email, requestType, expiresAt, ver: fields.get("ver") ?? "" };
  }

  return { issue, consume, peek };
}
