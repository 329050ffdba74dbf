/**
 * Business rules of the SAML administration API (docs/spec/saml.md §11, §13; docs/spec/api.md §11): IdP records,
 * domain mappings and SP key rotation. No HTTP here: routes parse shapes and call these functions,
 * and a future CLI-facing caller gets the same rules. Every change writes its admin audit record
 * (docs/spec/operations.md §7, outcome success or failure) here for the `AdminCaller`, and IdP record
 * changes count `idp_admin_changes_total{operation,result}`.
 */
import { isGlobalOnlyRoleName, isPathTenantId, isRoleName } from "../domain/grammar.ts";
import { isTiktiError, TiktiError } from "../errors.ts";
import { must } from "../must.ts";
import { isoSeconds } from "../saml/certs.ts";
import { normalizeDomain } from "../saml/discovery.ts";
import {
  type AttributeMap,
  DEFAULT_ATTRIBUTE_MAP,
  encryptionCertsOf,
  expirySources,
  type IdpRecord,
  mergeSigningCerts,
  projectIdpRecord,
} from "../saml/idp-records.ts";
import {
  METADATA_MESSAGES,
  METADATA_URL_MAX_CHARS,
  MetadataError,
  type ParsedIdpMetadata,
} from "../saml/metadata.ts";
import type { Repos } from "../store/repos/index.ts";
import type { AdminAction, AdminCaller, Audit } from "./audit.ts";
import type { SamlContext } from "./saml/context.ts";
import { ingestMetadata, refreshIdp } from "./saml/refresh.ts";
import type { RotationAction, RotationStatus } from "./saml/rotation.ts";

export const IDP_BODY_LIMIT = 1024 * 1024 + 32 * 1024;
export const ATTRIBUTE_NAMES_MAX = 10;
export const ATTRIBUTE_NAME_MAX_CHARS = 512;
export const ROLE_MAP_MAX_ENTRIES = 200;
export const ROLE_MAP_KEY_MAX_CHARS = 256;
export const ROLE_MAP_TARGETS_MAX = 20;
const TENANT_ATTRIBUTE_NAMES = new Set(["tid", "tenant_id", "tenantId"]);

export interface IdpWriteInput {
  metadataUrl?: string | undefined;
  metadataXml?: string | undefined;
  attributeMap?: Record<string, string[]> | undefined;
  roleMap?: Record<string, string[]> | undefined;
  allowUnsolicited?: boolean | undefined;
  forceAuthn?: boolean | undefined;
  requireEncryptedAssertion?: boolean | undefined;
  dropPreviousCertificates?: boolean | undefined;
}

export interface IdpListItem {
  tenantId: string;
  entityId: string;
  metadataUrl: string;
  lastFetched: string;
  lastRefreshError: string;
}

export type Projection = Record<string, unknown>;

function invalidArgument(details: Record<string, string>): TiktiError {
  return new TiktiError("INVALID_ARGUMENT", { details });
}

/** `attributeMap` rules of docs/spec/saml.md §11.2; absent → default map, a missing key → its default list. */
export function checkAttributeMap(input: Record<string, string[]> | undefined): AttributeMap {
  if (input === undefined) {
    return {
      email: [...DEFAULT_ATTRIBUTE_MAP.email],
      name: [...DEFAULT_ATTRIBUTE_MAP.name],
      roles: [...DEFAULT_ATTRIBUTE_MAP.roles],
    };
  }
  const details: Record<string, string> = {};
  for (const key of Object.keys(input)) {
    if (key !== "email" && key !== "name" && key !== "roles")
      details[`attributeMap.${key}`] = "unknown key (allowed: email, name, roles)";
  }
  const out = {} as AttributeMap;
  for (const key of ["email", "name", "roles"] as const) {
    const given = Object.hasOwn(input, key) ? input[key] : undefined;
    const list = given ?? [...DEFAULT_ATTRIBUTE_MAP[key]];
    const unique = [...new Set(list)];
    if (unique.length > ATTRIBUTE_NAMES_MAX)
      details[`attributeMap.${key}`] = `at most ${ATTRIBUTE_NAMES_MAX} names`;
    unique.forEach((name, i) => {
      if (name.length < 1 || name.length > ATTRIBUTE_NAME_MAX_CHARS) {
        details[`attributeMap.${key}.${i}`] = `must be 1-${ATTRIBUTE_NAME_MAX_CHARS} characters`;
      } else if (TENANT_ATTRIBUTE_NAMES.has(name)) {
        details[`attributeMap.${key}.${i}`] = "tenant attributes (tid, tenant_id, tenantId) cannot be mapped";
      }
    });
    out[key] = unique;
  }
  if (out.email.length === 0 && !details["attributeMap.email"])
    details["attributeMap.email"] = "needs at least one attribute name";
  if (Object.keys(details).length > 0) throw invalidArgument(details);
  return out;
}

