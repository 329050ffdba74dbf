/**
 * One-time codes: `oob:{code}` hashes with fields `email`, `reqType`, `expiresAt` (unix seconds)
 * and a TTL (spec/storage.md §2, §4.3; spec/api.md §4.6–§4.9).
 */
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
  issue(input: { email: string; requestType: OobRequestType; code?: string }): Promise<IssuedOobCode>;
  /**
   * ★ `OOB_CONSUME`: exactly one caller gets `OK` with the stored email; a code of another type is
   * left in place (`WRONG_TYPE`); unknown or already used → `NONE`; past `expiresAt` → `EXPIRED`.
   */
  consume(code: string, requestType: OobRequestType): Promise<OobConsumeResult>;
  /**
   * Reads a code without consuming it (resetPassword checks the new password against the code's
   * email before spending the code, api.md §4.8). `null` when absent, incomplete or past
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
}

export function createOobRepo(deps: RepoDeps, options: { ttlSeconds: number }): OobRepo {
  const { kv, clock } = deps;
  const nowSeconds = () => Math.floor(clock.now() / 1000);

  async function issue(input: {
    email: string;
    requestType: OobRequestType;
    code?: string;
  }): Promise<IssuedOobCode> {
    const code = input.code ?? crypto.randomUUID();
    const key = keys.oob(code);
    const expiresAt = nowSeconds() + options.ttlSeconds;
    // One field per HSET. `email` goes last: until it is written, OOB_CONSUME answers EXPIRED
    // (and deletes the partial hash), so a crash part-way leaves nothing that can sign anyone in.
    // A crash before EXPIRE leaves a code that the `expiresAt` check still refuses in time.
    await kv.hset(key, "reqType", input.requestType);
    await kv.hset(key, "expiresAt", String(expiresAt));
    await kv.hset(key, "email", normaliseEmail(input.email));
    await kv.expire(key, options.ttlSeconds);
    return { code, expiresAt };
  }

  async function consume(code: string, requestType: OobRequestType): Promise<OobConsumeResult> {
    if (code === "") return { status: "NONE" };
    return kv.oobConsume(keys.oob(code), requestType, nowSeconds());
  }

  async function peek(code: string): Promise<PeekedOobCode | null> {
    if (code === "") return null;
    const fields = await kv.hgetall(keys.oob(code));
    const email = fields.get("email");
    const requestType = fields.get("reqType");
    const expiresAt = Number(fields.get("expiresAt"));
    if (!email || requestType === undefined || !Number.isFinite(expiresAt)) return null;
    // Same rule as OOB_CONSUME: expired when `expiresAt` < now.
    if (expiresAt < nowSeconds()) return null;
    return { email, requestType, expiresAt };
  }

  return { issue, consume, peek };
}
