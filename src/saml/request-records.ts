/**
 * Outstanding requests `saml:req:{id}` (docs/spec/storage.md §3.2, §4.3; docs/spec/saml.md §5 step 6, §6.3
 * step 1, §9.2 step 6, §9.4 step 2): written with `SET NX EX <requestTTLSeconds>`, consumed exactly
 * once with `CONSUME` (concurrent POSTs: exactly one gets the record).
 */
import { TiktiError } from "../errors.ts";
import { keys } from "../store/keys.ts";
import type { KV } from "../store/kv.ts";
import { MESSAGE_ID_PATTERN } from "./ids.ts";

export interface AuthnRequestRecord {
  kind: "authn";
  id: string;
  tenantId: string;
  /** The value sent to the IdP as `RelayState` (`""` when none). */
  relayState: string;
  /** The safe redirect target after login. */
  returnTo: string;
  acsUrl: string;
  issueInstant: string;
  forceAuthn: boolean;
}

export interface LogoutRequestRecord {
  kind: "logout";
  id: string;
  tenantId: string;
  sid: string;
  nameId: string;
  sessionIndex: string | null;
  returnTo: string;
  issueInstant: string;
}

export type RequestRecord = AuthnRequestRecord | LogoutRequestRecord;

/** ★ `SET saml:req:{id} NX EX ttl`; an id collision is an internal error (docs/spec/storage.md §4.3). */
export async function storeRequest(kv: KV, record: RequestRecord, ttlSeconds: number): Promise<void> {
  const ok = await kv.set(keys.samlRequest(record.id), JSON.stringify(record), {
    nx: true,
    ttlMs: ttlSeconds * 1000,
  });
  if (!ok) throw new TiktiError("INTERNAL", { cause: new Error("saml:req id collision") });
}

/**
 * ★ `CONSUME saml:req:{id}`: the record of `kind`, or `null` when absent, unreadable or of another
 * kind (the record is gone either way). A malformed id is never looked up.
 */
export async function consumeRequest<K extends RequestRecord["kind"]>(
  kv: KV,
  id: string,
  kind: K,
): Promise<Extract<RequestRecord, { kind: K }> | null> {
  if (!MESSAGE_ID_PATTERN.test(id)) return null;
  const raw = await kv.consume(keys.samlRequest(id));
  if (raw === null) return null;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return null;
  }
  if (value === null || typeof value !== "object") return null;
  const r = value as Record<string, unknown>;
  if (r.kind !== kind || r.id !== id || typeof r.tenantId !== "string") return null;
  if (kind === "authn" && (typeof r.relayState !== "string" || typeof r.returnTo !== "string")) return null;
  if (kind === "logout" && (typeof r.sid !== "string" || typeof r.nameId !== "string")) return null;
  return value as Extract<RequestRecord, { kind: K }>;
}
