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
import type { OobConsumeResult } from "../kv.ts";
import type { RepoDeps } from "./deps.ts";

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
   * ★ `OOB_CONSUME`: exactly one caller gets `OK` with the stored email; a code of another type is
   * left in place (`WRONG_TYPE`); unknown or already used → `NONE`; past `expiresAt` → `EXPIRED`.
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
    // One field per HSET. `email` goes last: until it is written, OOB_CONSUME answers EXPIRED
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
    return kv.oobConsume(keys.oob(await sha256Hex(code)), requestType, nowSeconds());
  }

  async function peek(code: string): Promise<PeekedOobCode | null> {
    if (code === "") return null;
    const fields = await kv.hgetall(keys.oob(await sha256Hex(code)));
    const email = fields.get("email");
    const requestType = fields.get("reqType");
    const expiresAt = Number(fields.get("expiresAt"));
    if (!email || requestType === undefined || !Number.isFinite(expiresAt)) return null;
    // Same rule as OOB_CONSUME: expired when `expiresAt` < now.
    if (expiresAt < nowSeconds()) return null;
    return { email, requestType, expiresAt, ver: fields.get("ver") ?? "" };
  }

  return { issue, consume, peek };
}
