/**
 * Outstanding SAML requests `saml:req:{id}` (docs/spec/storage.md §3.2, §4.3; docs/spec/saml.md §5 step 6,
 * §6.3 step 1, §9.2 step 6, §9.4 step 2): written with `SET NX EX <requestTTLSeconds>`, consumed exactly
 * once with `CONSUME` (concurrent POSTs: exactly one gets the record).
 */
import { TiktiError } from "../../errors.ts";
import { keys } from "../keys.ts";
import type { RepoDeps } from "./deps.ts";

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

/** The grammar of request and message ids Tikti mints: `_` + 40 lowercase hex (docs/spec/saml.md §5 step 4). */
export const MESSAGE_ID_PATTERN = /^_[0-9a-f]{40}$/;

export interface SamlRequestsRepo {
  /** ★ `SET saml:req:{id} NX EX ttl`; an id collision is an internal error (docs/spec/storage.md §4.3). */
  put(record: RequestRecord, ttlSeconds: number): Promise<void>;
  /**
   * ★ `CONSUME saml:req:{id}`: the record of `kind`, or `null` when absent, unreadable or of another
   * kind (the record is gone either way). An id outside `MESSAGE_ID_PATTERN` is never looked up.
   */
  consume<K extends RequestRecord["kind"]>(
    id: string,
    kind: K,
  ): Promise<Extract<RequestRecord, { kind: K }> | null>;
}

/** The stored value as a record of `kind` with this `id`; `null` when it is anything else. */
export function decodeRequestRecord<K extends RequestRecord["kind"]>(
  raw: string,
  id: string,
  kind: K,
): Extract<RequestRecord, { kind: K }> | null {
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

export function createSamlRequestsRepo(deps: Pick<RepoDeps, "kv">): SamlRequestsRepo {
  const { kv } = deps;
  return {
    async put(record, ttlSeconds) {
      const ok = await kv.set(keys.samlRequest(record.id), JSON.stringify(record), {
        nx: true,
        ttlMs: ttlSeconds * 1000,
      });
      if (!ok) throw new TiktiError("INTERNAL", { cause: new Error("saml:req id collision") });
    },
    async consume(id, kind) {
      if (!MESSAGE_ID_PATTERN.test(id)) return null;
      const raw = await kv.consume(keys.samlRequest(id));
      return raw === null ? null : decodeRequestRecord(raw, id, kind);
    },
  };
}