/** `roleMap` rules of docs/spec/saml.md §11.2 / §8.4. */
export function checkRoleMap(input: Record<string, string[]> | undefined): Record<string, string[]> {
  if (input === undefined) return {};
  const details: Record<string, string> = {};
  const entries = Object.entries(input);
  if (entries.length > ROLE_MAP_MAX_ENTRIES) details.roleMap = `at most ${ROLE_MAP_MAX_ENTRIES} entries`;
  const out: Array<[string, string[]]> = [];
  for (const [key, targets] of entries) {
    const at = `roleMap.${key}`;
    if (key.length < 1 || key.length > ROLE_MAP_KEY_MAX_CHARS) {
      details[at] = `key must be 1-${ROLE_MAP_KEY_MAX_CHARS} characters`;
      continue;
    }
    const unique = [...new Set(targets)];
    if (unique.length < 1 || unique.length > ROLE_MAP_TARGETS_MAX) {
      details[at] = `must list 1-${ROLE_MAP_TARGETS_MAX} role names`;
      continue;
    }
    const bad = unique.find((r) => !isRoleName(r) || isGlobalOnlyRoleName(r));
    if (bad !== undefined) {
      details[at] = isGlobalOnlyRoleName(bad)
        ? `${bad} is a global role and cannot be mapped`
        : "role names must match ^[A-Za-z0-9._:-]{1,128}$";
      continue;
    }
    out.push([key, unique]);
  }
  if (Object.keys(details).length > 0) throw invalidArgument(details);
  return Object.fromEntries(out);
}

export interface SamlAdminService {
  getIdp(tenantId: string): Promise<Projection>;
  /** `mode` `post` creates only (409 IDP_EXISTS); `put` creates or replaces. */
  writeIdp(
    caller: AdminCaller,
    tenantId: string,
    input: IdpWriteInput,
    mode: "post" | "put",
  ): Promise<{ projection: Projection; record: IdpRecord }>;
  deleteIdp(caller: AdminCaller, tenantId: string): Promise<IdpRecord | null>;
  refreshIdp(caller: AdminCaller, tenantId: string): Promise<{ projection: Projection; record: IdpRecord }>;
  listIdps(): Promise<IdpListItem[]>;
  listDomains(tenantId: string): Promise<string[]>;
  putDomain(
    caller: AdminCaller,
    tenantId: string,
    domain: string,
  ): Promise<{ domain: string; tenantId: string }>;
  deleteDomain(caller: AdminCaller, tenantId: string, domain: string): Promise<string>;
  rotationStatus(): Promise<RotationStatus>;
  rotate(caller: AdminCaller, action: string, force: boolean): Promise<RotationStatus>;
}

type IdpOperation = "post" | "put" | "delete" | "refresh";

