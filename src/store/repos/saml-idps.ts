/**
 * IdP records: `saml:idp:{tid}` (docs/spec/storage.md §3.1, §4.3; docs/spec/saml.md §11, §12.3).
 *
 * One JSON string per tenant, written with `SET NX` (create), `SET` (replace), `DEL` (delete) and
 * `CAS_SET` against the exact value read (background refresh, so a concurrent admin change wins).
 * A value that is not a JSON record — a Go-era msgpack value above all (docs/spec/storage.md §6) — is
 * *corrupt*: login answers `internal_error`, the admin `GET` `500 INTERNAL`, and a `PUT` replaces it.
 *
 * The IdP admin API also keeps an entity-id index (`saml:entity:<sha256 of entityID>`, a set of
 * tenant ids) so that IdP-initiated logout can find the tenants of an `Issuer` with no live session
 * (docs/spec/saml.md §9.3 step 2). Readers re-check every candidate against its record, so a stale index entry
 * (crash between the record write and the index write) is harmless.
 */
import { z } from "zod";
import { sha256Hex } from "../../bytes.ts";
import { TiktiError } from "../../errors.ts";
import { keys } from "../keys.ts";
import type { RepoDeps } from "./deps.ts";

/** The NameID format a record asks for when it names none (docs/spec/saml.md §11). */
export const NAMEID_EMAIL = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";

export interface AttributeMap {
  email: string[];
  name: string[];
  roles: string[];
}

export interface IdpSigningCert {
  /** Base64 DER. */
  der: string;
  sha256: string;
  notAfter: string;
  addedAt: string;
  /** Set on certificates kept only for the overlap window (docs/spec/saml.md §12.3). */
  retireAfter: string | null;
}

export interface IdpEncryptionCert {
  der: string;
  sha256: string;
  notAfter: string;
}

export type SloBinding = "" | "HTTP-Redirect" | "HTTP-POST";

export interface IdpRecord {
  schemaVersion: 1;
  tenantId: string;
  entityId: string;
  ssoUrl: string;
  sloUrl: string;
  sloBinding: SloBinding;
  sloResponseUrl: string;
  signingCerts: IdpSigningCert[];
  encryptionCerts: IdpEncryptionCert[];
  nameIdFormat: string;
  attributeMap: AttributeMap;
  roleMap: Record<string, string[]>;
  allowUnsolicited: boolean;
  forceAuthn: boolean;
  requireEncryptedAssertion: boolean;
  metadataUrl: string;
  metadataSha256: string;
  lastFetched: string;
  lastRefreshError: string;
  refreshFailures: number;
  generation: string;
  createdAt: string;
  updatedAt: string;
}

const strList = z.array(z.string());
const storedSchema = z.looseObject({
  schemaVersion: z.literal(1),
  tenantId: z.string(),
  entityId: z.string().min(1),
  ssoUrl: z.string().min(1),
  sloUrl: z.string().default(""),
  sloBinding: z.enum(["", "HTTP-Redirect", "HTTP-POST"]).default(""),
  sloResponseUrl: z.string().default(""),
  signingCerts: z.array(
    z.looseObject({
      der: z.string(),
      sha256: z.string(),
      notAfter: z.string(),
      addedAt: z.string().default(""),
      retireAfter: z.string().nullable().default(null),
    }),
  ),
  encryptionCerts: z
    .array(z.looseObject({ der: z.string(), sha256: z.string(), notAfter: z.string() }))
    .default([]),
  nameIdFormat: z.string().default(NAMEID_EMAIL),
  attributeMap: z.object({ email: strList, name: strList.default([]), roles: strList.default([]) }),
  roleMap: z.record(z.string(), strList).default({}),
  allowUnsolicited: z.boolean().default(false),
  forceAuthn: z.boolean().default(false),
  requireEncryptedAssertion: z.boolean().default(false),
  metadataUrl: z.string().default(""),
  metadataSha256: z.string().default(""),
  lastFetched: z.string().default(""),
  lastRefreshError: z.string().default(""),
  refreshFailures: z.number().int().min(0).default(0),
  generation: z.string().default(""),
  createdAt: z.string().default(""),
  updatedAt: z.string().default(""),
});

/**
 * Parses a stored value; `null` when it is not a readable record (corrupt or Go-era). Unknown
 * fields are kept on the returned object so that read-modify-write preserves them (docs/spec/storage.md §2.1).
 */
export function decodeIdpRecord(text: string): IdpRecord | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  const parsed = storedSchema.safeParse(value);
  if (!parsed.success) return null;
  return parsed.data as IdpRecord;
}

export function encodeIdpRecord(record: IdpRecord): string {
  return JSON.stringify(record);
}

export type IdpReadResult =
  | { kind: "absent" }
  | { kind: "corrupt"; raw: string }
  | { kind: "ok"; record: IdpRecord; raw: string };

export interface IdpListEntry {
  tenantId: string;
  /** null when the stored value is corrupt. */
  record: IdpRecord | null;
}

