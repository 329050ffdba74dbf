/**
 * Outstanding requests `saml:req:{id}`: the flows' entry to the repository
 * (src/store/repos/saml-requests.ts), which owns the record, its key and its atomic writes.
 */
import type { KV } from "../store/kv.ts";
import {
  type AuthnRequestRecord,
  createSamlRequestsRepo,
  type LogoutRequestRecord,
  type RequestRecord,
} from "../store/repos/saml-requests.ts";

export type { AuthnRequestRecord, LogoutRequestRecord, RequestRecord };

/** ★ `SET saml:req:{id} NX EX ttl`; an id collision is an internal error (docs/spec/storage.md §4.3). */
export function storeRequest(kv: KV, record: RequestRecord, ttlSeconds: number): Promise<void> {
  return createSamlRequestsRepo({ kv }).put(record, ttlSeconds);
}

/** ★ `CONSUME saml:req:{id}`: the record of `kind`, or `null` (absent, unreadable, another kind, malformed id). */
export function consumeRequest<K extends RequestRecord["kind"]>(
  kv: KV,
  id: string,
  kind: K,
): Promise<Extract<RequestRecord, { kind: K }> | null> {
  return createSamlRequestsRepo({ kv }).consume(id, kind);
}