export function createSamlAdminService(deps: {
  saml: SamlContext;
  repos: Repos;
  audit: Audit;
}): SamlAdminService {
  const { saml, repos, audit } = deps;

  /**
   * Runs an IdP record change, counting it and auditing its success or a refused change. A path
   * tenant that is malformed or unknown is not a change to any IdP record: no failure record.
   */
  async function idpChange<T>(
    caller: AdminCaller,
    tenantId: string,
    operation: IdpOperation,
    action: AdminAction,
    run: () => Promise<{ value: T; targetId: string }>,
  ): Promise<T> {
    try {
      const { value, targetId } = await run();
      saml.metrics.idpAdminChanges.inc({ operation, result: "success" });
      await audit.adminChange(caller, action, { tenantId, targetId });
      return value;
    } catch (e) {
      saml.metrics.idpAdminChanges.inc({ operation, result: "failure" });
      if (isTiktiError(e) && e.status < 500 && e.code !== "INVALID_TENANT" && e.code !== "TENANT_NOT_FOUND") {
        await audit.adminChange(caller, action, { tenantId, outcome: "failure" });
      }
      throw e;
    }
  }

  /** Path tenant: grammar (400 INVALID_TENANT), then existence (404 TENANT_NOT_FOUND). */
  async function requireTenant(tenantId: string): Promise<void> {
    if (!isPathTenantId(tenantId)) throw new TiktiError("INVALID_TENANT");
    if (!(await repos.tenants.get(tenantId))) throw new TiktiError("TENANT_NOT_FOUND");
  }

  async function ingest(
    source: { url: string } | { xml: string },
    tenantId: string,
  ): Promise<ParsedIdpMetadata> {
    try {
      if ("url" in source && source.url.length > METADATA_URL_MAX_CHARS) {
        throw new MetadataError(METADATA_MESSAGES.urlNotAllowed);
      }
      if (
        "xml" in source &&
        new TextEncoder().encode(source.xml).length > saml.config.saml.idp.metadataMaxBytes
      ) {
        throw new MetadataError(METADATA_MESSAGES.tooLarge);
      }
      return await ingestMetadata(saml, source, tenantId);
    } catch (e) {
      if (e instanceof MetadataError) throw e.toTiktiError();
      throw e;
    }
  }

  async function writeIdp(tenantId: string, input: IdpWriteInput, mode: "post" | "put") {
    if (!isPathTenantId(tenantId)) throw new TiktiError("INVALID_TENANT");
    const hasUrl = input.metadataUrl !== undefined;
    const hasXml = input.metadataXml !== undefined;
    if (hasUrl && hasXml) {
      throw new TiktiError("INVALID_REQUEST", {
        details: { metadataUrl: "give exactly one of metadataUrl and metadataXml" },
      });
    }
    const attributeMap = checkAttributeMap(input.attributeMap);
    const roleMap = checkRoleMap(input.roleMap);
    await requireTenant(tenantId);

    const existing = await saml.idps.read(tenantId);
    if (mode === "post" && existing.kind !== "absent") {
      throw new TiktiError("IDP_EXISTS", { message: `IdP already registered for tenant "${tenantId}"` });
    }
    const previous = existing.kind === "ok" ? existing.record : null;
    if (!hasUrl && !hasXml && (mode === "post" || previous === null)) {
      throw new TiktiError("INVALID_REQUEST", {
        details: { metadataUrl: "one of metadataUrl and metadataXml is required when creating" },
      });
    }

    const now = saml.clock.now();
    const stamp = isoSeconds(now);
    const settings = {
      attributeMap,
      roleMap,
      allowUnsolicited: input.allowUnsolicited ?? false,
      forceAuthn: input.forceAuthn ?? false,
      requireEncryptedAssertion: input.requireEncryptedAssertion ?? false,
    };
    let endpoints: Pick<
      IdpRecord,
      | "entityId"
      | "ssoUrl"
      | "sloUrl"
      | "sloBinding"
      | "sloResponseUrl"
      | "signingCerts"
      | "encryptionCerts"
      | "nameIdFormat"
      | "metadataUrl"
      | "metadataSha256"
    >;
    const source: { url: string } | { xml: string } | null =
      input.metadataUrl !== undefined
        ? { url: input.metadataUrl }
        : input.metadataXml !== undefined
          ? { xml: input.metadataXml }
          : null;
    if (source !== null) {
      const meta = await ingest(source, tenantId);
      endpoints = {
        entityId: meta.entityId,
        ssoUrl: meta.ssoUrl,
        sloUrl: meta.sloUrl,
        sloBinding: meta.sloBinding,
        sloResponseUrl: meta.sloResponseUrl,
        signingCerts: mergeSigningCerts(previous?.signingCerts ?? [], meta.signingCerts, {
          now,
          overlapHours: saml.config.saml.idp.certOverlapHours,
          dropPrevious: mode === "post" || input.dropPreviousCertificates === true,
        }),
        encryptionCerts: encryptionCertsOf(meta.encryptionCerts),
        nameIdFormat: meta.nameIdFormat,
        metadataUrl: "url" in source ? source.url : "",
        metadataSha256: meta.metadataSha256,
      };
    } else {
      // PUT on an existing record without metadata: settings only, endpoints and certificates kept.
      const p = must(previous, "the IdP record a PUT without metadata keeps (refused above when absent)");
      endpoints = {
        entityId: p.entityId,
        ssoUrl: p.ssoUrl,
        sloUrl: p.sloUrl,
        sloBinding: p.sloBinding,
        sloResponseUrl: p.sloResponseUrl,
        signingCerts: p.signingCerts,
        encryptionCerts: p.encryptionCerts,
        nameIdFormat: p.nameIdFormat,
        metadataUrl: p.metadataUrl,
        metadataSha256: p.metadataSha256,
      };
    }
    const record: IdpRecord = {
      schemaVersion: 1,
      tenantId,
      ...endpoints,
      ...settings,
      lastFetched: stamp,
      lastRefreshError: "",
      refreshFailures: 0,
      generation: crypto.randomUUID(),
      createdAt: previous?.createdAt || stamp,
      updatedAt: stamp,
    };
    if (mode === "post") await saml.idps.create(record);
    else await saml.idps.replace(record, previous);
    saml.metrics.setIdpCertificates(tenantId, expirySources(record));
    return { projection: projectIdpRecord(record, saml.urls), record };
  }

  return {
    async getIdp(tenantId) {
      await requireTenant(tenantId);
      const record = await saml.idps.get(tenantId);
      return record ? projectIdpRecord(record, saml.urls) : { configured: false };
    },
    writeIdp: (caller, tenantId, input, mode) =>
      idpChange(caller, tenantId, mode, mode === "post" ? "saml.idp.create" : "saml.idp.put", async () => {
        const written = await writeIdp(tenantId, input, mode);
        return { value: written, targetId: written.record.entityId };
      }),
    deleteIdp: (caller, tenantId) =>
      idpChange(caller, tenantId, "delete", "saml.idp.delete", async () => {
        await requireTenant(tenantId);
        const deleted = await saml.idps.delete(tenantId);
        saml.metrics.setIdpCertificates(tenantId, null);
        return { value: deleted, targetId: deleted?.entityId ?? "" };
      }),
    refreshIdp: (caller, tenantId) =>
      idpChange(caller, tenantId, "refresh", "saml.idp.refresh", async () => {
        await requireTenant(tenantId);
        let outcome: Awaited<ReturnType<typeof refreshIdp>>;
        try {
          outcome = await refreshIdp(saml, tenantId, { useLock: false });
        } catch (e) {
          if (e instanceof MetadataError) throw e.toTiktiError();
          throw e;
        }
        if (outcome.kind === "failed") throw outcome.error.toTiktiError();
        if (outcome.kind === "skipped") throw new TiktiError("CONCURRENT_UPDATE");
        const record = outcome.record;
        return {
          value: { projection: projectIdpRecord(record, saml.urls), record },
          targetId: record.entityId,
        };
      }),
    async listIdps() {
      const entries = await saml.idps.list();
      return entries.map(({ tenantId, record }) =>
        record
          ? {
              tenantId,
              entityId: record.entityId,
              metadataUrl: record.metadataUrl,
              lastFetched: record.lastFetched,
              lastRefreshError: record.lastRefreshError,
            }
          : {
              tenantId,
              entityId: "",
              metadataUrl: "",
              lastFetched: "",
              lastRefreshError: "stored record is not readable; register the IdP again",
            },
      );
    },
    async listDomains(tenantId) {
      await requireTenant(tenantId);
      return saml.domains.list(tenantId);
    },
    async putDomain(caller, tenantId, raw) {
      if (!isPathTenantId(tenantId)) throw new TiktiError("INVALID_TENANT");
      const domain = normalizeDomain(raw);
      if (domain === null) throw invalidArgument({ domain: "must be a domain name such as example.com" });
      await requireTenant(tenantId);
      await saml.domains.put(tenantId, domain);
      await audit.adminChange(caller, "saml.domain.put", { tenantId, targetId: domain });
      return { domain, tenantId };
    },
    async deleteDomain(caller, tenantId, raw) {
      if (!isPathTenantId(tenantId)) throw new TiktiError("INVALID_TENANT");
      const domain = normalizeDomain(raw);
      if (domain === null) throw invalidArgument({ domain: "must be a domain name such as example.com" });
      await requireTenant(tenantId);
      await saml.domains.delete(tenantId, domain);
      await audit.adminChange(caller, "saml.domain.delete", { tenantId, targetId: domain });
      return domain;
    },
    async rotationStatus() {
      if (!saml.config.saml.enabled) throw new TiktiError("NOT_FOUND");
      return saml.rotation.status();
    },
    async rotate(caller, action, force) {
      if (!saml.config.saml.enabled) throw new TiktiError("NOT_FOUND");
      if (action !== "prepare" && action !== "commit" && action !== "abort") {
        throw invalidArgument({ action: "must be prepare, commit or abort" });
      }
      let state: RotationStatus;
      try {
        state = await saml.rotation.apply(action as RotationAction, force);
      } catch (e) {
        // A transition the current state forbids is a refused admin change; other failures are not.
        if (isTiktiError(e) && e.code === "ROTATION_STATE_CONFLICT") {
          await audit.adminChange(caller, "saml.sp.rotation", { targetId: action, outcome: "failure" });
        }
        throw e;
      }
      await audit.adminChange(caller, "saml.sp.rotation", { targetId: action });
      return state;
    },
  };
}