export interface IdpRecordRepo {
  /** Absent, corrupt (not JSON / not a record) or the record with the exact raw value (for CAS). */
  read(tenantId: string): Promise<IdpReadResult>;
  /** For admin reads: `null` when absent; a corrupt value → `500 INTERNAL`. */
  get(tenantId: string): Promise<IdpRecord | null>;
  /** ★ `SET NX`; present (even corrupt) → `409 IDP_EXISTS`. */
  create(record: IdpRecord): Promise<void>;
  /** ★ `SET` (replace); `previous` is the record replaced, for the entity-id index. */
  replace(record: IdpRecord, previous: IdpRecord | null): Promise<void>;
  /** ★ `CAS_SET` against `expectedRaw`; false when someone else wrote in between. */
  compareAndReplace(record: IdpRecord, expectedRaw: string): Promise<boolean>;
  /** ★ `DEL`; absent → `404 IDP_NOT_FOUND`. Returns the record deleted (null when it was corrupt). */
  delete(tenantId: string): Promise<IdpRecord | null>;
  /** Every stored record (scan of `saml:idp:*`), sorted by tenant id. */
  list(): Promise<IdpListEntry[]>;
  /** Tenants whose current record has this `entityID` (docs/spec/saml.md §9.3 step 2), sorted. */
  tenantsForEntityId(entityId: string): Promise<string[]>;
}

/** Key of the entity-id index (docs/spec/storage.md §3; docs/spec/saml.md §9.3 asks for the index). */
export async function entityIndexKey(entityId: string): Promise<string> {
  return keys.samlEntity(await sha256Hex(entityId));
}

export function createIdpRecordRepo(deps: Pick<RepoDeps, "kv" | "logger">): IdpRecordRepo {
  const { kv } = deps;
  const logger = deps.logger.child({ component: "saml-idp-records" });

  async function read(tenantId: string): Promise<IdpReadResult> {
    const raw = await kv.get(keys.samlIdp(tenantId));
    if (raw === null) return { kind: "absent" };
    const record = decodeIdpRecord(raw);
    return record ? { kind: "ok", record, raw } : { kind: "corrupt", raw };
  }

  async function get(tenantId: string): Promise<IdpRecord | null> {
    const r = await read(tenantId);
    if (r.kind === "absent") return null;
    if (r.kind === "corrupt") {
      throw new TiktiError("INTERNAL", {
        cause: new Error(
          `saml:idp:${tenantId} is not a readable IdP record (Go-era value?); register the IdP again`,
        ),
      });
    }
    return r.record;
  }

  /** Index writes are best effort after the commit point: readers verify candidates. */
  async function indexAdd(record: IdpRecord): Promise<void> {
    try {
      await kv.sadd(await entityIndexKey(record.entityId), record.tenantId);
    } catch (error) {
      logger.warn("entity-id index update failed", { tenantId: record.tenantId, error });
    }
  }

  async function indexRemove(entityId: string, tenantId: string): Promise<void> {
    try {
      await kv.srem(await entityIndexKey(entityId), tenantId);
    } catch (error) {
      logger.warn("entity-id index update failed", { tenantId, error });
    }
  }

  return {
    read,
    get,
    async create(record) {
      if (!(await kv.set(keys.samlIdp(record.tenantId), encodeIdpRecord(record), { nx: true }))) {
        throw new TiktiError("IDP_EXISTS", {
          message: `IdP already registered for tenant "${record.tenantId}"`,
        });
      }
      await indexAdd(record);
    },
    async replace(record, previous) {
      await kv.set(keys.samlIdp(record.tenantId), encodeIdpRecord(record));
      await indexAdd(record);
      if (previous && previous.entityId !== record.entityId)
        await indexRemove(previous.entityId, record.tenantId);
    },
    async compareAndReplace(record, expectedRaw) {
      return kv.casSet(keys.samlIdp(record.tenantId), expectedRaw, encodeIdpRecord(record));
    },
    async delete(tenantId) {
      const r = await read(tenantId);
      if (r.kind === "absent" || !(await kv.del(keys.samlIdp(tenantId))))
        throw new TiktiError("IDP_NOT_FOUND");
      if (r.kind === "ok") await indexRemove(r.record.entityId, tenantId);
      return r.kind === "ok" ? r.record : null;
    },
    async list() {
      const prefix = keys.samlIdpPrefix();
      const tenantIds: string[] = [];
      for await (const batch of kv.scan(prefix)) {
        for (const key of batch) tenantIds.push(key.slice(prefix.length));
      }
      const unique = [...new Set(tenantIds)].sort();
      const out: IdpListEntry[] = [];
      for (const tenantId of unique) {
        const r = await read(tenantId);
        if (r.kind !== "absent") out.push({ tenantId, record: r.kind === "ok" ? r.record : null });
      }
      return out;
    },
    async tenantsForEntityId(entityId) {
      const candidates = await kv.smembers(await entityIndexKey(entityId));
      const out: string[] = [];
      for (const tid of candidates.sort()) {
        const r = await read(tid);
        if (r.kind === "ok" && r.record.entityId === entityId) out.push(tid);
      }
      return out;
    },
  };
}
